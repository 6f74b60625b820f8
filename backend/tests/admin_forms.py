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


def post_form(client, url: str, values: dict):
    """Like ``post_changeform``; a value of None leaves the field out (an unticked checkbox, an emptied list)."""
    data = {**changeform_data(client.get(url)), **values}
    return client.post(url, {key: value for key, value in data.items() if value is not None})


def inline_row(response, model, index: int | None, values: dict) -> dict:
    """Form data of an inline row of ``model`` on the change page ``response``: row ``index``, or the first
    empty extra row when ``index`` is None."""
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.model is model:
            form = formset.forms[formset.initial_form_count() if index is None else index]
            return {form.add_prefix(name): value for name, value in values.items()}
    raise LookupError(f"no inline of {model._meta.label} on the page")


def admin_operations(request) -> set[tuple[str, str]]:
    """(model label, operation) of everything the registered admins let the request's user write: add,
    change, delete, each action, and add / change / delete of rows through each inline."""
    from django.contrib import admin

    operations = set()
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        permitted = {
            "add": model_admin.has_add_permission(request),
            "change": model_admin.has_change_permission(request),
            "delete": model_admin.has_delete_permission(request),
        }
        operations.update((label, operation) for operation, allowed in permitted.items() if allowed)
        operations.update((label, f"action {name}") for name in model_admin.get_actions(request))
        for inline_class in model_admin.inlines:
            inline = inline_class(model, admin.site)
            inline_permitted = {
                "add": inline.has_add_permission(request, None),
                "change": inline.has_change_permission(request),
                "delete": inline.has_delete_permission(request),
            }
            operations.update(
                (label, f"inline {inline.model._meta.label} {operation}")
                for operation, allowed in inline_permitted.items()
                if allowed
            )
    return operations
