"""The User admin, and the building blocks the apps' admins share."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from core.forms import AdminSignInForm
from core.models import User

admin.site.register(User, UserAdmin)
admin.site.login_form = AdminSignInForm  # the sign-in limits apply to the admin site too


def superusers_only(request) -> bool:
    """The admin site is the district operator's: its lists, forms and autocomplete are not scoped to a school, so
    a staff user who is not a superuser (a school's staff, even with model permissions) is sent to the login page.
    School staff work through the API (docs/security.md, "Scope")."""
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = superusers_only

AUDIT_FIELDS = ("created_at", "updated_at")


def related_search(path: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    """Search fields of a related model, reached through ``path``."""
    return tuple(f"{path}__{name}" for name in fields)


class BoundedDateHierarchyChangeList(ChangeList):
    """Django's date hierarchy computes the end of the year, month or day asked for (``?paid_at__year=9999``)
    without stopping at the calendar's end: such a request is bad lookup parameters (the list again, with
    "?e=1"), not a server error."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class BoundedDateHierarchyMixin:
    """For every admin with a ``date_hierarchy``."""

    def get_changelist(self, request, **kwargs):
        return BoundedDateHierarchyChangeList


class InlinesOnceSavedMixin:
    """Shows the inlines on the change page only.

    Inline rows are validated by their model's ``clean()``, which looks the parent up by its id: rows
    entered together with a new parent would skip those checks (a mark for a student of another class,
    a score above the maximum), so they are entered once the parent is saved.
    """

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()


def author_stamp(obj, user: User, author_fields: tuple[str, str]) -> None:
    """Sets who entered the row (first field) and when (second field)."""
    by_field, at_field = author_fields
    setattr(obj, by_field, user)
    setattr(obj, at_field, timezone.now())


class AuthorFieldsMixin:
    """The author fields (who, when) are filled in by the admin, not typed in."""

    author_fields: tuple[str, str]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *self.author_fields)


class AuthorStampedAdmin(AuthorFieldsMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    """Rows added or changed here are stamped with the admin user and the time."""

    def save_model(self, request, obj, form, change):
        if form.has_changed():
            author_stamp(obj, request.user, self.author_fields)
        super().save_model(request, obj, form, change)


class AuthorStampedFormSet(BaseInlineFormSet):
    author: User
    author_fields: tuple[str, str]

    def save_new(self, form, commit=True):
        author_stamp(form.instance, self.author, self.author_fields)
        return super().save_new(form, commit)

    def save_existing(self, form, obj, commit=True):
        author_stamp(obj, self.author, self.author_fields)
        return super().save_existing(form, obj, commit)


class AuthorStampedInlineMixin(AuthorFieldsMixin):
    """Inline rows added or changed are stamped with the admin user and the time."""

    formset = AuthorStampedFormSet

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.author = request.user
        formset.author_fields = self.author_fields
        return formset
