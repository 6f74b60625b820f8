"""The token's and the session user's reads are prepared statements on PostgreSQL; nothing else is."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from core.prepared import prepared
from tests import factories

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE from_sql = false")
        return [row[0] for row in cursor.fetchall()]


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@postgresql_only
def test_the_token_read_is_prepared_after_its_threshold_and_nothing_else_is(client):
    admin = factories.SchoolAdminFactory()
    token = Token.objects.create(user=admin.user)
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    assert threshold

    def ask() -> None:
        response = client.get(
            f"/api/analytics/admin/school-health/?school={admin.school_id}", HTTP_AUTHORIZATION=f"Token {token.key}"
        )
        assert response.status_code == 200

    for _ in range(threshold - 1):
        ask()
    assert prepared_statements() == []
    for _ in range(3):
        ask()

    statements = prepared_statements()
    assert len(statements) == 1, statements
    assert statements[0].startswith(f"SELECT {table(Token)}.")
    assert "$1" in statements[0]  # the key, bound on the server

    # Run as a prepared statement, the read still names its SQL in Django's query log (the tools that count or
    # profile queries read it there).
    with CaptureQueriesContext(connection) as queries:
        ask()
    assert queries[0]["sql"].startswith(f"SELECT {table(Token)}."), queries[0]["sql"]


@postgresql_only
def test_the_session_user_read_is_prepared(client):
    teacher = factories.TeacherFactory()
    client.force_login(teacher.user)
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    for _ in range(threshold + 1):
        assert client.get("/teacher/").status_code == 200

    statements = prepared_statements()
    assert len(statements) == 1, statements
    assert statements[0].startswith(f"SELECT {table(teacher.user)}.")


@postgresql_only
def test_only_the_block_binds_on_the_server(monkeypatch):
    connection.ensure_connection()
    client_cursor = connection.connection.cursor_factory
    with prepared(connection):
        assert connection.connection.cursor_factory is not client_cursor
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::integer + 1", [41])
            assert cursor.fetchone() == (42,)
    assert connection.connection.cursor_factory is client_cursor

    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)  # turned off
    with prepared(connection):
        assert connection.connection.cursor_factory is client_cursor


def test_elsewhere_the_block_changes_nothing():
    user = factories.UserFactory()
    with prepared(connection):
        assert type(user).objects.get(pk=user.pk) == user
