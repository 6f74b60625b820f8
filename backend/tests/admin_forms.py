"""Admin pages in tests: their URLs, and posting their forms as a browser would."""

from django.forms import MultiWidget
from django.urls import reverse


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def changeform_data(response) -> dict:
    """The POST data that saves the admin add or change page of ``response`` as it stands, inlines included."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
        forms.extend(inline.formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None:
                continue
            data.update(_field_data(form.add_prefix(name), field, value))
            if field.show_hidden_initial:  # fields with a callable default tell the form what they started as
                data.update(_field_data(form.add_initial_prefix(name), field, value))
    return data


def _field_data(key: str, field, value) -> dict:
    if isinstance(field.widget, MultiWidget):  # the admin splits datetimes into a date and a time
        return {f"{key}_{i}": part for i, part in enumerate(field.widget.decompress(value))}
    return {key: value}


def post_changeform(client, url: str, values: dict):
    """Posts the add or change page at ``url`` with ``values`` changed (keys as the form names them)."""
    return client.post(url, {**changeform_data(client.get(url)), **values})
