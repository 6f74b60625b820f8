"""Where a read's time goes: each analytics endpoint of the bench schools called in process under cProfile.

``manage.py reads_profile --students S --weeks W`` reuses the schools ``manage.py bench`` made (same sizes) and
prints, per endpoint and size, the median whole view (token authentication, permission, selectors, serializer,
JSON rendering; no HTTP) beside the time in the database driver's ``execute`` and the query count, then the
profile of ``--repeats`` calls summed by where the code lives (own time of each function, so the parts add up to
the whole), and the queries' SQL. With ``--pages``, each page instead (through the whole middleware stack, signed
in with a session, as ``bench --pages`` asks for it) right after the endpoints it is compared with (through the same
stack, with the same user's token): what the page adds to its figures.
"""

import cProfile
import pstats
import statistics
import time
from unittest import mock

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle

from benchmarks.pages import PAGE_PAIRS, page_paths, page_users
from benchmarks.service import ENDPOINTS, _QueryTimer, bench_school_ensure, page_endpoint_paths, read_paths

# Where the code lives -> the part of the request it is (the first match counts).
PARTS = (
    ("psycopg", "database driver"),
    ("sqlite3", "database driver"),
    ("django/db/models/sql", "Django: building SQL"),
    ("django/template", "Django: templates"),
    ("dashboards/templatetags", "Django: templates"),
    ("django/contrib/sessions", "Django: sessions, auth, middleware"),
    ("django/contrib/auth", "Django: sessions, auth, middleware"),
    ("django/middleware", "Django: sessions, auth, middleware"),
    ("django/forms", "Django: forms"),
    ("dashboards/", "pages: views, charts, forms"),
    ("django/db/models/query", "Django: querysets, reading rows"),
    ("django/db/backends", "Django: database backend"),
    ("django/db/models", "Django: models (instances, fields)"),
    ("rest_framework/authentication", "DRF: authentication"),
    ("rest_framework/authtoken", "DRF: authentication"),
    ("rest_framework/serializers", "DRF: serializers"),
    ("rest_framework/fields", "DRF: serializers"),
    ("rest_framework/renderers", "DRF: JSON rendering"),
    ("json/", "DRF: JSON rendering"),
    ("rest_framework/utils/encoders", "DRF: JSON rendering"),
    ("rest_framework", "DRF: the rest (request, negotiation, views)"),
    ("analytics/selectors", "analytics selectors"),
    ("analytics/missing", "analytics selectors"),
    ("analytics/progress", "analytics selectors"),
    ("analytics/engine", "analytics selectors"),
    ("analytics/apis", "analytics views"),
    ("schools/selectors", "role and scope look-ups"),
    ("schools/permissions", "role and scope look-ups"),
    ("decimal", "decimal, dates"),
    ("datetime", "decimal, dates"),
    ("zoneinfo", "decimal, dates"),
    ("django/", "Django: the rest"),
)


def part_of(filename: str) -> str:
    for fragment, part in PARTS:
        if fragment in filename:
            return part
    return "other Python"


class Command(BaseCommand):
    help = "Profile the analytics reads in process (cProfile) on the bench schools: where the time goes."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=1000, help="S, as given to bench (default 1000).")
        parser.add_argument("--weeks", type=int, default=12, help="Weeks, as given to bench (default 12).")
        parser.add_argument("--repeats", type=int, default=30, help="Calls per endpoint (default 30).")
        parser.add_argument("--sql", action="store_true", help="Also print each query of one call.")
        parser.add_argument(
            "--plans",
            action="store_true",
            help="PostgreSQL: also each query of one call run under EXPLAIN (ANALYZE, SUMMARY), its planning and "
            "execution times (medians of 7), as if planned for that call (a prepared statement skips the planning).",
        )
        parser.add_argument(
            "--pages",
            action="store_true",
            help="Profile the pages instead, each beside its endpoints, through the whole middleware stack.",
        )

    @mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": None})
    def handle(self, *args, students, weeks, repeats, sql, plans, pages, **options):
        factory = APIRequestFactory()
        for label, size in (("S", students), ("4S", 4 * students)):
            bench = bench_school_ensure(label=label, students=size, weeks=weeks, say=self.stdout.write)
            if pages:
                self.pages_profile(bench, repeats=repeats, sql=sql, plans=plans)
                continue
            for name in ENDPOINTS:
                path, token = read_paths(bench)[name]
                match = resolve(path.split("?")[0], urlconf="benchmarks.urls")

                def call(path=path, token=token, match=match):
                    request = factory.get(path, HTTP_AUTHORIZATION=f"Token {token}")
                    return match.func(request, *match.args, **match.kwargs).render()

                self.report(f"{label} {name}: whole view", call, repeats=repeats, sql=sql, plans=plans)

    def pages_profile(self, bench, *, repeats: int, sql: bool, plans: bool):
        """Each page through the whole middleware stack (session, user, CSRF, template) beside its endpoints, each
        asked for through the same stack with the same user's token, called in turn so that both see the same
        machine: the medians, the page over the sum of its endpoints, then where the page's time goes."""
        endpoints = page_endpoint_paths(bench)
        users = page_users(bench)
        for page, path in page_paths(bench).items():
            client = Client()
            client.force_login(users[page])
            calls = {page: lambda client=client, path=path: client.get(path)}
            for name in PAGE_PAIRS[page]:
                endpoint, token = endpoints[name]
                api = Client(HTTP_AUTHORIZATION=f"Token {token}")
                calls[name] = lambda api=api, endpoint=endpoint: api.get(endpoint)
            for name, call in calls.items():
                status = call().status_code  # warm-up
                if status != 200:
                    raise CommandError(f"{bench.label} {name}: status {status}")
            times = {name: [] for name in calls}
            for _ in range(repeats):
                for name, call in calls.items():
                    started = time.perf_counter()
                    call()
                    times[name].append((time.perf_counter() - started) * 1000)
            medians = {name: statistics.median(values) for name, values in times.items()}
            endpoint_sum = sum(medians[name] for name in PAGE_PAIRS[page])
            ratio = f", {medians[page] / endpoint_sum:.2f}x its endpoints" if endpoint_sum else ""
            self.stdout.write(
                f"{bench.label} {page}: {medians[page]:.1f} ms"
                + "".join(f"; {name} {medians[name]:.1f} ms" for name in PAGE_PAIRS[page])
                + f" (medians of {repeats}, called in turn){ratio}"
            )
            self.report(f"{bench.label} {page}: whole request", calls[page], repeats=repeats, sql=sql, plans=plans)

    def report(self, title: str, call, *, repeats: int, sql: bool, plans: bool = False):
        response = call()  # warm-up
        status = getattr(response, "status_code", 200)
        if status != 200:
            raise CommandError(f"{title}: status {status}")
        totals, database = [], []
        for _ in range(repeats):
            timer = _QueryTimer()
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                call()
                totals.append((time.perf_counter() - started) * 1000)
            database.append(timer.seconds * 1000)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(repeats):
            call()
        profile.disable()
        parts = {}
        stats = pstats.Stats(profile)
        for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
            parts[part_of(filename)] = parts.get(part_of(filename), 0.0) + own
        whole = sum(parts.values())
        self.stdout.write(
            f"{title} {statistics.median(totals):.1f} ms, in the database driver "
            f"{statistics.median(database):.1f} ms, {timer.count} queries; under cProfile, per call:"
        )
        for part, seconds in sorted(parts.items(), key=lambda item: -item[1]):
            self.stdout.write(f"    {part:<45} {seconds / repeats * 1000:6.2f} ms  {seconds / whole:4.0%}")
        if sql:
            with CaptureQueriesContext(connection) as captured:
                call()
            for query in captured.captured_queries:
                self.stdout.write(f"      SQL {query['sql'][:200]}")
        if plans:
            self.plans(call)

    def plans(self, call) -> None:
        """Each query of one call under EXPLAIN (ANALYZE, SUMMARY), run 7 times: the medians of its planning and
        execution times as PostgreSQL reports them."""
        if connection.vendor != "postgresql":
            raise CommandError("--plans reads PostgreSQL's EXPLAIN")
        queries = []

        def keep(execute, sql, params, many, context):
            queries.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(keep):
            call()
        for sql, params in queries:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            planning, execution = [], []
            with connection.cursor() as cursor:
                for _ in range(7):
                    cursor.execute(f"EXPLAIN (ANALYZE, SUMMARY) {sql}", params)
                    lines = [row[0] for row in cursor.fetchall()]
                    planning.append(_plan_figure(lines, "Planning Time"))
                    execution.append(_plan_figure(lines, "Execution Time"))
            self.stdout.write(
                f"      plan {statistics.median(planning):6.2f} ms  run {statistics.median(execution):6.2f} ms  "
                f"{' '.join(sql.split())[:110]}"
            )


def _plan_figure(lines: list[str], name: str) -> float:
    """The milliseconds of ``name`` ("Planning Time: 3.104 ms") in EXPLAIN's summary."""
    line = next(line for line in lines if line.strip().startswith(f"{name}:"))
    return float(line.split(":")[1].split()[0])
