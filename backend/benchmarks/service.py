"""The analytics benchmark: datasets at S and 4S students, then reads over HTTP, write cost and jobs.

``bench_run`` does it all; ``manage.py bench`` only parses and prints. Reads go through gunicorn on 127.0.0.1
with ``benchmarks.urls`` and a load generator (``benchmarks/load.py``) in a second process; jobs run as child
processes so their peak memory is their own.
"""

import contextlib
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle

from attendance.models import Attendance, AttendanceStatus, Lesson
from attendance.services import roll_call_record
from attendance.signals import marks_bulk_changed
from benchmarks import burst, pages
from core.models import User
from core.services import database_statistics_refresh
from homework.models import Grade
from schools.models import AcademicTerm, ClassGroup, School, SchoolAdmin, Student, Teacher
from schools.selectors import class_groups_taught_by
from simulation.services import default_start, schools_simulate

BACKEND_DIR = Path(__file__).resolve().parent.parent
SEED = 7
Say = Callable[[str], None]


def percentile(values: list[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` lie, linearly interpolated (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


@dataclass
class BenchSchool:
    label: str  # "S" or "4S"
    school: School
    term: AcademicTerm
    admin_token: str
    teacher_token: str
    student_id: int
    admin: User | None = None
    teacher: User | None = None
    class_group_id: int | None = None  # a class of the teacher


@dataclass
class Row:
    section: str
    figure: str
    value: str
    target: str = ""
    verdict: str = ""  # PASS, MISS or empty


@dataclass
class BenchResult:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, section, figure, value, target="", ok=None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append(Row(section, figure, value, target, verdict))


# --- datasets ---------------------------------------------------------------------------------------


def school_name(*, students: int, weeks: int) -> str:
    return f"Benchmark school {students} students x {weeks} weeks (seed {SEED})"


def bench_school_ensure(*, label: str, students: int, weeks: int, say: Say, name: str | None = None) -> BenchSchool:
    """The benchmark school of this size, simulated in bulk mode unless it exists already (found by ``name``,
    by default the benchmark's name for the size)."""
    name = name or school_name(students=students, weeks=weeks)
    school = School.objects.filter(name=name).first()
    if school is None:
        say(f"Simulating {name} in bulk mode")
        started = time.monotonic()
        result = schools_simulate(
            students=students,
            weeks=weeks,
            seed=SEED,
            start=default_start(weeks=weeks, today=timezone.localdate()),
            bulk=True,
            verify=False,
            demo_users=False,
            progress=None,
        )
        school = result.schools[0].school
        School.objects.filter(pk=school.pk).update(name=name)
        school.refresh_from_db()
        say(f"  done in {time.monotonic() - started:.1f}s")
    else:
        say(f"Reusing {name} (school {school.pk})")
    term = school.terms.order_by("-start_date").first()
    admin = SchoolAdmin.objects.filter(school=school).select_related("user").first()
    if admin is None:
        user = User.objects.create(username=f"bench-admin-{school.pk}", first_name="Bench", last_name="Admin")
        admin = SchoolAdmin.objects.create(user=user, school=school)
    teacher = Teacher.objects.filter(school=school, lessons__isnull=False).select_related("user").first()
    student = Student.objects.filter(school=school, active=True, class_group__isnull=False).order_by("id").first()
    return BenchSchool(
        label=label,
        school=school,
        term=term,
        admin_token=Token.objects.get_or_create(user=admin.user)[0].key,
        teacher_token=Token.objects.get_or_create(user=teacher.user)[0].key,
        student_id=student.pk,
        admin=admin.user,
        teacher=teacher.user,
        class_group_id=class_groups_taught_by(teacher=teacher).order_by("id").values_list("pk", flat=True).first(),
    )


def bench_schools_ensure(*, students: int, weeks: int, say: Say) -> list[BenchSchool]:
    """The S and 4S schools (``students`` and four times as many), in that order."""
    return [
        bench_school_ensure(label="S", students=students, weeks=weeks, say=say),
        bench_school_ensure(label="4S", students=4 * students, weeks=weeks, say=say),
    ]


# --- reads ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(secret: str | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_ROOT_URLCONF="benchmarks.urls",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secret or secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        # The throttle's history is in the shared cache (a table of the database without Redis): lifted, so the
        # figures are the endpoints' own.
        ANALYTICS_THROTTLE_RATE="off",
        DATABASE_CONN_MAX_AGE="600",
    )
    return env


def _server_start(
    port: int, *, workers: int = 2, threads: int = 1, preload: bool = False, log=None, secret: str | None = None
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:``port`` (``threads`` > 1: the threaded worker; ``preload``: the application loaded
    before the workers fork, so every worker answers as soon as the port is open); its output to ``log`` if given;
    ``secret``: its ``SECRET_KEY`` (the sessions the bench signs in with are signed with it), else a random one."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *(["--preload"] if preload else []),
    ]
    server = subprocess.Popen(  # noqa: S603 (our own argv)
        command, cwd=BACKEND_DIR, env=_server_env(secret), stdout=log, stderr=subprocess.STDOUT if log else None
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start within 30 s")


def load_run(*, port: int, path: str, token: str = "", cookie: str = "", count: int, seconds: float) -> dict:
    """One trial by the load generator in a second process: p50/p95 (ms) and requests per second. Signed in
    with an API ``token``, or with a session ``cookie`` as a browser is on the pages."""
    command = [sys.executable, str(Path(__file__).parent / "load.py"), "--port", str(port), "--path", path]
    command += ["--token", token] if token else ["--cookie", cookie]
    command += ["--count", str(count), "--seconds", str(seconds), "--concurrency", "4"]
    output = subprocess.run(  # noqa: S603 (our own argv)
        command,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output)
    if result["error_count"]:
        raise RuntimeError(f"{path}: {result['error_count']} failed requests, e.g. {result['errors']}")
    latencies = result["latencies"]
    return {
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "rps": len(latencies) / result["wall"],
        "bytes": result["bytes"],
    }


ENDPOINTS = ("school-health", "teacher-performance", "student-overview")
TEACHER_8_WEEKS = "/api/analytics/teacher/my-performance/"  # the API's default weeks, as the teacher page shows


def read_paths(bench: BenchSchool) -> dict[str, tuple[str, str]]:
    school = bench.school.pk
    return {
        "school-health": (f"/api/analytics/admin/school-health/?school={school}", bench.admin_token),
        "teacher-performance": ("/api/analytics/teacher/my-performance/?weeks=12", bench.teacher_token),
        "student-overview": (f"/api/analytics/student/{bench.student_id}/overview/", bench.admin_token),
        "on-the-fly school-health": (f"/bench/reference/school-health/?school={school}", bench.admin_token),
    }


def page_endpoint_paths(bench: BenchSchool) -> dict[str, tuple[str, str]]:
    """{name: (path, token)} of every endpoint a page is compared with, each asked for as the page's user with the
    page's query: the analytics reads' own and the rest of the school-health page's (the students at risk: the API's
    JSON, first page, 50 as the page lists them; missing data over the page's 4 weeks; the most improved)."""
    school = bench.school.pk
    paths = {name: read_paths(bench)[name] for name in ("school-health", "student-overview")}
    paths["teacher-performance 8 weeks"] = (TEACHER_8_WEEKS, bench.teacher_token)
    api = "/api/analytics"
    paths["students at risk (first page)"] = (f"{api}/students/at-risk/?school={school}", bench.admin_token)
    paths["missing-data 4 weeks"] = (f"{api}/admin/missing-data/?school={school}&weeks=4", bench.admin_token)
    paths["most-improved"] = (f"{api}/students/most-improved/?school={school}", bench.admin_token)
    return paths


def floor_name(endpoint: str) -> str:
    return f"floor like {endpoint}"


def read_value(figures: dict) -> str:
    return f"{figures['p50']:.1f} ms / {figures['p95']:.1f} ms / {figures['rps']:.0f} ({figures['bytes']:.0f})"


def page_read_paths(benches: list[BenchSchool], *, secret: str) -> dict:
    """{(label, name): (path, credentials)} of the pages, each signed in with a session of its user (made for the
    server whose key is ``secret``), and the endpoints they are compared with that the analytics reads do not
    measure already; the superuser's page of every school and its endpoint under the label "all"."""
    paths = {}
    for bench in benches:
        users = pages.page_users(bench)
        for name, path in pages.page_paths(bench).items():
            paths[bench.label, name] = (path, {"cookie": pages.session_cookie(users[name], secret=secret)})
        for name, (path, token) in page_endpoint_paths(bench).items():
            if name not in read_paths(bench):
                paths[bench.label, name] = (path, {"token": token})
    superuser = pages.bench_superuser()
    page, endpoint = pages.SCHOOLS_PAIR
    paths["all", page] = ("/schools/", {"cookie": pages.session_cookie(superuser, secret=secret)})
    token = Token.objects.get_or_create(user=superuser)[0].key
    paths["all", endpoint] = ("/api/analytics/admin/school-health/?format=csv&table=schools", {"token": token})
    return paths


def _read_order(key: tuple[str, str]) -> tuple:
    """Each endpoint followed by what is compared with it (its floor, the page's other endpoints, then the page) at
    the same size, first at S then at 4S, so each ratio is of figures measured back to back; the slow on-the-fly
    reference last."""
    label, name = key
    group = {pages.SCHOOLS_PAIR[0]: pages.SCHOOLS_PAIR[1]}.get(name) or pages.page_group(name) or name
    group = group.removeprefix("floor like ")
    page = name in pages.PAGE_PAIRS or name == pages.SCHOOLS_PAIR[0]
    return (name.startswith("on-the-fly"), group, label != "S", name != group, page, name)


def reads_measure(
    *,
    benches: list[BenchSchool],
    trials: int,
    count: int,
    seconds: float,
    say: Say,
    analytics: bool = True,
    with_pages: bool = True,
) -> dict:
    """{(label, endpoint or page): {p50, p95, rps, bytes}}, each the median over ``trials`` trials, and with
    ``with_pages`` {("weight", page): first-load weight} of each page at the largest size.

    Each analytics endpoint has its floor: the constant endpoint returning as many bytes (``analytics``: the
    endpoints, floors and the on-the-fly reference). Each page (``with_pages``) is asked for with a session cookie
    and compared with its endpoint. The trials are interleaved (trial 1 of every path, each at S and at 4S back to
    back, then trial 2...), so a machine that slows down or speeds up during the run shifts every figure alike
    instead of the ones measured last.
    """
    port = _free_port()
    secret = secrets.token_urlsafe(40)
    page_paths = page_read_paths(benches, secret=secret) if with_pages else {}
    say(f"Starting gunicorn (2 workers) on 127.0.0.1:{port}")
    server = _server_start(port, secret=secret)
    figures = {}
    try:
        paths = {}  # (label, name) -> (path, {"token": ...} or {"cookie": ...})
        for bench in benches:
            for name, (path, token) in read_paths(bench).items():
                if not analytics and name not in pages.endpoints_compared():
                    continue
                paths[bench.label, name] = (path, {"token": token})
                size = load_run(port=port, path=path, token=token, count=8, seconds=seconds)["bytes"]  # warm-up
                if analytics and name in ENDPOINTS:
                    floor = (f"/bench/floor/?size={int(size)}", {"token": bench.admin_token})
                    paths[bench.label, floor_name(name)] = floor
                    load_run(port=port, path=floor[0], **floor[1], count=8, seconds=seconds)
        for key, (path, credentials) in page_paths.items():
            paths[key] = (path, credentials)
            load_run(port=port, path=path, **credentials, count=8, seconds=seconds)  # warm-up
        order = sorted(paths, key=_read_order)
        runs = {key: [] for key in order}
        for trial in range(1, trials + 1):
            say(f"  trial {trial} of {trials}")
            for key in order:
                path, credentials = paths[key]
                runs[key].append(load_run(port=port, path=path, **credentials, count=count, seconds=seconds))
        if with_pages:
            largest = benches[-1].label
            for (label, name), (path, credentials) in page_paths.items():
                if label in (largest, "all") and "cookie" in credentials:
                    html = pages.page_fetch(port=port, path=path, cookie=credentials["cookie"])
                    figures["weight", name] = pages.first_load_weight(html, base=path)
    finally:
        _server_stop(server)
        pages.sessions_delete(
            credentials["cookie"] for _, credentials in page_paths.values() if "cookie" in credentials
        )
    for (label, name), measured in sorted(runs.items(), key=lambda item: item[0][0] != "S"):
        figures[label, name] = {key: statistics.median(run[key] for run in measured) for key in measured[0]}
        say(f"  {label:>3} {name}: p50 {figures[label, name]['p50']:.1f} ms, {figures[label, name]['bytes']:.0f} bytes")
    return figures


def page_rows(result: BenchResult, reads: dict, labels: list[str]) -> None:
    """The pages' rows: p50 / p95 of each page beside its endpoint, page / endpoint (target <= 1.5), 4S/S (target
    <= 1.3), and the first-load weight of each page with the heaviest one's verdict (target < 300 kB)."""
    pairs = [*pages.PAGE_PAIRS.items(), (pages.SCHOOLS_PAIR[0], (pages.SCHOOLS_PAIR[1],))]
    for label in [*labels, "all"]:
        for page, endpoints in pairs:
            if (label, page) not in reads:
                continue
            for name in (page, *endpoints):
                result.add(f"page {label}", f"{name} p50 / p95 / req/s (bytes)", read_value(reads[label, name]))
            if not endpoints:
                continue
            compared = sum(reads[label, name]["p50"] for name in endpoints)
            if len(endpoints) > 1:
                parts = " + ".join(f"{reads[label, name]['p50']:.1f}" for name in endpoints)
                result.add(f"page {label}", f"{page}'s endpoints, sum of p50s", f"{parts} = {compared:.1f} ms")
            value = ratio(reads[label, page]["p50"], compared)
            result.add(
                f"page {label}",
                f"{page} / {' + '.join(endpoints)} (p50)",
                f"{value:.2f}x",
                f"<= {pages.PAGE_TARGET}x",
                value <= pages.PAGE_TARGET,
            )
    small, large = labels[0], labels[-1]
    for page in pages.PAGE_PAIRS:
        value = ratio(reads[large, page]["p50"], reads[small, page]["p50"])
        result.add("growth", f"{page} {large}/{small} (p50)", f"{value:.2f}", "<= 1.3", value <= 1.3)
    weights = {name: weight for (kind, name), weight in reads.items() if kind == "weight"}
    for name, weight in weights.items():
        files = len(weight["files"])
        result.add(
            f"first load {large}",
            f"{name}: HTML + {files - 1} CSS/JS/font files, gzipped",
            f"{weight['html'] / 1000:.1f} kB + {weight['assets'] / 1000:.1f} kB = {weight['total'] / 1000:.1f} kB",
        )
    if weights:
        name, weight = max(weights.items(), key=lambda item: item[1]["total"])
        limit = pages.WEIGHT_TARGET_BYTES
        result.add(
            f"first load {large}",
            f"heaviest page ({name}), gzipped",
            f"{weight['total'] / 1000:.1f} kB",
            f"< {limit // 1000} kB",
            weight["total"] < limit,
        )


# As on the bench server: the analytics throttle lifted (its history would be a database write per request).
@mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": None})
def requests_profile(*, benches: list[BenchSchool], sizes: dict, repeats: int) -> dict:
    """{(label, name): {ms, db_ms, queries}}: each endpoint and its floor served in this process (the same
    token authentication, no HTTP), median over ``repeats`` calls of the whole view with its response rendered,
    and of the time its queries spent in the database driver's ``execute``; the rest is Python."""
    factory = APIRequestFactory()
    profile = {}
    for bench in benches:
        paths = {name: read_paths(bench)[name] for name in ENDPOINTS}
        for name in ENDPOINTS:
            size = int(sizes.get((bench.label, name), 0))
            paths[floor_name(name)] = (f"/bench/floor/?size={size}", bench.admin_token)
        for name, (path, token) in paths.items():
            match = resolve(path.split("?")[0], urlconf="benchmarks.urls")
            totals, database, count = [], [], 0
            for _ in range(repeats + 1):  # the first call warms up
                timer = _QueryTimer()
                request = factory.get(path, HTTP_AUTHORIZATION=f"Token {token}")
                with connection.execute_wrapper(timer):
                    started = time.perf_counter()
                    response = match.func(request, *match.args, **match.kwargs).render()
                    totals.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: status {response.status_code} in process")
                database.append(timer.seconds * 1000)
                count = timer.count
            profile[bench.label, name] = {
                "ms": statistics.median(totals[1:]),
                "db_ms": statistics.median(database[1:]),
                "queries": count,
            }
    return profile


def pages_profile(*, benches: list[BenchSchool], repeats: int) -> dict:
    """{(label, name): {ms, db_ms, queries}}: each page and the endpoint it is compared with, asked for by the same
    user in this process through the whole middleware stack (``django.test.Client``, signed in with a session: its
    look-up and the user's are two of the queries), so page and endpoint are profiled alike; medians over
    ``repeats`` after a warm-up."""
    profile = {}
    for bench in benches:
        users = pages.page_users(bench)
        endpoints = page_endpoint_paths(bench)
        paths = {}
        for name, path in pages.page_paths(bench).items():
            for endpoint in pages.PAGE_PAIRS[name]:
                paths[endpoint] = (endpoints[endpoint][0], users[name])
            paths[name] = (path, users[name])
        for name, (path, user) in paths.items():
            client = Client()
            client.force_login(user)
            totals, database, count = [], [], 0
            for _ in range(repeats + 1):
                timer = _QueryTimer()
                with (
                    connection.execute_wrapper(timer),
                    mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": None}),
                ):
                    started = time.perf_counter()
                    response = client.get(path, secure=True)
                    totals.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: status {response.status_code} in process")
                database.append(timer.seconds * 1000)
                count = timer.count
            client.logout()
            profile[bench.label, name] = {
                "ms": statistics.median(totals[1:]),
                "db_ms": statistics.median(database[1:]),
                "queries": count,
            }
    return profile


def profile_rows(result: BenchResult, profile: dict, *, section: str = "profile") -> None:
    for (label, name), figures in profile.items():
        result.add(
            f"{section} {label}",
            f"{name}: whole view / in the database",
            f"{figures['ms']:.1f} ms / {figures['db_ms']:.1f} ms ({figures['queries']} queries)",
        )


class _QueryTimer:
    """A database execute wrapper adding up how many queries ran and how long ``execute`` took."""

    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


# --- writes -----------------------------------------------------------------------------------------


def _engine_disconnect() -> None:
    from analytics.keys import SOURCES

    for source in SOURCES:
        label = source.model._meta.label
        pre_save.disconnect(sender=source.model, dispatch_uid=f"analytics-pre-save-{label}")
        post_save.disconnect(sender=source.model, dispatch_uid=f"analytics-save-{label}")
        pre_delete.disconnect(sender=source.model, dispatch_uid=f"analytics-pre-del-{label}")
        post_delete.disconnect(sender=source.model, dispatch_uid=f"analytics-del-{label}")
    marks_bulk_changed.disconnect(dispatch_uid="analytics-marks-bulk")


def _engine_connect() -> None:
    apps.get_app_config("analytics").ready()  # connects with the same dispatch_uids: idempotent


def _timed(action: Callable[[int], None], saves: int) -> tuple[float, int]:
    """Median milliseconds of ``action(i)`` over ``saves`` calls (each its own commit), and queries of one."""
    times = []
    for index in range(saves):
        started = time.perf_counter()
        action(index)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        action(saves)
    return statistics.median(times), len(queries)


ROLL_CALL_SIZE = 30


def write_actions(bench: BenchSchool) -> tuple[dict[str, Callable[[int], None]], Callable[[], None]]:
    """The writes measured, by name (each ``action(i)`` commits a change of an existing row, alternating back and
    forth with ``i``), and the function that restores the originals (with the engine connected, which recomputes
    the summary rows they feed, so the summaries are right again afterwards)."""
    school = bench.school
    mark = Attendance.objects.filter(lesson__class_group__school=school).order_by("-id").first()
    grade = Grade.objects.filter(submission__student__school=school).order_by("-id").first()
    # The roll call: of the latest lesson with 30 marks (a roll call leaves out no mark of its lesson: one left
    # out would be deleted), else of the latest with the most marks.
    lessons = Lesson.objects.filter(class_group__school=school).annotate(marked=Count("marks")).filter(marked__gt=0)
    lesson = (
        lessons.filter(marked=ROLL_CALL_SIZE).order_by("-date", "-id").first()
        or lessons.order_by("-marked", "-date", "-id").first()
    )
    original_marks = list(lesson.marks.order_by("student_id").values("student_id", "status", "note"))
    original = (mark.status, grade.score)
    statuses = (AttendanceStatus.PRESENT, AttendanceStatus.ABSENT)

    def mark_save(index: int) -> None:
        mark.status = statuses[index % 2]
        mark.save()

    def grade_save(index: int) -> None:
        grade.score = max(grade.max_score - (index % 2), 0)
        grade.save()

    recorder = lesson.teacher.user

    def roll_call(index: int) -> None:
        marks = [{**row, "status": statuses[(index + n) % 2]} for n, row in enumerate(original_marks)]
        roll_call_record(lesson=lesson, marks=marks, recorded_by=recorder)

    def restore() -> None:
        mark.status, grade.score = original
        mark.save()
        grade.save()
        roll_call_record(lesson=lesson, marks=original_marks, recorded_by=recorder)

    return {"mark save": mark_save, "grade save": grade_save, "roll call (30)": roll_call}, restore


@contextlib.contextmanager
def engine_off():
    """The engine's receivers disconnected (the bare save), connected again after."""
    _engine_disconnect()
    try:
        yield
    finally:
        _engine_connect()


def writes_measure(*, bench: BenchSchool, saves: int) -> dict:
    """{name: {on, off, queries_on, queries_off}}: median ms of a mark save, a grade save and a 30-student roll call.

    Existing rows are changed back and forth and committed, then restored (``write_actions``).
    """
    actions, restore = write_actions(bench)
    results = {}
    for name, action in actions.items():
        on, queries_on = _timed(action, saves)
        with engine_off():
            off, queries_off = _timed(action, saves)
        results[name] = {"on": on, "off": off, "queries_on": queries_on, "queries_off": queries_off}
    restore()
    return results


# Issue 16's targets: the time with the engine over the time without it, and the queries of a mark save.
WRITE_TARGETS = {"mark save": 4, "grade save": 3, "roll call (30)": 2}
MARK_SAVE_QUERIES = 10


def write_rows(result: BenchResult, writes: dict) -> None:
    for name, figures in writes.items():
        limit = WRITE_TARGETS[name]
        value = ratio(figures["on"], figures["off"])
        result.add(
            "write S",
            f"{name}: engine on / off",
            f"{figures['on']:.2f} ms / {figures['off']:.2f} ms = {value:.2f}x",
            f"<= {limit}x",
            value is not None and value <= limit,
        )
        queries = f"{figures['queries_on']} / {figures['queries_off']}"
        if name == "mark save":
            target = f"<= {MARK_SAVE_QUERIES} (on)"
            result.add(
                "write S", f"{name}: queries on / off", queries, target, figures["queries_on"] <= MARK_SAVE_QUERIES
            )
        else:
            result.add("write S", f"{name}: queries on / off", queries)


# --- the morning burst ------------------------------------------------------------------------------


def _ms(values: list[float]) -> list[float]:
    return [value * 1000 for value in values]


def burst_figures(*, idle: dict, burst_run: dict, readers_alone: dict | None = None) -> dict:
    """The step's figures from the outputs of ``burst_clients.py`` (latencies in seconds): the idle roll calls' p50,
    the burst's p50 and p95 of the roll calls and of the reads (ms; of the answered ones), its total time (s), the
    server's requests per second (every request answered or failed, over the time to the last answer) and the
    failures (of any run: a status other than 200, or no answer); with ``readers_alone`` (the readers' run
    without roll calls), its reads' p50 and p95."""
    alone = (readers_alone or {"reads": []})["reads"]
    alone_ok = _ms([read["latency"] for read in alone if read["status"] == 200])
    idle_ok = _ms([call["latency"] for call in idle["roll_calls"] if call["status"] == 200])
    calls, reads = burst_run["roll_calls"], burst_run["reads"]
    calls_ok = _ms([call["latency"] for call in calls if call["status"] == 200])
    reads_ok = _ms([read["latency"] for read in reads if read["status"] == 200])
    failed = [request for request in (*idle["roll_calls"], *alone, *calls, *reads) if request["status"] != 200]
    by_name: dict[str, list[float]] = {}
    for read in reads:
        if read["status"] == 200:
            by_name.setdefault(read["name"], []).append(read["latency"] * 1000)
    wall = max(burst_run["wall"], burst_run["readers_wall"])
    return {
        "idle_p50": percentile(idle_ok, 0.5),
        "idle_count": len(idle["roll_calls"]),
        "roll_calls": len(calls),
        "roll_call_p50": percentile(calls_ok, 0.5),
        "roll_call_p95": percentile(calls_ok, 0.95),
        "late_max": max((call["late"] for call in calls), default=0.0),
        "reads_alone": len(alone),
        "read_alone_p50": percentile(alone_ok, 0.5),
        "read_alone_p95": percentile(alone_ok, 0.95),
        "reads": len(reads),
        "read_p50": percentile(reads_ok, 0.5),
        "read_p95": percentile(reads_ok, 0.95),
        "reads_by_name": {name: (percentile(v, 0.5), percentile(v, 0.95)) for name, v in sorted(by_name.items())},
        "total": burst_run["wall"],
        "rps": (len(calls) + len(reads)) / wall if wall else None,
        "errors": len(failed),
        "error_samples": [f"{error['status']} {error.get('error', '')}".strip() for error in failed[:3]],
    }


def _server_stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def burst_measure(*, bench: BenchSchool, say: Say, seconds: float = burst.BURST_SECONDS) -> dict:
    """The morning burst on ``bench``'s school (``benchmarks/burst.py``): gunicorn as in the reads step; after a
    warm-up (the readers' paths and the roll call's GET), the roll call alone on the idle server (a few classes,
    one at a time; restored), the readers alone for a while, then every class's roll call within ``seconds`` from
    16 clients while 4 threads read school health, teacher performance and the student overview; the touched keys
    verified, the marks restored (the engine connected) and verified again. The figures of ``burst_figures`` with
    the classes, the roll calls, the marks and the differences found."""
    roll_calls = burst.burst_roll_calls(school=bench.school)
    if not roll_calls:
        raise RuntimeError(f"{bench.school.name}: no class has a lesson with marks")
    readers = [(name, *read_paths(bench)[name]) for name in ENDPOINTS]
    sample = burst.idle_sample(roll_calls)
    port = _free_port()
    say(f"  {len(roll_calls)} roll calls; gunicorn (2 workers) on 127.0.0.1:{port}")
    server = _server_start(port)
    touched: list = []
    try:
        for _, path, token in readers:
            load_run(port=port, path=path, token=token, count=8, seconds=seconds)
        first = roll_calls[0]
        load_run(port=port, path=first.path, token=first.token, count=4, seconds=seconds)
        say(f"  the roll call alone: {len(sample)} classes one at a time")
        touched = sample
        idle = burst.clients_run(burst.idle_plan(port=port, roll_calls=sample))
        burst.roll_calls_restore(sample)
        say(f"  the readers alone for {burst.READERS_ALONE_SECONDS:.0f} s")
        alone = burst.clients_run(burst.readers_plan(port=port, readers=readers, seconds=burst.READERS_ALONE_SECONDS))
        say(f"  the burst: {len(roll_calls)} roll calls within {seconds:.0f} s, {burst.BURST_CLIENTS} clients")
        touched = roll_calls
        burst_run = burst.clients_run(
            burst.burst_plan(port=port, roll_calls=roll_calls, readers=readers, seconds=seconds)
        )
    finally:
        _server_stop(server)
        if touched:
            say("  verifying the touched keys, restoring the marks")
            after_burst = burst.burst_verify(touched)
            burst.roll_calls_restore(touched)
    restored = burst.burst_verify(roll_calls)
    figures = burst_figures(idle=idle, burst_run=burst_run, readers_alone=alone)
    figures.update(
        classes=ClassGroup.objects.filter(school=bench.school).count(),
        marks=sum(len(call.marks) for call in roll_calls),
        after_burst=after_burst,
        restored=restored,
    )
    return figures


def burst_rows(result: BenchResult, figures: dict, *, label: str = "4S") -> None:
    section = f"burst {label}"
    verdicts = burst.burst_verdicts(figures)
    result.add(
        section,
        "classes / roll calls (marks)",
        f"{figures['classes']} / {figures['roll_calls']} ({figures['marks']} marks)",
        "every class",
        figures["roll_calls"] == figures["classes"],
    )
    idle = figures["idle_p50"]
    result.add(
        section,
        f"roll call alone, idle server: p50 ({figures['idle_count']} classes one at a time)",
        "n/a" if idle is None else f"{idle:.1f} ms",
    )
    p50, p95 = figures["roll_call_p50"], figures["roll_call_p95"]
    target, ok = verdicts["roll call"]
    result.add(
        section,
        "roll calls in the burst: p50 / p95, p95 / idle p50",
        "n/a" if p95 is None else f"{p50:.1f} ms / {p95:.1f} ms, {ratio(p95, idle) or 0:.2f}x",
        target,
        ok,
    )
    target, ok = verdicts["reads"]
    result.add(
        section,
        f"reads in the burst: p50 / p95 ({figures['reads']} reads, {burst.BURST_READERS} threads)",
        "n/a" if figures["read_p95"] is None else f"{figures['read_p50']:.1f} ms / {figures['read_p95']:.1f} ms",
        target,
        ok,
    )
    if figures.get("read_alone_p95") is not None:
        result.add(
            section,
            f"reads alone, no roll calls: p50 / p95 ({figures['reads_alone']} reads, {burst.BURST_READERS} threads, "
            f"{burst.READERS_ALONE_SECONDS:.0f} s)",
            f"{figures['read_alone_p50']:.1f} ms / {figures['read_alone_p95']:.1f} ms",
        )
    for name, (p50, p95) in figures["reads_by_name"].items():
        result.add(section, f"{name} in the burst: p50 / p95", f"{p50:.1f} ms / {p95:.1f} ms")
    result.add(
        section,
        "total time: start to the last roll call answered (latest send behind its moment)",
        f"{figures['total']:.1f} s ({figures['late_max']:.2f} s)",
    )
    result.add(section, "server requests/s (roll calls and reads)", f"{figures['rps']:.1f}")
    target, ok = verdicts["errors"]
    samples = f" ({'; '.join(figures['error_samples'])})" if figures["error_samples"] else ""
    result.add(section, "errors (idle, readers alone, burst)", f"{figures['errors']}{samples}", target, ok)
    for name in ("after_burst", "restored"):
        differences = figures[name]
        shown = f" (e.g. {differences[0]})" if differences else ""
        when = "after the burst" if name == "after_burst" else "after the marks restored"
        result.add(
            section,
            f"summaries of the touched keys {when}: differences",
            f"{len(differences)}{shown}",
            "0",
            not differences,
        )


# --- jobs -------------------------------------------------------------------------------------------


def job_run(args: list[str]) -> dict:
    """Wall seconds, peak RSS (MiB) and standard output of ``manage.py <args>`` as a child process (via
    /usr/bin/time when present)."""
    command = [sys.executable, str(BACKEND_DIR / "manage.py"), *args]
    time_binary = Path("/usr/bin/time")
    started = time.perf_counter()
    if time_binary.exists():
        done = subprocess.run(  # noqa: S603 (our own argv)
            [str(time_binary), "-f", "MAXRSS %M", *command], capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        rss_kb = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS ")][-1]
    else:
        wrapper = (
            "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        done = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True)  # noqa: S603
        wall = time.perf_counter() - started
        rss_kb = int(done.stdout.split()[-1]) if done.returncode == 0 else 0
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {done.stderr[-2000:]}")
    return {"seconds": wall, "rss_mib": rss_kb / 1024, "stdout": done.stdout}


def jobs_measure(*, bench: BenchSchool) -> dict:
    school, term = bench.school, bench.term
    return {
        "calculate_class_ranks": job_run(["calculate_class_ranks", f"--school={school.pk}", f"--term={term.pk}"]),
        "generate_teacher_metrics": job_run(
            ["generate_teacher_metrics", f"--school={school.pk}", f"--from={term.start_date}", f"--to={term.end_date}"]
        ),
        "rebuild_analytics": job_run(["rebuild_analytics", f"--school={school.pk}", "--quiet-progress"]),
    }


# --- report cards -----------------------------------------------------------------------------------

CARD_TARGET_SECONDS = 0.25
PER_CARD = re.compile(r"\((\d+) cards, ([0-9.]+)s per card, ([0-9.]+)s CPU per card\)")
# The command's own count: its peak RSS plus each worker process's (an upper bound, as pages the workers share
# with the command are counted in each); /usr/bin/time would see the largest process only.
PEAK_MEMORY = re.compile(r"peak memory: ([0-9.]+) MiB in all")


def largest_class(*, school: School) -> tuple[ClassGroup, int]:
    """The school's class with the most active students (the first by grade and name among equals)."""
    counted = (
        ClassGroup.objects.filter(school=school)
        .annotate(size=Count("students", filter=Q(students__active=True)))
        .order_by("-size", "grade_level", "name", "id")
        .first()
    )
    return counted, counted.size


def report_cards_run(*, bench: BenchSchool, class_group: ClassGroup | None) -> dict:
    """``report_cards`` for a class (or the whole school, as one zip) in a child process: wall seconds, peak MiB
    (the command's and its worker processes' together), cards, seconds and CPU seconds per card as the command
    measured them (rendering only: start-up not included; CPU seconds, the workers' included, tell what a card
    costs when other processes share the machine)."""
    with tempfile.TemporaryDirectory(prefix="bench-cards-") as out:
        args = ["report_cards", f"--school={bench.school.pk}", f"--term={bench.term.pk}", f"--out={out}"]
        args += [f"--class={class_group.pk}"] if class_group else ["--archive"]
        figures = job_run([*args, "--no-progress"])
    stdout = figures.pop("stdout")
    if peak := PEAK_MEMORY.search(stdout):
        figures["rss_mib"] = float(peak[1])
    match = PER_CARD.search(stdout)
    figures["cards"], figures["per_card"], figures["cpu_per_card"] = (
        (int(match[1]), float(match[2]), float(match[3])) if match else (0, None, None)
    )
    return figures


def report_cards_measure(*, benches: list[BenchSchool], say: Say) -> dict:
    """{name: figures}: the largest class at S and at 4S, and the whole S school (streamed class by class)."""
    runs = {}
    for bench in benches:
        group, size = largest_class(school=bench.school)
        say(f"  {bench.label}: largest class {group.name} ({size} students)")
        runs[f"{bench.label} largest class"] = report_cards_run(bench=bench, class_group=group)
    say(f"  S: the whole school ({benches[0].school.name})")
    runs["S whole school"] = report_cards_run(bench=benches[0], class_group=None)
    return runs


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report_cards_rows(result: BenchResult, runs: dict) -> None:
    for name, figures in runs.items():
        per_card = figures["per_card"]
        result.add(
            "report cards",
            f"{name} ({figures['cards']} cards): per card (CPU) / wall / peak",
            f"{_seconds(per_card)} s ({_seconds(figures['cpu_per_card'])} s) / {figures['seconds']:.1f} s / "
            f"{figures['rss_mib']:.0f} MiB",
            f"<= {CARD_TARGET_SECONDS} s per card",
            per_card is not None and per_card <= CARD_TARGET_SECONDS,
        )
    base = runs["S largest class"]["rss_mib"]
    for name in ("4S largest class", "S whole school"):
        if name in runs:
            value = ratio(runs[name]["rss_mib"], base)
            result.add(
                "report cards", f"peak memory {name} / S largest class", f"{value:.2f}", "~1 (streamed)", value <= 1.25
            )


# --- the run ----------------------------------------------------------------------------------------


def bench_run(
    *,
    students: int,
    weeks: int,
    trials: int = 3,
    requests: int = 200,
    seconds: float = 20,
    saves: int = 20,
    say: Say | None = None,
) -> BenchResult:
    """Build (or reuse) the S and 4S schools, then measure reads, writes and jobs; the table rows with verdicts."""
    say = say or (lambda message: None)
    benches = bench_schools_ensure(students=students, weeks=weeks, say=say)
    say("Refreshing the database's statistics (ANALYZE)")
    database_statistics_refresh()
    result = BenchResult()
    result.notes.append(
        f"S = {students} students, 4S = {4 * students}, {weeks} weeks; database {connection.vendor}; "
        f"reads: median of {trials} trials of up to {requests} requests or {seconds:.0f} s, concurrency 4, "
        f"gunicorn 2 workers; writes: median of {saves} saves; morning burst at 4S: every class's roll call within "
        f"{burst.BURST_SECONDS:.0f} s from {burst.BURST_CLIENTS} clients, {burst.BURST_READERS} reader threads."
    )

    say("Reads and pages")
    reads = reads_measure(benches=benches, trials=trials, count=requests, seconds=seconds, say=say)
    endpoints = ENDPOINTS
    for bench in benches:
        for name in (*endpoints, *map(floor_name, endpoints), "on-the-fly school-health"):
            figures = reads[bench.label, name]
            result.add(
                f"read {bench.label}",
                f"{name} p50 / p95 / req/s (bytes)",
                read_value(figures),
            )
        for name in endpoints:
            value = ratio(reads[bench.label, name]["p50"], reads[bench.label, floor_name(name)]["p50"])
            result.add(f"read {bench.label}", f"{name} / its floor (p50)", f"{value:.2f}x", "<= 3x", value <= 3)
        value = ratio(reads[bench.label, "on-the-fly school-health"]["p50"], reads[bench.label, "school-health"]["p50"])
        at_4s = bench.label == "4S"
        result.add(
            f"read {bench.label}",
            "on-the-fly / summary school-health (p50)",
            f"{value:.1f}x",
            ">= 10x" if at_4s else "(target at 4S)",
            value >= 10 if at_4s else None,
        )
    for name in (*endpoints, *map(floor_name, endpoints), "on-the-fly school-health"):
        value = ratio(reads["4S", name]["p50"], reads["S", name]["p50"])
        flat = name in endpoints
        result.add(
            "growth", f"{name} 4S/S (p50)", f"{value:.2f}", "<= 1.3" if flat else "", value <= 1.3 if flat else None
        )

    say("Requests profiled in process")
    sizes = {key: figures["bytes"] for key, figures in reads.items() if "bytes" in figures}
    page_rows(result, reads, [bench.label for bench in benches])
    profile = requests_profile(benches=benches, sizes=sizes, repeats=max(5, saves))
    profile_rows(result, profile)
    profile_rows(result, pages_profile(benches=benches, repeats=max(5, saves)), section="profile pages")

    say("Writes")
    writes = writes_measure(bench=benches[0], saves=saves)
    write_rows(result, writes)

    say("Morning burst (4S)")
    burst_rows(result, burst_measure(bench=benches[-1], say=say), label=benches[-1].label)

    say("Jobs")
    jobs = {bench.label: jobs_measure(bench=bench) for bench in benches}
    for name in jobs["S"]:
        small, large = jobs["S"][name], jobs["4S"][name]
        for label, figures in (("S", small), ("4S", large)):
            result.add("jobs", f"{name} {label}", f"{figures['seconds']:.1f} s, peak {figures['rss_mib']:.0f} MiB")
        value = ratio(large["seconds"], small["seconds"])
        result.add("jobs", f"{name} 4S/S wall time", f"{value:.2f}", "<= 4.5", value <= 4.5)
        memory = ratio(large["rss_mib"], small["rss_mib"])
        result.add("jobs", f"{name} 4S/S peak memory", f"{memory:.2f}", "~1 (streamed)", memory <= 1.25)
    rebuild = jobs["4S"]["rebuild_analytics"]["seconds"]
    postgres = connection.vendor == "postgresql"
    result.add(
        "jobs",
        "rebuild_analytics 4S wall time",
        f"{rebuild:.1f} s",
        "< 120 s (PostgreSQL)",
        rebuild < 120 if postgres else None,
    )

    say("Report cards")
    report_cards_rows(result, report_cards_measure(benches=benches, say=say))
    return result


def pages_bench(
    *, students: int, weeks: int, trials: int = 3, requests: int = 200, seconds: float = 20, say: Say | None = None
) -> BenchResult:
    """Only the pages (``manage.py bench --pages``): each page beside its endpoint over HTTP, their 4S/S, the
    first-load weight, and the in-process profile of the pages and their endpoints, on the same S and 4S schools."""
    say = say or (lambda message: None)
    benches = bench_schools_ensure(students=students, weeks=weeks, say=say)
    say("Refreshing the database's statistics (ANALYZE)")
    database_statistics_refresh()
    result = BenchResult()
    result.notes.append(
        f"S = {students} students, 4S = {4 * students}, {weeks} weeks; database {connection.vendor}; "
        f"pages and their endpoints: median of {trials} trials of up to {requests} requests or {seconds:.0f} s, "
        "concurrency 4, gunicorn 2 workers."
    )
    say("Pages")
    reads = reads_measure(
        benches=benches, trials=trials, count=requests, seconds=seconds, say=say, analytics=False, with_pages=True
    )
    page_rows(result, reads, [bench.label for bench in benches])
    say("Pages profiled in process")
    profile_rows(result, pages_profile(benches=benches, repeats=10), section="profile pages")
    return result


def burst_bench(*, students: int, weeks: int, say: Say | None = None) -> BenchResult:
    """Only the morning burst (``manage.py bench --burst``), on the 4S school."""
    say = say or (lambda message: None)
    bench = bench_school_ensure(label="4S", students=4 * students, weeks=weeks, say=say)
    say("Refreshing the database's statistics (ANALYZE)")
    database_statistics_refresh()
    result = BenchResult()
    result.notes.append(
        f"4S = {4 * students} students, {weeks} weeks; database {connection.vendor}; morning burst: every class's "
        f"roll call within {burst.BURST_SECONDS:.0f} s from {burst.BURST_CLIENTS} clients, "
        f"{burst.BURST_READERS} reader threads, gunicorn 2 workers."
    )
    say("Morning burst (4S)")
    burst_rows(result, burst_measure(bench=bench, say=say), label=bench.label)
    return result


def report_cards_bench(*, students: int, weeks: int, say: Say | None = None) -> BenchResult:
    """Only the report-card figures (``manage.py bench --report-cards``), on the same S and 4S schools."""
    say = say or (lambda message: None)
    benches = bench_schools_ensure(students=students, weeks=weeks, say=say)
    result = BenchResult()
    result.notes.append(
        f"S = {students} students, 4S = {4 * students}, {weeks} weeks; database {connection.vendor}; "
        "report_cards run as a child process with its worker processes (REPORT_CARDS_PROCESSES="
        f"{settings.REPORT_CARDS_PROCESSES}); peak RSS: the command's plus each worker's."
    )
    say("Report cards")
    report_cards_rows(result, report_cards_measure(benches=benches, say=say))
    return result


def table_text(result: BenchResult) -> str:
    names = ("section", "figure", "value", "target")
    widths = [max(len(getattr(row, name)) for row in result.rows) for name in names]
    lines = []
    for row in result.rows:
        cells = [getattr(row, name).ljust(width) for name, width in zip(names, widths, strict=True)]
        lines.append("  ".join([*cells, row.verdict]).rstrip())
    return "\n".join([*result.notes, "", *lines])


def table_markdown(result: BenchResult) -> str:
    lines = ["| section | figure | measured | target | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {r.section} | {r.figure} | {r.value} | {r.target} | {r.verdict} |" for r in result.rows]
    return "\n".join([*(f"{note}\n" for note in result.notes), *lines, ""])
