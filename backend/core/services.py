"""Writes of the core app (users)."""

from core.models import User


def superuser_ensure(*, username: str, password: str) -> bool:
    """Create a superuser with that username and password unless the username is taken; True if created."""
    if User.objects.filter(username=username).exists():
        return False
    User.objects.create_superuser(username=username, password=password)
    return True
