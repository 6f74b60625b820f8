"""Prepared statements for the reads every request makes: the token's, or the signed-in user's, with the profiles.

Planning that read (the token, the user and the four profiles of ``schools.selectors.USER_PROFILES``, seven
tables joined) took PostgreSQL longer than running it: 1.9 to 3.5 ms of planning beside 0.07 to 0.16 ms of execution on
the bench's machine, on every API request and every page. A prepared statement is planned once per connection
(its generic plan: the rows are found by unique keys, so every value gets the same plan).

Only the reads run inside ``prepared`` are prepared. Others are not: a prepared statement's generic plan does not
see the values, and for a read over a range of dates it can be far worse than the plan made for the values (the
overview's grades, 2.5 ms planned for the values, took 11 ms on the generic plan).
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def prepared(connection) -> Iterator[None]:
    """The queries of the block bind their parameters on the server, so psycopg prepares each at its
    ``prepare_threshold``-th run on the connection (settings: DATABASE_PREPARED_STATEMENTS) and PostgreSQL plans
    it once there. On SQLite, or with prepared statements off, nothing changes."""
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.cursor_factory
    raw.cursor_factory = _prepared_cursor()
    try:
        yield
    finally:
        raw.cursor_factory = before


@functools.cache
def _prepared_cursor() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # importable with psycopg only

    class PreparedCursor(ServerBindingCursor):
        """Django's server-binding cursor, whose prepared runs still name their SQL: Django's query log (and
        every tool reading it: the test's query counts, the profiles) takes the SQL from the cursor's last query,
        which psycopg leaves empty when it runs a prepared statement."""

        def _send_query_prepared(self, name, pgq, **kwargs):
            self._query = pgq
            super()._send_query_prepared(name, pgq, **kwargs)

    return PreparedCursor
