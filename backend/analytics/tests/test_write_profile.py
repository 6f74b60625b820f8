"""Where the queries of a write go: every statement of a mark save and of a roll call, with its time.

Run with ``-s`` to see the list (docs/benchmarks.md, "Writes: where the queries go"); the test itself checks that
each path stays within its budget of statements.
"""

import datetime
import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.tests.test_query_counts import PATHS, UPPER_BOUND, measure_setup

pytestmark = pytest.mark.django_db

TABLES = re.compile(r'(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


def describe(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    tables = list(dict.fromkeys(TABLES.findall(sql)))
    if "pg_advisory_xact_lock" in sql:
        return "SELECT advisory locks"
    if "FOR NO KEY UPDATE" in sql or "FOR UPDATE" in sql:
        verb += " ... FOR UPDATE"
    return f"{verb} {', '.join(tables)}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_write_profile(path):
    w = measure_setup(10, datetime.date(2026, 9, 15))
    timings = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - started) * 1000)

    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
        path(w)
    print(f"\n{path.__name__} ({connection.vendor}): {len(ctx)} queries, {sum(timings):.2f} ms in the database")
    for n, (query, ms) in enumerate(zip(ctx.captured_queries, timings, strict=True), 1):
        print(f"  {n:2d} {ms:6.2f} ms  {describe(query['sql'])[:150]}")
    assert len(ctx) <= UPPER_BOUND
