"""API tokens: revoked by a password change or a deactivation; refused after API_TOKEN_LIFETIME_HOURS when set."""

import datetime

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from rest_framework.authtoken.models import Token

from core.models import User
from tests import factories

pytestmark = pytest.mark.django_db

ME = "/api/me/"


class FewIterationsPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """The default algorithm at test speed, to see the rehash of an older hash on sign-in."""

    iterations = 1000


@pytest.fixture
def user():
    return factories.UserFactory(username="office")


@pytest.fixture
def token(user):
    return Token.objects.create(user=user)


def authorised(api_client, key: str) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get(ME).status_code


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_set_password_and_save_revokes_the_tokens(api_client, user, token):
    assert authorised(api_client, token.key) == 200
    user = fresh(user)

    user.set_password("a-new-password-9")
    user.save()

    assert not Token.objects.filter(user=user).exists()
    assert authorised(api_client, token.key) == 401


def test_set_unusable_password_revokes_the_tokens(user, token):
    user = fresh(user)
    user.set_unusable_password()
    user.save()

    assert not Token.objects.exists()


def test_deactivation_revokes_the_tokens_and_reactivation_does_not_bring_them_back(api_client, user, token):
    user = fresh(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    user.is_active = True
    user.save()

    assert not Token.objects.exists()
    assert authorised(api_client, token.key) == 401


def test_the_admin_password_change_revokes_the_tokens(admin_client, user, token):
    response = admin_client.post(
        f"/admin/core/user/{user.pk}/password/",
        {"password1": "a-new-password-9", "password2": "a-new-password-9", "usable_password": "true"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert fresh(user).check_password("a-new-password-9")
    assert not Token.objects.filter(user=user).exists()


def test_deactivating_in_the_admin_revokes_the_tokens(admin_client, user, token):
    page = admin_client.get(f"/admin/core/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        {
            "is_active": "",
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
        }
    )
    data = {name: value for name, value in data.items() if name not in {"last_login", "date_joined"}}

    response = admin_client.post(f"/admin/core/user/{user.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert not fresh(user).is_active
    assert not Token.objects.filter(user=user).exists()


def test_other_saves_keep_the_tokens(api_client, user, token):
    user = fresh(user)
    user.first_name = "Wanjiru"
    user.save()
    user.save(update_fields=["last_login"])
    factories.UserFactory(username="another")  # a new user's first password revokes nothing of anyone's

    assert Token.objects.filter(pk=token.pk).exists()
    assert authorised(api_client, token.key) == 200


def test_signing_in_keeps_the_token_also_when_the_hash_is_upgraded(api_client, settings, user, token):
    """The rehash of an older password hash on sign-in is not a new password."""
    settings.PASSWORD_HASHERS = [
        "core.tests.test_tokens.FewIterationsPBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert fresh(user).password.startswith("md5$")

    response = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"})

    assert response.status_code == 200
    assert fresh(user).password.startswith("pbkdf2_sha256$1000$")
    assert response.data["token"] == token.key


def test_a_token_obtained_again_is_the_same_token_while_it_lasts(api_client, user):
    first = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}).data["token"]
    again = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}).data["token"]

    assert first == again


def test_without_a_lifetime_a_token_lasts(api_client, user, token, settings, time_machine):
    settings.API_TOKEN_LIFETIME_HOURS = 0
    time_machine.move_to(token.created + datetime.timedelta(days=400), tick=False)

    assert authorised(api_client, token.key) == 200


def test_a_token_is_refused_once_its_lifetime_is_over_and_a_new_one_is_issued(api_client, user, settings, time_machine):
    settings.API_TOKEN_LIFETIME_HOURS = 24
    issued = datetime.datetime(2026, 10, 14, 8, 0, tzinfo=datetime.UTC)
    time_machine.move_to(issued, tick=False)
    key = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}).data["token"]

    time_machine.move_to(issued + datetime.timedelta(hours=24) - datetime.timedelta(seconds=1), tick=False)
    before = authorised(api_client, key)
    same = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}).data["token"]
    time_machine.move_to(issued + datetime.timedelta(hours=24), tick=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    expired = api_client.get(ME)
    # Signing in is not stopped by the expired token still being sent.
    new = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"})

    assert before == 200
    assert same == key
    assert expired.status_code == 401
    assert "expired" in str(expired.data["detail"])
    assert new.status_code == 200
    assert new.data["token"] != key
    assert authorised(api_client, new.data["token"]) == 200
    assert list(Token.objects.values_list("key", flat=True)) == [new.data["token"]]


def test_an_expired_token_is_replaced_when_one_is_asked_for(api_client, user, settings, time_machine):
    settings.API_TOKEN_LIFETIME_HOURS = 1
    time_machine.move_to("2026-10-14 08:00:00+00:00", tick=False)
    old = Token.objects.create(user=user).key
    time_machine.move_to("2026-10-14 09:00:00+00:00", tick=False)

    new = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}).data["token"]

    assert new != old
    assert authorised(api_client, new) == 200
