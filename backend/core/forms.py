"""Sign-in forms: Django's, with the password checked by ``signin_authenticate`` (the sign-in limits)."""

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import ngettext

from core.services import SignInLocked, signin_authenticate


class SignInLimitsMixin:
    """Authentication forms checking the password within the limits; a lock is a form error naming the wait."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = signin_authenticate(request=self.request, username=username, password=password)
            except SignInLocked as locked:
                minutes = math.ceil(locked.retry_after / 60)
                message = ngettext(
                    "Too many failed sign-ins. Try again in %(minutes)s minute.",
                    "Too many failed sign-ins. Try again in %(minutes)s minutes.",
                    minutes,
                )
                raise forms.ValidationError(message, code="locked", params={"minutes": minutes}) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class SignInForm(SignInLimitsMixin, AuthenticationForm):
    """The sign-in form of every page login (the browsable API's; a LoginView's ``authentication_form``)."""


class AdminSignInForm(SignInLimitsMixin, AdminAuthenticationForm):
    """The admin site's sign-in form (staff only, as Django's)."""
