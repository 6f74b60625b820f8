import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The default hasher takes most of a second per user on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def clear_cache(request, settings):
    """Throttle histories and sign-in failures (anything cached) must not leak from one test into the next.

    The database cache is a table of the test database: only a test that uses the database can reach it
    (and, a transactional one aside, its rows are rolled back with the test anyway).
    """
    if settings.CACHES["default"]["BACKEND"].endswith(".DatabaseCache"):
        uses_database = request.node.get_closest_marker("django_db") is not None or {
            "db",
            "transactional_db",
        } & set(request.fixturenames)
        if not uses_database:
            return
        request.getfixturevalue("_django_db_helper")
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def school():
    """A school with one term (factories.TERM_START to TERM_END)."""
    school = factories.SchoolFactory()
    factories.TermFactory(school=school)
    return school


@pytest.fixture
def class_group(school):
    return factories.ClassGroupFactory(school=school)


@pytest.fixture
def teacher(class_group):
    """A teacher with a teaching assignment for ``class_group``."""
    return factories.TeachingAssignmentFactory(teacher__school=class_group.school, class_group=class_group).teacher


@pytest.fixture
def school_admin(school):
    return factories.SchoolAdminFactory(school=school)
