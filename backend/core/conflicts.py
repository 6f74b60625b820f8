"""Write conflicts on PostgreSQL: a bounded retry of a whole write, and how a write that still fails is named.

The lock order (docs/architecture.md) is what keeps writers from deadlocking; this is defence in depth
only. A deadlock or serialization failure rolls the whole transaction back, so the write is retried from
its start (it reads everything again, under its locks). A write inside a caller's transaction is not
retried here: only the outermost transaction can be run again, so the error goes up to it (an API
request then answers 503 with a Retry-After hint, see ``core.api``).
"""

import functools
import logging
import random
import time

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

# SQLSTATE -> what it is. Retried: the transaction lost a race and was rolled back whole.
RETRIED = {"40P01": "deadlock", "40001": "serialization failure"}
# Answered 503 as well (a lock_timeout expired), but not retried: waiting longer is what failed.
UNAVAILABLE = {**RETRIED, "55P03": "lock not available"}
ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1


def write_conflict(error: BaseException) -> str | None:
    """The kind of write conflict an OperationalError is (deadlock, ...), or None if it is none."""
    if not isinstance(error, OperationalError):
        return None
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code is None and str(error).startswith("database is locked"):
        return "database busy"  # SQLite: another writer held the database past the busy timeout
    return UNAVAILABLE.get(code)


def write_conflict_body(kind: str) -> dict:
    """The JSON of a 503 answered for a write conflict."""
    return {
        "detail": f"The change met a concurrent change ({kind}) and was not saved; please try again.",
        "code": "write_conflict",
    }


def conflict_retried(write):
    """Run the write again (up to ATTEMPTS times in all) when it fails by a deadlock or serialization failure."""

    @functools.wraps(write)
    def retrying(*args, **kwargs):
        if connection.in_atomic_block:
            return write(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return write(*args, **kwargs)
            except OperationalError as error:
                kind = write_conflict(error)
                if attempt == ATTEMPTS or kind not in RETRIED.values():
                    raise
                logger.warning("%s: %s, attempt %d of %d; retrying", write.__qualname__, kind, attempt, ATTEMPTS)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    return retrying
