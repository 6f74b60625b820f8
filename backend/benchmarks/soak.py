"""The concurrent soak (issue 11): many clients writing the same rows at once through gunicorn on PostgreSQL.

``soak_run`` does it all; ``manage.py soak`` only parses and prints. On a simulated school (created, or reused
by name) it prepares the rows to fight over, starts gunicorn on 127.0.0.1 (pieces of ``benchmarks.service``),
runs the clients (``benchmarks/soak_clients.py``, standard library) in a second process and the two jobs in a
loop as child processes, for at most ``seconds`` and ``max_requests``; then it stops everything it started and
checks: requests by kind and status, 5xx responses and their causes (the server's log), deadlocks (PostgreSQL's
own count for the database, their causes from the logs), ``verify_analytics``, and the audit of every write
(``benchmarks.soak_audit``) plus the invariants the database must hold (no grade above its homework's maximum,
no invoice paid beyond its amount or with a status its payments contradict).
"""

import datetime
import json
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from analytics.models import StudentDailySummary, StudentTermPerformance
from analytics.services import analytics_verify
from attendance.models import Attendance, Lesson
from benchmarks import soak_audit
from benchmarks.service import (
    BACKEND_DIR,
    BenchResult,
    BenchSchool,
    _free_port,
    _server_start,
    bench_school_ensure,
    percentile,
    table_markdown,
    table_text,
)
from core.models import User
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework
from homework.services import homework_create, submission_create
from schools.models import Student, TeachingAssignment

Say = Callable[[str], None]
SEED = 11
HIGH, LOW = Decimal("20.00"), Decimal("10.00")  # the two maxima the office switches the soak's homework between
INVOICE_AMOUNT = Decimal("1000.00")
JOBS = ("calculate_class_ranks", "generate_teacher_metrics")


class SoakRefused(Exception):
    """The soak cannot run here (not PostgreSQL, or a bad option)."""


def soak_school_name(*, students: int, weeks: int) -> str:
    return f"Soak school {students} students x {weeks} weeks (seed {SEED})"


# --- the plan: the rows the clients fight over -------------------------------------------------------


def soak_plan_prepare(*, bench: BenchSchool, run: str, port: int, options: dict) -> dict:
    """The clients' plan; creates this run's homework (2, at the high maximum, 3 submissions each), invoices (3)
    and the office's admin login (a superuser of the soak, its password new each run)."""
    school, term = bench.school, bench.term
    today = school.local_date(timezone.now())
    lessons = []
    in_term = Lesson.objects.filter(class_group__school=school, date__gte=term.start_date, date__lte=today)
    for lesson in in_term.order_by("-date", "-period", "-id")[:20]:
        students = list(
            Student.objects.filter(class_group_id=lesson.class_group_id, active=True).values_list("id", flat=True)
        )
        # The invalid roll call's student: one of another class (or, in a school of one class, no student at all).
        outsider = Student.objects.filter(school=school).exclude(class_group_id=lesson.class_group_id).first()
        outsider = outsider.pk if outsider else 0
        if len(students) >= 3 and all(lesson.class_group_id != seen["class"] for seen in lessons):
            lessons.append(
                {"id": lesson.pk, "class": lesson.class_group_id, "students": students, "outsider": outsider}
            )
        if len(lessons) == 2:
            break
    if not lessons:
        raise SoakRefused(f"{school.name} has no lesson in {term} with three students to call the roll of.")

    homework, submissions = [], []
    assignments = TeachingAssignment.objects.filter(class_group__school=school).select_related("class_group")
    for assignment in assignments.order_by("id")[:2]:
        item = homework_create(
            class_group=assignment.class_group,
            subject=assignment.subject,
            teacher=assignment.teacher,
            title=f"Soak {run} homework {len(homework) + 1}",
            assigned_date=max(term.start_date, today - datetime.timedelta(days=7)),
            due_date=today,
            max_score=HIGH,
        )
        homework.append({"id": item.pk, "title": item.title, "low": float(LOW), "high": float(HIGH)})
        class_students = Student.objects.filter(class_group=assignment.class_group, active=True).order_by("id")[:3]
        for student in class_students:
            submission = submission_create(homework=item, student=student, content="soak")
            submissions.append({"id": submission.pk, "homework": item.pk, "low": float(LOW), "high": float(HIGH)})

    students = list(Student.objects.filter(school=school, active=True, class_group__isnull=False).order_by("id")[:3])
    invoices = []
    for student in students:
        invoice = FeeInvoice(
            student=student, term=term, description=f"Soak {run}", amount=INVOICE_AMOUNT, due_date=term.end_date
        )
        invoice.full_clean()
        invoice.save()
        invoices.append({"id": invoice.pk, "amount": float(INVOICE_AMOUNT)})
    days = sorted(set(in_term.values_list("date", flat=True)))[-3:]
    behaviour = [{"student": student.pk, "date": str(day)} for student, day in zip(students, days, strict=False)]
    comments = []
    for student in students:
        subject = assignments.filter(class_group_id=student.class_group_id).values_list("subject_id", flat=True)
        if subject.first():
            comments.append({"student": student.pk, "term": term.pk, "subject": subject.first()})

    username = f"soak-office-{school.pk}"
    office = User.objects.filter(username=username).first() or User(username=username)
    password = secrets.token_urlsafe(16)
    office.is_staff = office.is_superuser = True
    office.set_password(password)
    office.save()

    return {
        "run": run,
        "seed": int(run) % 1_000_003,
        "port": port,
        "timeout": 60,
        "clients": options["clients"],
        "seconds": options["seconds"],
        "max_requests": options["max_requests"],
        "admin_token": bench.admin_token,
        "office": {"username": office.username, "password": password},
        "lessons": lessons,
        "homework": homework,
        "submissions": submissions,
        "invoices": invoices,
        "behaviour": behaviour,
        "comments": comments,
        "readers": [
            ["read school health", f"/api/analytics/admin/school-health/?school={school.pk}", bench.admin_token],
            ["read teacher performance", "/api/analytics/teacher/my-performance/?weeks=4", bench.teacher_token],
            ["read student overview", f"/api/analytics/student/{bench.student_id}/overview/", bench.admin_token],
        ],
    }


def plan_keys(plan: dict) -> list[tuple]:
    """Every key the plan's writes can touch, except payments (each payment is a new row of its own reference)."""
    keys = [("mark", lesson["id"], student) for lesson in plan["lessons"] for student in lesson["students"]]
    keys += [("grade", submission["id"]) for submission in plan["submissions"]]
    keys += [("homework", homework["id"]) for homework in plan["homework"]]
    keys += [("behaviour", target["student"], target["date"]) for target in plan["behaviour"]]
    keys += [("comment", target["student"], target["term"], target["subject"]) for target in plan["comments"]]
    return keys


def _cents(value: Decimal) -> str:
    return f"{value:.2f}"


def stored_values(keys: list[tuple]) -> dict[tuple, object]:
    """The stored value of each key, in the form the clients record their writes (None: no row)."""
    by_kind = defaultdict(list)
    for key in keys:
        by_kind[key[0]].append(key)
    values: dict[tuple, object] = dict.fromkeys(keys)
    pairs = {(key[1], key[2]) for key in by_kind["mark"]}
    if pairs:
        lessons = {lesson for lesson, _ in pairs}
        for lesson, student, status, note in Attendance.objects.filter(lesson_id__in=lessons).values_list(
            "lesson_id", "student_id", "status", "note"
        ):
            if (lesson, student) in pairs:
                values["mark", lesson, student] = (status, note)
    for submission, score, feedback in Grade.objects.filter(
        submission_id__in=[key[1] for key in by_kind["grade"]]
    ).values_list("submission_id", "score", "feedback"):
        values["grade", submission] = (_cents(score), feedback)
    for pk, maximum, title in Homework.objects.filter(pk__in=[key[1] for key in by_kind["homework"]]).values_list(
        "pk", "max_score", "title"
    ):
        values["homework", pk] = (_cents(maximum), title)
    for amount, reference in Payment.objects.filter(reference__in=[key[1] for key in by_kind["payment"]]).values_list(
        "amount", "reference"
    ):
        values["payment", reference] = (_cents(amount), reference)
    for key in by_kind["behaviour"]:
        row = StudentDailySummary.objects.filter(student_id=key[1], date=key[2]).values_list(
            "behavior_score", flat=True
        )
        values[key] = row.first()
    for key in by_kind["comment"]:
        row = StudentTermPerformance.objects.filter(student_id=key[1], term_id=key[2], subject_id=key[3])
        values[key] = row.values_list("teacher_comment", flat=True).first() or ""
    return values


def _hashable(value):
    return tuple(_hashable(item) for item in value) if isinstance(value, list) else value


def observed_writes(entries: list[dict]) -> list[soak_audit.Write]:
    """The audit's writes from the clients' request lines."""
    writes = []
    for entry in entries:
        label = f"{entry['kind']} -> {entry['status']} (client {entry['client']})"
        for key, value, outcome in entry.get("writes", ()):
            key = _hashable(key)
            if key[0] == "comment" and value is None:
                value = ""
            writes.append(
                soak_audit.Write(
                    key=key,
                    value=_hashable(value),
                    outcome=outcome,
                    sent=entry["sent"],
                    received=entry["received"],
                    label=label,
                )
            )
    return writes


def invariants_broken(*, homework_ids: list[int], invoice_ids: list[int]) -> list[str]:
    """What the database itself must never hold, whatever the interleaving: a grade above its homework's maximum,
    an invoice paid beyond its amount, or an invoice whose status its payments contradict."""
    problems = []
    for grade in Grade.objects.filter(submission__homework_id__in=homework_ids).select_related("submission__homework"):
        maximum = grade.submission.homework.max_score
        if grade.score > maximum or grade.max_score != maximum:
            problems.append(
                f"grade of submission {grade.submission_id}: score {grade.score}, its copied maximum "
                f"{grade.max_score}, the homework's maximum {maximum}"
                + (" (above the maximum)" if grade.score > maximum else " (its percentage uses the stale copy)")
            )
    for invoice in FeeInvoice.objects.filter(pk__in=invoice_ids).annotate(paid=Sum("payments__amount")):
        paid = invoice.paid or Decimal("0")
        Status = FeeInvoice.Status
        expected = Status.PAID if paid >= invoice.amount else Status.PARTIALLY_PAID if paid > 0 else Status.OPEN
        if paid > invoice.amount or invoice.status != expected:
            problems.append(
                f"invoice {invoice.pk}: amount {invoice.amount}, paid {_cents(paid)}, status {invoice.status}"
            )
    return problems


# --- errors and deadlocks -----------------------------------------------------------------------------

_RECORD = re.compile(r"^(Internal Server Error|Service Unavailable|Bad Gateway): (\S+)", re.MULTILINE)
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Detected|Failure|Violation|Deadlock\w*)): ?(.*)$")
_FRAME = re.compile(r'File ".*?/backend/(\w+)/([\w/]+)\.py", line \d+, in (\w+)')
_CONTEXT = re.compile(r"^CONTEXT:\s+(.*)$", re.MULTILINE)
_ROW = re.compile(r"tuple \(\d+,\d+\)")


@dataclass(frozen=True)
class ServerError:
    path: str  # the request path with ids as {id}
    exception: str  # the last exception's class and first line
    cause: str  # PostgreSQL's context (which row lock), and the project's innermost frames

    @property
    def deadlock(self) -> bool:
        return "deadlock" in self.exception.lower()


def server_errors(log: str) -> list[ServerError]:
    """The 5xx responses Django logged (``Internal Server Error: PATH`` and its traceback) in a server's log."""
    errors = []
    starts = list(_RECORD.finditer(log))
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(log)
        errors.append(error_parse(log[match.start() : end], path=match.group(2)))
    return errors


def error_parse(text: str, *, path: str = "") -> ServerError:
    """The exception, the lock it waited for and where in the project it was raised, from one traceback."""
    exceptions = [m for line in text.splitlines() if (m := _EXCEPTION.match(line.strip()))]
    exception = f"{exceptions[-1].group(1).rsplit('.', 1)[-1]}: {exceptions[-1].group(2)}" if exceptions else "?"
    frames = [f"{app}/{module}.{function}" for app, module, function in _FRAME.findall(text)]
    frames = list(dict.fromkeys(frames))  # a chained traceback repeats its frames
    context = _CONTEXT.search(text)
    # The row's position varies from one deadlock to the next; the relation and the code path name the cause.
    parts = [_ROW.sub("a row", context.group(1).strip())] if context else []
    if frames:
        parts.append("in " + " > ".join(frames[-4:]))
    return ServerError(path=re.sub(r"/\d+/", "/{id}/", path), exception=exception, cause="; ".join(parts))


_LOG_ENTRY = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (?:\S+@(\S+) )?(\w+):  (.*)$")
_PROCESS_WAITS = re.compile(r"Process (\d+) waits for (\w+) on ([^;]+); blocked by process (\d+)")
_PROCESS_STATEMENT = re.compile(r"^\s*Process (\d+): (.*)$")


def statement_summary(sql: str) -> str:
    """What a statement locks, in a few words: ``UPDATE homework_grade SET max_score``,
    ``SELECT FROM homework_grade FOR NO KEY UPDATE OF homework_grade, homework_homework``."""
    sql = " ".join(sql.replace('"', "").split())
    if match := re.match(r"UPDATE (\S+) SET (\w+)", sql):
        return f"UPDATE {match.group(1)} SET {match.group(2)}"  # noqa: S608 (a summary printed, never run)
    if match := re.match(r"(DELETE FROM|INSERT INTO) (\S+)", sql):
        return f"{match.group(1)} {match.group(2)}"
    if match := re.match(r"SELECT (pg_\w+)", sql):
        return f"SELECT {match.group(1)}"
    if sql.startswith("SELECT"):
        table = re.search(r" FROM (\S+)", sql)
        locking = re.search(r" (FOR (?:NO KEY )?(?:UPDATE|SHARE)(?: OF [\w, .]+)?)", sql)
        return f"SELECT FROM {table.group(1) if table else '?'}" + (f" {locking.group(1)}" if locking else "")
    return sql[:80]


def postgres_deadlocks(log: str, *, database: str) -> list[str]:
    """Each deadlock PostgreSQL logged for ``database``: the lock waited for, the row, and what each process ran."""
    deadlocks, current = [], None
    for line in log.splitlines():
        entry = _LOG_ENTRY.match(line)
        if entry:
            pid, db, level, message = entry.groups()
            if db == database and level == "ERROR" and message.startswith("deadlock detected"):
                current = {"victim": pid, "waits": [], "statements": {}, "context": ""}
                deadlocks.append(current)
            elif current is not None and pid == current["victim"] and level == "CONTEXT":
                current["context"] = message.strip()
            elif current is not None and pid == current["victim"] and level == "DETAIL":
                current["waits"] += _PROCESS_WAITS.findall(message)
            elif pid != (current or {}).get("victim"):
                current = None
            continue
        if current is not None:
            current["waits"] += _PROCESS_WAITS.findall(line)
            if statement := _PROCESS_STATEMENT.match(line):
                current["statements"][statement.group(1)] = statement_summary(statement.group(2))
    causes = []
    for deadlock in deadlocks:
        victim = deadlock["victim"]
        others = [waiting for waiting, *_ in deadlock["waits"] if waiting != victim]
        parts = [f"refused: {deadlock['statements'].get(victim, '?')}"]
        parts += [f"against: {deadlock['statements'].get(other, '?')}" for other in others]
        lock = "waits for a lock"
        if deadlock["waits"]:
            lock = f"waits for {deadlock['waits'][0][1]} on a {deadlock['waits'][0][2].split()[0]}"
        where = f", {_ROW.sub('a row', deadlock['context'])}" if deadlock["context"] else ""
        causes.append(f"{lock}{where}; " + "; ".join(parts))
    return causes


def postgres_log_path() -> Path | None:
    """The server's log where a Debian-style PostgreSQL writes it, if this process can read it."""
    for path in sorted(Path("/var/log/postgresql").glob("postgresql-*.log")):
        try:
            with open(path, "rb"):
                return path
        except OSError:
            continue
    return None


def deadlocks_count() -> int:
    """PostgreSQL's count of deadlocks detected in this database since its statistics were reset."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


# --- the jobs' loop -----------------------------------------------------------------------------------


@dataclass
class JobRecord:
    name: str
    status: str  # "ok" or "exit N"
    seconds: float
    error: ServerError | None = None


def _job_command(name: str, bench: BenchSchool) -> list[str]:
    school, term = bench.school, bench.term
    if name == "calculate_class_ranks":
        args = [f"--school={school.pk}", f"--term={term.pk}"]
    else:
        today = timezone.localdate()
        args = [f"--school={school.pk}", f"--from={max(term.start_date, today - datetime.timedelta(days=14))}"]
        args.append(f"--to={today}")
    return [sys.executable, str(BACKEND_DIR / "manage.py"), name, *args]


class JobsLoop:
    """Each job run over and over as a child process (one at a time per job) until stopped."""

    def __init__(self, bench: BenchSchool):
        self.bench, self.records, self.stopping = bench, [], threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(name,), daemon=True) for name in JOBS]
        self.children: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _loop(self, name: str) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            child = subprocess.Popen(  # noqa: S603 (our own argv)
                _job_command(name, self.bench), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            self.children[name] = child
            try:
                _, stderr = child.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                child.kill()
                _, stderr = child.communicate()
            status = "ok" if child.returncode == 0 else f"exit {child.returncode}"
            error = error_parse(stderr) if child.returncode else None
            self.records.append(JobRecord(name, status, time.monotonic() - started, error))

    def stop(self, *, timeout: float = 120) -> None:
        self.stopping.set()
        started = [thread for thread in self.threads if thread.ident is not None]
        deadline = time.monotonic() + timeout
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        for child in list(self.children.values()):
            if child.poll() is None:
                child.kill()
                child.wait()
        for thread in started:
            thread.join(10)


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class SoakResult(BenchResult):
    details: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def _stop(process: subprocess.Popen | None, *, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def soak_run(
    *,
    clients: int = 16,
    seconds: float = 180,
    students: int = 300,
    weeks: int = 2,
    max_requests: int = 100_000,
    workers: int = 4,
    postgres_log: Path | None = None,
    port: int | None = None,
    say: Say | None = None,
) -> SoakResult:
    """Run the soak and check everything afterwards; the table's rows, with a verdict on each target."""
    say = say or (lambda message: None)
    if not (1 <= clients <= 64 and 1 <= seconds <= 3600 and 1 <= max_requests <= 1_000_000 and 1 <= workers <= 16):
        raise SoakRefused("Give 1 to 64 clients, 1 to 3600 seconds, 1 to 1,000,000 requests and 1 to 16 workers.")
    if port is not None and not 1024 <= port <= 65535:
        raise SoakRefused("Give a port from 1024 to 65535 (or none: a free one is chosen).")
    if not (20 <= students <= 100_000 and 1 <= weeks <= 52):
        raise SoakRefused("Give 20 to 100,000 students and 1 to 52 weeks for the simulated school.")
    if connection.vendor != "postgresql":
        raise SoakRefused(
            f"The soak needs PostgreSQL (this database is {connection.vendor}): row locks, deadlocks and "
            "concurrent writers are what it tests. Set DATABASE_URL=postgres://..."
        )
    name = soak_school_name(students=students, weeks=weeks)
    bench = bench_school_ensure(label="soak", students=students, weeks=weeks, say=say, name=name)
    run = timezone.now().strftime("%Y%m%d%H%M%S")
    port = port or _free_port()
    plan = soak_plan_prepare(
        bench=bench,
        run=run,
        port=port,
        options={"clients": clients, "seconds": seconds, "max_requests": max_requests},
    )
    before = stored_values(plan_keys(plan))
    deadlocks_before = deadlocks_count()
    postgres_log = postgres_log or postgres_log_path()
    log_offset = postgres_log.stat().st_size if postgres_log else 0
    threads = max(1, -(-clients // workers))  # enough server threads for every client at once

    with tempfile.TemporaryDirectory(prefix="soak-") as directory:
        directory = Path(directory)
        (directory / "plan.json").write_text(json.dumps(plan))
        out = directory / "requests.jsonl"
        server_log_path = directory / "server.log"
        server = clients_process = None
        clients_killed = False
        jobs = JobsLoop(bench)
        started = time.monotonic()
        wall = None
        with open(server_log_path, "w") as server_log:
            try:
                say(f"Starting gunicorn ({workers} workers x {threads} threads) on 127.0.0.1:{port}")
                server = _server_start(port, workers=workers, threads=threads, preload=True, log=server_log)
                say(f"{clients} clients for up to {seconds:.0f} s or {max_requests} requests, and the jobs in a loop")
                started = time.monotonic()
                clients_process = subprocess.Popen(  # noqa: S603 (our own argv)
                    [
                        sys.executable,
                        str(Path(__file__).parent / "soak_clients.py"),
                        str(directory / "plan.json"),
                        str(out),
                    ]
                )
                jobs.start()
                # The clients stop by themselves: after their preparation, T seconds and their last answers.
                limit = started + seconds + 3 * plan["timeout"]
                while clients_process.poll() is None and time.monotonic() < limit:
                    time.sleep(min(10, max(1, seconds / 6)))
                    lines = out.read_text().splitlines() if out.exists() else []
                    failing = sum(1 for line in lines if '"status": 5' in line)
                    elapsed = time.monotonic() - started
                    say(f"  {elapsed:5.0f} s: {len(lines)} requests, {failing} 5xx, {len(jobs.records)} job runs")
                wall = time.monotonic() - started
                say("Clients done; waiting for the jobs' current runs, then stopping the server")
            finally:
                if clients_process is not None and clients_process.poll() is None:
                    clients_killed = True
                _stop(clients_process, timeout=5)
                jobs.stop()
                _stop(server)
                # The office's login was for this run only.
                User.objects.filter(username=plan["office"]["username"]).update(password=make_password(None))
        wall = wall or time.monotonic() - started
        entries = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
        log = server_log_path.read_text()

    say("Checking: deadlocks, the audit, the invariants, verify_analytics")
    time.sleep(1)  # the server's backends have exited, so their statistics are flushed
    deadlocks = deadlocks_count() - deadlocks_before
    logged_deadlocks = None
    if postgres_log:
        with open(postgres_log, "rb") as log_file:
            log_file.seek(log_offset)
            appended = log_file.read().decode("utf-8", "replace")
        logged_deadlocks = postgres_deadlocks(appended, database=connection.settings_dict["NAME"])
    writes = observed_writes(entries)
    keys = sorted({write.key for write in writes} | set(before), key=repr)
    stored = stored_values(keys)
    audit = soak_audit.audit(writes=writes, stored=stored, before=before)
    invariants = invariants_broken(
        homework_ids=[item["id"] for item in plan["homework"]], invoice_ids=[item["id"] for item in plan["invoices"]]
    )
    differences = analytics_verify(school_id=bench.school.pk)
    return soak_result(
        plan=plan,
        entries=entries,
        jobs=jobs.records,
        errors=server_errors(log),
        deadlocks=deadlocks,
        logged_deadlocks=logged_deadlocks,
        audit=audit,
        invariants=invariants,
        differences=[str(difference) for difference in differences],
        wall=wall,
        clients_killed=clients_killed,
        school=bench.school.name,
        workers=workers,
        threads=threads,
    )


def soak_result(
    *,
    plan: dict,
    entries: list[dict],
    jobs: list[JobRecord],
    errors: list[ServerError],
    deadlocks: int,
    audit: soak_audit.AuditResult,
    logged_deadlocks: list[str] | None = None,
    invariants: list[str],
    differences: list[str],
    wall: float,
    clients_killed: bool = False,
    school: str = "",
    workers: int = 0,
    threads: int = 0,
) -> SoakResult:
    """The table: requests by kind and status with p50/p95, the jobs, then the targets; details below it."""
    result = SoakResult()
    sent = [entry["sent"] for entry in entries]
    span = max(entry["received"] for entry in entries) - min(sent) if entries else 0.0
    result.notes.append(
        f"{plan['clients']} clients sending requests for {span:.0f} s (limit {plan['seconds']:.0f} s or "
        f"{plan['max_requests']} requests; {wall:.0f} s with their preparation and last answers) "
        f"on {school}; gunicorn {workers} workers x {threads} threads on 127.0.0.1; database {connection.vendor}; "
        f"{len(plan['lessons'])} lessons, {len(plan['submissions'])} submissions of {len(plan['homework'])} homework, "
        f"{len(plan['invoices'])} invoices, {len(plan['behaviour'])} behaviour and {len(plan['comments'])} comment "
        "keys."
    )
    if clients_killed:
        result.notes.append(
            "The clients did not stop by themselves and were killed: requests in flight were not recorded, so a "
            "write of theirs that committed shows in the audit as a value no client wrote."
        )
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        by_kind[entry["kind"]].append(entry)
    for kind in sorted(by_kind):
        statuses = Counter(str(entry["status"]) for entry in by_kind[kind])
        latencies = [(entry["received"] - entry["sent"]) * 1000 for entry in by_kind[kind]]
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        value = f"{counts}; p50 {percentile(latencies, 0.5):.0f} ms / p95 {percentile(latencies, 0.95):.0f} ms"
        result.add("requests", kind, value)
    for name in JOBS:
        runs = [record for record in jobs if record.name == name]
        statuses = Counter(record.status for record in runs)
        times = [record.seconds for record in runs]
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())) or "no run"
        timing = f"; p50 {percentile(times, 0.5):.1f} s" if times else ""
        result.add("jobs", f"{name} (in a loop)", counts + timing)

    server_errors_count = sum(1 for entry in entries if isinstance(entry["status"], int) and entry["status"] >= 500)
    no_answer = sum(1 for entry in entries if not isinstance(entry["status"], int))
    failed_jobs = sum(1 for record in jobs if record.status != "ok")
    lost, refused_stored = audit.count(soak_audit.LOST), audit.count(soak_audit.REFUSED_STORED)
    targets = [
        ("responses 5xx", server_errors_count, True),
        ("requests without an answer", no_answer, True),
        ("job runs failed", failed_jobs, True),
        ("deadlocks (pg_stat_database)", deadlocks, True),
        ("verify_analytics: differing rows", len(differences), True),
        ("lost acknowledged writes", lost, True),
        ("refused writes stored", refused_stored, True),
        ("invariants broken (grades and their homework's maximum, invoices and payments)", len(invariants), True),
    ]
    result.add(
        "audit",
        "writes audited",
        f"{audit.acknowledged} acknowledged, {audit.refused} refused, {audit.unknown} unknown, on {audit.keys} keys",
    )
    for figure, count, _ in targets:
        result.add("targets", figure, str(count), "0", count == 0)
        if count:
            result.misses.append(f"{figure}: {count}")

    causes = Counter((error.path, error.exception, error.cause) for error in errors)
    causes.update(("job " + record.name, record.error.exception, record.error.cause) for record in jobs if record.error)
    if causes:
        result.details.append("Server errors and failed jobs by cause (from the server's log and the jobs' output):")
        for (path, exception, cause), count in causes.most_common():
            result.details.append(f"- {count} x {path}: {exception}" + (f" ({cause})" if cause else ""))
    if logged_deadlocks is None:
        result.notes.append("PostgreSQL's log was not readable: deadlocks are counted, their causes from the server.")
    elif logged_deadlocks:
        result.details.append(f"Deadlocks in PostgreSQL's log ({len(logged_deadlocks)}), by cause:")
        for cause, count in Counter(logged_deadlocks).most_common():
            result.details.append(f"- {count} x {cause}")
    sections = (
        ("Audit findings", [str(finding) for finding in audit.findings]),
        ("Invariants broken", invariants),
        ("verify_analytics differences", differences),
    )
    for title, lines in sections:
        if lines:
            result.details.append(f"{title} ({len(lines)}{', the first 20' if len(lines) > 20 else ''}):")
            result.details += [f"- {line}" for line in lines[:20]]
    return result


def soak_text(result: SoakResult) -> str:
    return "\n".join([table_text(result), "", *result.details])


def soak_markdown(result: SoakResult) -> str:
    return "\n".join([table_markdown(result), *result.details, ""])
