"""Request plumbing shared by every page (the API has its own error handler, core.api)."""

import logging

from django.http import JsonResponse

from core.conflicts import RETRY_AFTER_SECONDS, write_conflict, write_conflict_body

logger = logging.getLogger(__name__)


class WriteConflictMiddleware:
    """A page (the admin) whose write lost a race (a deadlock...) answers 503 with Retry-After, not 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        kind = write_conflict(exception)
        if kind is None:
            return None
        logger.warning("write conflict answered 503: %s", exception)
        response = JsonResponse(write_conflict_body(kind), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
