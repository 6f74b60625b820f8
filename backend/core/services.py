"""Writes of the core app (users) and of the database as a whole."""

from django.db import connection

from core.models import User


def superuser_ensure(*, username: str, password: str) -> bool:
    """Create a superuser with that username and password unless the username is taken; True if created."""
    if User.objects.filter(username=username).exists():
        return False
    User.objects.create_superuser(username=username, password=password)
    return True


def database_statistics_refresh() -> None:
    """Refresh the query planner's statistics (ANALYZE), as a bulk load should end.

    PostgreSQL's autovacuum does it in time, but a read right after loading millions of rows would be
    planned on empty-table estimates. SQLite keeps no statistics until asked; its analysis is bounded.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")
