"""Writes of the core app (users, sign-in, API tokens) and of the database as a whole."""

import contextlib
import datetime
import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.models import User

logger = logging.getLogger(__name__)


def superuser_ensure(*, username: str, password: str) -> bool:
    """Create a superuser with that username and password unless the username is taken; True if created."""
    if User.objects.filter(username=username).exists():
        return False
    User.objects.create_superuser(username=username, password=password)
    return True


def database_statistics_refresh(*, models=()) -> None:
    """Refresh the query planner's statistics (ANALYZE) of every table, or of the ``models``' tables only, as a
    bulk load should end.

    PostgreSQL's autovacuum does it in time (where it is on), but a read right after loading millions of rows
    would be planned on the estimates of before: the student overview read a student's standing snapshots through
    the term's index, 2.5 million rows, 530 ms, after a backfill of a school's term. SQLite keeps no statistics
    until asked; its analysis is bounded.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
        if not models:
            cursor.execute("ANALYZE")
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- sign-in ----------------------------------------------------------------------------------------


class SignInLocked(Exception):
    """Too many failed sign-ins for the account or from the address; ``retry_after``: seconds until it ends."""

    def __init__(self, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"sign-in locked for {retry_after} more seconds")


@dataclass(frozen=True)
class _FailureCounter:
    """Failed sign-ins of one account or one address in the current window, kept in the shared cache.

    A window starts at its first failure and lasts SIGNIN_WINDOW_SECONDS; its end is stored under
    ``name:end`` and its count under a key naming that end, so a count never outlives its window
    whatever the backend does with timeouts.
    """

    name: str
    limit: int

    def window_end(self, now: float) -> float | None:
        end = cache.get(f"{self.name}:end")
        return end if end is not None and end > now else None

    def count(self, now: float) -> tuple[int, float | None]:
        end = self.window_end(now)
        return (0, None) if end is None else (cache.get(self._count_key(end), 0), end)

    def add(self, now: float) -> tuple[int, float]:
        """Count one failure (the attempt is counted before its password is checked); the new count."""
        window = settings.SIGNIN_WINDOW_SECONDS
        end = self.window_end(now)
        if end is None:
            end = now + window
            if not cache.add(f"{self.name}:end", end, timeout=window):
                current = cache.get(f"{self.name}:end")
                if current is not None and current > now:  # another attempt opened the window first
                    end = current
                else:  # the last window's end, in its last second
                    cache.set(f"{self.name}:end", end, timeout=window)
        key, timeout = self._count_key(end), max(1, math.ceil(end - now))
        cache.add(key, 0, timeout=timeout)
        try:
            count = cache.incr(key)  # atomic on Redis
        except ValueError:  # expired in between
            cache.set(key, 1, timeout=timeout)
            count = 1
        cache.touch(key, timeout)  # the database cache's incr resets the timeout to the default
        return count, end

    def remove(self, end: float, now: float) -> None:
        """Take back one counted attempt of the window ending at ``end``."""
        key = self._count_key(end)
        with contextlib.suppress(ValueError):  # the window is over already
            cache.decr(key)
            cache.touch(key, max(1, math.ceil(end - now)))

    def clear(self, end: float) -> None:
        """Forget the window ending at ``end`` and its count."""
        cache.delete_many([f"{self.name}:end", self._count_key(end)])

    def _count_key(self, end: float) -> str:
        return f"{self.name}:{round(end * 1000)}"


def _digest(value: str) -> str:
    """Cache keys of a fixed length and alphabet, whatever was typed."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def signin_address(request: HttpRequest) -> str:
    """The client's address as the sign-in limits count it.

    REMOTE_ADDR; behind SIGNIN_TRUSTED_PROXIES proxies, the address the outermost of them saw (that many
    places from the right of X-Forwarded-For: what a client writes there itself is further left). An
    IPv6 address counts as its /64 network, the block one subscriber is given.
    """
    address = request.META.get("REMOTE_ADDR") or ""
    proxies = settings.SIGNIN_TRUSTED_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            address = forwarded[-min(proxies, len(forwarded))]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _signin_counters(*, username: str, address: str) -> tuple[_FailureCounter, _FailureCounter]:
    # Usernames differing in case share a count: a case-insensitive lookup cannot multiply the guesses.
    account = _FailureCounter(f"signin:account:{_digest(username.casefold())}", settings.SIGNIN_ACCOUNT_FAILURE_LIMIT)
    origin = _FailureCounter(f"signin:address:{_digest(address)}", settings.SIGNIN_ADDRESS_FAILURE_LIMIT)
    return account, origin


def signin_authenticate(*, request: HttpRequest, username: str, password: str) -> User | None:
    """Check a username and password (Django's ``authenticate``) within the sign-in limits; the user, or None.

    Counts the attempt as a failure of the account and of the client's address before the password is
    checked (so attempts sent at once cannot all slip in under the limit), and takes it back when the
    password is right: then the account's failures are cleared, and the address's count keeps only its
    failures (a school signing in from one address is not locked out by its own successes). While
    either count has reached its limit, raises ``SignInLocked`` without checking the password and
    without counting the attempt. Every sign-in form and endpoint goes through here.
    """
    now = time.time()
    account, origin = _signin_counters(username=username, address=signin_address(request))
    _signin_refuse_if_locked(account, origin, now=now)
    (account_count, account_end), (origin_count, origin_end) = account.add(now), origin.add(now)
    overdrawn = [
        end
        for counter, count, end in ((account, account_count, account_end), (origin, origin_count, origin_end))
        if count > counter.limit
    ]
    if overdrawn:  # attempts sent at the same time took the last ones
        account.remove(account_end, now)
        origin.remove(origin_end, now)
        raise SignInLocked(retry_after=max(1, math.ceil(max(overdrawn) - now)))
    user = authenticate(request, username=username, password=password)
    if user is not None:
        account.clear(account_end)
        origin.remove(origin_end, now)
        return user
    for counter, count in ((account, account_count), (origin, origin_count)):
        if count == counter.limit:
            logger.warning(
                "sign-in locked after %s failures: %s (username %r, address %s)",
                count,
                counter.name.split(":")[1],
                username[:150],
                signin_address(request),
            )
    return None


def _signin_refuse_if_locked(*counters: _FailureCounter, now: float) -> None:
    waits = []
    for counter in counters:
        count, end = counter.count(now)
        if end is not None and count >= counter.limit:
            waits.append(math.ceil(end - now))
    if waits:
        raise SignInLocked(retry_after=max(1, *waits))


# --- API tokens -------------------------------------------------------------------------------------


def user_tokens_revoke(*, user: User) -> int:
    """Delete the user's API tokens (a password change or a deactivation); how many there were."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


def token_expired(*, token: Token, now: datetime.datetime | None = None) -> bool:
    """Whether the token is older than API_TOKEN_LIFETIME_HOURS (never, when that is 0)."""
    hours = settings.API_TOKEN_LIFETIME_HOURS
    if not hours:
        return False
    return token.created <= (now or timezone.now()) - datetime.timedelta(hours=hours)


def token_issue(*, user: User) -> Token:
    """The user's API token: the existing one while it is within its lifetime, else a new one."""
    with transaction.atomic():
        token, created = Token.objects.select_for_update().get_or_create(user=user)
        if not created and token_expired(token=token):
            token.delete()
            token = Token.objects.create(user=user)
    return token
