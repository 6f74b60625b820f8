"""API authentication: DRF's token, refused once older than API_TOKEN_LIFETIME_HOURS (when that is set)."""

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.services import token_expired


class LifetimeTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; an expired token is deleted and answers 401 (sign in again for a new one)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token=token):
            token.delete()
            raise AuthenticationFailed("Token has expired; sign in again.")
        return user, token
