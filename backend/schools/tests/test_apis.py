import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_me_tells_the_role(api_client, teacher):
    api_client.force_authenticate(teacher.user)

    response = api_client.get("/api/me/")

    assert response.status_code == 200
    assert response.data == {
        "id": teacher.user.pk,
        "username": teacher.user.username,
        "role": "teacher",
        "school_id": teacher.school_id,
        "profile_id": teacher.pk,
    }


def test_a_token_is_obtained_with_the_password_and_authenticates(api_client, school):
    admin = factories.SchoolAdminFactory(school=school, user__username="office")

    wrong = api_client.post("/api/auth/token/", {"username": "office", "password": "wrong"}, format="json")
    right = api_client.post("/api/auth/token/", {"username": "office", "password": "pass-1234"}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {right.data['token']}")
    me = api_client.get("/api/me/")

    assert wrong.status_code == 400
    assert right.status_code == 200
    assert (me.status_code, me.data["role"], me.data["school_id"]) == (200, "school_admin", admin.school_id)


def test_anonymous_requests_are_told_to_authenticate(api_client):
    response = api_client.get("/api/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
