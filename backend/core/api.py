"""API plumbing shared by every app: errors always come back as JSON naming the field; related ids (in bodies and
in list filters) are looked up within the requesting user's scope."""

import logging
from collections.abc import Callable

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.db.models import QuerySet
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.conflicts import RETRY_AFTER_SECONDS, write_conflict, write_conflict_body

logger = logging.getLogger(__name__)


def write_conflict_response(kind: str) -> Response:
    """503 for a write that lost a race with another even after its retries: nothing was written, try again."""
    return Response(
        write_conflict_body(kind),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def exception_handler(exc, context):
    """Turn model validation and integrity errors into 400 responses, and write conflicts into 503, not 500s."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError("The request body is too large.")
    elif isinstance(exc, IntegrityError):
        logger.info("integrity error turned into 400: %s", exc)
        return Response(
            {"non_field_errors": ["This change conflicts with existing data (a duplicate or an invalid value)."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, OperationalError) and (kind := write_conflict(exc)):
        logger.warning("write conflict answered 503: %s", exc)
        return write_conflict_response(kind)
    return drf_exception_handler(exc, context)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id that must be within the requesting user's scope; one outside it "does not exist", revealing nothing.

    ``queryset`` names the model (for the schema); ``scope(user=...)`` gives the rows the user may pick.
    """

    def __init__(self, *, scope: Callable[..., QuerySet], **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return self.scope(user=self.context["request"].user)


class ScopedModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A list filter by a related id whose choices are the requesting user's scope, never the whole table.

    The form in the browsable API lists only those rows; an id outside the scope and an id that does not exist
    are refused alike (400, "Select a valid choice"), so a filter cannot tell whether another school's row exists.
    """

    def __init__(self, *, model, scope: Callable[..., QuerySet], **kwargs):
        def choices(request) -> QuerySet:
            if request is None:  # the filterset built without a request (the schema): no choices at all
                return model.objects.none()
            return scope(user=request.user)

        self.scope = scope
        super().__init__(queryset=choices, **kwargs)
