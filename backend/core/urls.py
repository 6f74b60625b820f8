"""Page sign-in and sign-out of the browsable API, with the sign-in limits (in place of ``rest_framework.urls``)."""

from django.contrib.auth import views
from django.urls import path

from core.forms import SignInForm

app_name = "rest_framework"  # the browsable API links to rest_framework:login and :logout
urlpatterns = [
    path(
        "login/",
        views.LoginView.as_view(template_name="rest_framework/login.html", authentication_form=SignInForm),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
