"""API authentication: DRF's token, refused once older than API_TOKEN_LIFETIME_HOURS (when that is set)."""

from django.db import connections
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.prepared import prepared
from core.services import token_expired


class LifetimeTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; an expired token is deleted and answers 401 (sign in again for a new one).

    The token is read with its user and the user's profiles (``USER_PROFILES``) in one query, so the role
    look-up every endpoint makes (``schools.selectors.user_role``) reads nothing more.
    """

    def authenticate_credentials(self, key):
        from schools.selectors import USER_PROFILES  # core is below schools: read when a request comes

        model = self.get_model()
        tokens = model.objects.select_related("user", *(f"user__{path}" for path in USER_PROFILES))
        try:
            with prepared(connections[tokens.db]):
                token = tokens.get(key=key)
        except model.DoesNotExist:
            raise AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token_expired(token=token):
            token.delete()
            raise AuthenticationFailed("Token has expired; sign in again.")
        return token.user, token
