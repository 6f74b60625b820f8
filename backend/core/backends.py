"""Session sign-in: Django's model backend, whose user is read with their profiles."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connections

from core.prepared import prepared


class ProfilesModelBackend(ModelBackend):
    """``ModelBackend`` (the same passwords, permissions and ``is_active`` rule); the user a signed-in request
    carries is read with their profiles (``schools.selectors.USER_PROFILES``) in one query, so the role look-up
    every page makes (``user_role``) reads nothing more: the pages' counterpart of the API's token read
    (``core.authentication``)."""

    def get_user(self, user_id):
        from schools.selectors import USER_PROFILES  # core is below schools: read when a request comes

        users = get_user_model()._default_manager.select_related(*USER_PROFILES)
        try:
            with prepared(connections[users.db]):
                user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
