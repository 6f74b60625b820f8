"""The soak's pieces: refusing SQLite, the plan on a simulated school, stored values in the audit's form, the
invariants, the causes read from the server's and PostgreSQL's logs, the table; and a small run in process
(PostgreSQL: the clients against a live server, then the audit)."""

import datetime
import json
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from analytics.services import behavior_score_set, teacher_comment_set
from attendance.models import Lesson
from attendance.services import roll_call_record
from benchmarks import soak_clients
from benchmarks.service import bench_school_ensure
from benchmarks.soak import (
    HIGH,
    JobRecord,
    SoakRefused,
    _stop,
    error_parse,
    invariants_broken,
    observed_writes,
    plan_keys,
    postgres_deadlocks,
    server_errors,
    soak_markdown,
    soak_plan_prepare,
    soak_result,
    soak_run,
    soak_text,
    statement_summary,
    stored_values,
)
from benchmarks.soak_audit import ACKNOWLEDGED, LOST, REFUSED, REFUSED_STORED, audit
from finance.models import FeeInvoice, Payment
from finance.services import payment_create
from homework.models import Grade, HomeworkSubmission
from homework.services import grade_record
from schools.models import AcademicTerm, Subject

IN_THE_WEEK = datetime.datetime(2026, 9, 9, 12, tzinfo=datetime.UTC)

SERVER_LOG = """[2026-12-01 02:38:40 +0000] [25400] [INFO] Booting worker with pid: 25401
Internal Server Error: /api/submissions/1279/grade/
Traceback (most recent call last):
  File "/srv/.venv/lib/python3.11/site-packages/django/db/backends/utils.py", line 105, in _execute
    return self.cursor.execute(sql, params)
psycopg.errors.DeadlockDetected: deadlock detected
DETAIL:  Process 25462 waits for ShareLock on transaction 5593; blocked by process 25515.
Process 25515 waits for ShareLock on transaction 5588; blocked by process 25462.
HINT:  See server log for query details.
CONTEXT:  while locking tuple (0,62) in relation "homework_homework"

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/backend/homework/apis.py", line 104, in post
    grade, created = grade_record(submission=submission, graded_by=request.user, **serializer.validated_data)
  File "/srv/backend/homework/services.py", line 69, in grade_record
    grade.save()
  File "/srv/backend/analytics/receivers.py", line 40, in before_save
    keys = source.keys(instance)
  File "/srv/backend/analytics/keys.py", line 210, in grade_keys
    return _locked(query)
  File "/srv/backend/analytics/keys.py", line 99, in _locked
    return list(query)
django.db.utils.OperationalError: deadlock detected
DETAIL:  Process 25462 waits for ShareLock on transaction 5593; blocked by process 25515.
CONTEXT:  while locking tuple (0,62) in relation "homework_homework"
Internal Server Error: /admin/homework/homework/62/change/
Traceback (most recent call last):
  File "/srv/backend/homework/models.py", line 64, in save
    Grade.objects.filter(submission__homework_id=self.pk).exclude(max_score=self.max_score).update(
django.db.utils.IntegrityError: new row for relation "homework_grade" violates check constraint "grade_score_within_max"
DETAIL:  Failing row contains (1285, 13.00, 10.00).
"""

POSTGRES_LOG = """2026-12-01 02:38:46.768 UTC [25462] postgres@soak_run ERROR:  deadlock detected
2026-12-01 02:38:46.768 UTC [25462] postgres@soak_run DETAIL:  Process 25462 waits for ShareLock on transaction 5593; blocked by process 25515.
\tProcess 25515 waits for ShareLock on transaction 5588; blocked by process 25462.
\tProcess 25462: SELECT "homework_grade"."id" FROM "homework_grade" INNER JOIN "homework_homework" ON (1 = 1) WHERE "homework_grade"."id" IN (1279) ORDER BY "homework_grade"."submission_id" ASC FOR NO KEY UPDATE OF "homework_grade", "homework_homework"
\tProcess 25515: UPDATE "homework_grade" SET "max_score" = 10.00 WHERE "homework_grade"."id" IN (SELECT 1)
2026-12-01 02:38:46.768 UTC [25462] postgres@soak_run HINT:  See server log for query details.
2026-12-01 02:38:46.768 UTC [25462] postgres@soak_run CONTEXT:  while locking tuple (0,62) in relation "homework_homework"
2026-12-01 02:38:46.768 UTC [25462] postgres@soak_run STATEMENT:  SELECT "homework_grade"."id" FROM "homework_grade"
2026-12-01 02:38:47.100 UTC [30001] postgres@someone_else ERROR:  deadlock detected
2026-12-01 02:38:47.100 UTC [30001] postgres@someone_else DETAIL:  Process 30001 waits for ShareLock on transaction 9; blocked by process 30002.
\tProcess 30001: DELETE FROM "x"
2026-12-01 02:39:48.164 UTC [2203] LOG:  checkpoint starting: immediate force wait
"""  # noqa: E501


def test_options_out_of_bounds_are_refused():
    for options in (
        {"clients": 0},
        {"seconds": 0},
        {"max_requests": 0},
        {"students": 5},
        {"workers": 99},
        {"port": 80},
    ):
        with pytest.raises(SoakRefused):
            soak_run(**options)


def test_sqlite_is_refused_clearly():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal of SQLite")
    with pytest.raises(CommandError, match="The soak needs PostgreSQL"):
        call_command("soak", "--clients", "2", "--seconds", "5")


def test_server_errors_name_the_exception_the_row_lock_and_the_code_path():
    first, second = server_errors(SERVER_LOG)
    assert first.path == "/api/submissions/{id}/grade/"
    assert first.exception == "OperationalError: deadlock detected"
    assert first.deadlock
    assert first.cause == (
        'while locking a row in relation "homework_homework"; in homework/services.grade_record > '
        "analytics/receivers.before_save > analytics/keys.grade_keys > analytics/keys._locked"
    )
    assert second.path == "/admin/homework/homework/{id}/change/"
    assert second.exception.startswith("IntegrityError: new row for relation")
    assert not second.deadlock
    assert second.cause == "in homework/models.save"
    assert (
        error_parse("CommandError: 1 run(s) refused or failed").exception == "CommandError: 1 run(s) refused or failed"
    )


def test_postgres_deadlocks_of_this_database_with_both_statements():
    assert postgres_deadlocks(POSTGRES_LOG, database="soak_run") == [
        'waits for ShareLock on a transaction, while locking a row in relation "homework_homework"; '
        "refused: SELECT FROM homework_grade FOR NO KEY UPDATE OF homework_grade, homework_homework; "
        "against: UPDATE homework_grade SET max_score"
    ]
    assert postgres_deadlocks(POSTGRES_LOG, database="other") == []


def test_statement_summary():
    assert statement_summary('DELETE FROM "attendance_attendance" WHERE x') == "DELETE FROM attendance_attendance"
    assert statement_summary('INSERT INTO "homework_grade" ("a") VALUES (1)') == "INSERT INTO homework_grade"
    assert statement_summary("SELECT pg_advisory_xact_lock(1, 2)") == "SELECT pg_advisory_xact_lock"
    assert statement_summary('SELECT "a" FROM "finance_feeinvoice" WHERE id = 1 FOR UPDATE') == (
        "SELECT FROM finance_feeinvoice FOR UPDATE"
    )


def _plan(bench):
    return soak_plan_prepare(
        bench=bench, run="20260909120000", port=1, options={"clients": 8, "seconds": 5, "max_requests": 40}
    )


@pytest.mark.django_db(transaction=True)
def test_plan_stored_values_and_invariants_on_a_simulated_school():
    with time_machine.travel(IN_THE_WEEK, tick=False):
        bench = bench_school_ensure(label="soak", students=20, weeks=1, say=lambda message: None, name="Soak test")
        plan = _plan(bench)
        assert len(plan["lessons"]) >= 1 and plan["homework"] and plan["invoices"]
        assert len(plan["submissions"]) == 3 * len(plan["homework"])
        keys = plan_keys(plan)
        before = stored_values(keys)
        # The run's own homework, fresh: at the high maximum, its submissions ungraded.
        for homework in plan["homework"]:
            assert before["homework", homework["id"]] == (str(HIGH), homework["title"])
        assert all(before["grade", submission["id"]] is None for submission in plan["submissions"])

        # Writes through the services, read back in the form the clients record them.
        admin = bench.school.admins.first().user
        lesson_plan = plan["lessons"][0]
        lesson = Lesson.objects.get(pk=lesson_plan["id"])
        kept, left_out = lesson_plan["students"][:-1], lesson_plan["students"][-1]
        roll_call_record(
            lesson=lesson, marks=[{"student_id": s, "status": "LATE", "note": "w1"} for s in kept], recorded_by=admin
        )
        submission = HomeworkSubmission.objects.get(pk=plan["submissions"][0]["id"])
        grade_record(submission=submission, score=Decimal("7.5"), feedback="w2", graded_by=admin)
        invoice = FeeInvoice.objects.get(pk=plan["invoices"][0]["id"])
        payment_create(invoice=invoice, amount=Decimal("12.3"), method="CASH", reference="w3")
        behaviour, comment = plan["behaviour"][0], plan["comments"][0]
        student = invoice.student.__class__.objects.get(pk=behaviour["student"])
        behavior_score_set(student=student, day=datetime.date.fromisoformat(behaviour["date"]), score=4)
        commented = student.__class__.objects.get(pk=comment["student"])
        term, subject = AcademicTerm.objects.get(pk=comment["term"]), Subject.objects.get(pk=comment["subject"])
        teacher_comment_set(student=commented, term=term, subject=subject, comment="w4")

        stored = stored_values([*keys, ("payment", "w3"), ("payment", "never")])
    assert stored["mark", lesson.pk, kept[0]] == ("LATE", "w1")
    assert stored["mark", lesson.pk, left_out] is None
    assert stored["grade", submission.pk] == ("7.50", "w2")
    assert stored["payment", "w3"] == ("12.30", "w3")
    assert stored["payment", "never"] is None
    assert stored["behaviour", behaviour["student"], behaviour["date"]] == 4
    assert stored["comment", comment["student"], comment["term"], comment["subject"]] == "w4"

    homework_ids = [item["id"] for item in plan["homework"]]
    invoice_ids = [item["id"] for item in plan["invoices"]]
    assert invariants_broken(homework_ids=homework_ids, invoice_ids=invoice_ids) == []
    # The race of issue 11 (a grade whose copied maximum is stale) cannot be stored any more: the database keeps
    # the copy (homework migration 0002) and its CHECK refuses a maximum below a grade, so the check stays quiet.
    Homework = submission.homework.__class__
    with pytest.raises(IntegrityError), transaction.atomic():
        Homework.objects.filter(pk=submission.homework_id).update(max_score=Decimal("5"))
    Homework.objects.filter(pk=submission.homework_id).update(max_score=Decimal("30"))
    assert invariants_broken(homework_ids=homework_ids, invoice_ids=[]) == []
    # An invoice whose status its payments contradict is reported.
    FeeInvoice.objects.filter(pk=invoice.pk).update(status=FeeInvoice.Status.PAID)
    assert invariants_broken(homework_ids=homework_ids, invoice_ids=invoice_ids) == [
        f"invoice {invoice.pk}: amount 1000.00, paid 12.30, status PAID",
    ]


def test_observed_writes_from_request_lines():
    entries = [
        {
            "client": 3,
            "kind": "grade",
            "status": 201,
            "sent": 1.0,
            "received": 2.0,
            "writes": [[["grade", 5], ["7.50", "w1"], ACKNOWLEDGED]],
        },
        {
            "client": 4,
            "kind": "comment",
            "status": 400,
            "sent": 1.5,
            "received": 2.5,
            "writes": [[["comment", 1, 2, 3], None, REFUSED]],
        },
        {"client": 5, "kind": "read school health", "status": 200, "sent": 1.0, "received": 1.1},
    ]
    grade, comment = observed_writes(entries)
    assert (grade.key, grade.value, grade.outcome, grade.sent, grade.received) == (
        ("grade", 5),
        ("7.50", "w1"),
        ACKNOWLEDGED,
        1.0,
        2.0,
    )
    assert grade.label == "grade -> 201 (client 3)"
    assert (comment.key, comment.value) == (("comment", 1, 2, 3), "")  # a cleared comment is stored as ""


def test_result_table_marks_each_miss_and_lists_the_causes():
    plan = {"clients": 2, "seconds": 10, "max_requests": 50, "lessons": [1], "submissions": [1, 2], "homework": [1]}
    plan |= {"invoices": [1], "behaviour": [], "comments": []}
    entries = [
        {"client": 0, "kind": "grade", "status": 200, "sent": 0.0, "received": 0.010},
        {"client": 0, "kind": "grade", "status": 200, "sent": 1.0, "received": 1.030},
        {"client": 1, "kind": "grade", "status": 500, "sent": 1.0, "received": 1.020},
        {"client": 1, "kind": "payment", "status": "RemoteDisconnected", "sent": 2.0, "received": 2.5},
    ]
    writes = observed_writes(
        [
            {
                "client": 0,
                "kind": "grade",
                "status": 200,
                "sent": 0,
                "received": 1,
                "writes": [[["grade", 1], "a", ACKNOWLEDGED]],
            }
        ]
    )
    result = soak_result(
        plan=plan,
        entries=entries,
        jobs=[JobRecord("calculate_class_ranks", "ok", 2.0), JobRecord("calculate_class_ranks", "exit 1", 4.0)],
        errors=server_errors(SERVER_LOG),
        deadlocks=1,
        logged_deadlocks=postgres_deadlocks(POSTGRES_LOG, database="soak_run"),
        audit=audit(writes=writes, stored={}, before={}),
        invariants=[],
        differences=["StudentDailySummary(1, 2026-09-09) changed: behavior_score: stored 3, expected None"],
        wall=10.0,
    )
    rows = {(row.section, row.figure): row for row in result.rows}
    assert rows["requests", "grade"].value == "200: 2, 500: 1; p50 20 ms / p95 29 ms"
    assert rows["requests", "payment"].value.startswith("RemoteDisconnected: 1;")
    assert rows["jobs", "calculate_class_ranks (in a loop)"].value == "exit 1: 1, ok: 1; p50 3.0 s"
    assert rows["jobs", "generate_teacher_metrics (in a loop)"].value == "no run"
    verdicts = {row.figure: (row.value, row.verdict) for row in result.rows if row.section == "targets"}
    assert verdicts == {
        "responses 5xx": ("1", "MISS"),
        "requests without an answer": ("1", "MISS"),
        "job runs failed": ("1", "MISS"),
        "deadlocks (pg_stat_database)": ("1", "MISS"),
        "verify_analytics: differing rows": ("1", "MISS"),
        "lost acknowledged writes": ("1", "MISS"),
        "refused writes stored": ("0", "PASS"),
        "invariants broken (grades and their homework's maximum, invoices and payments)": ("0", "PASS"),
    }
    assert len(result.misses) == 6
    text = soak_text(result)
    assert "- 1 x /api/submissions/{id}/grade/: OperationalError: deadlock detected" in text
    assert "Deadlocks in PostgreSQL's log (1), by cause:" in text
    assert f"- {LOST}: ('grade', 1): stored None, expected 'a'" in text
    markdown = soak_markdown(result)
    assert "| targets | responses 5xx | 1 | 0 | MISS |" in markdown


@pytest.mark.django_db(transaction=True)
def test_a_small_run_in_process_is_audited_clean(live_server, tmp_path, settings):
    """Every role's client against a live server, one client after the other (the races are the soak's to find;
    this checks the pipeline: requests recorded, values read back, the audit), then the audit finds nothing."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"analytics": "100000/second"}}
    with time_machine.travel(IN_THE_WEEK, tick=False):
        bench = bench_school_ensure(label="soak", students=20, weeks=1, say=lambda message: None, name="Soak test")
        plan = _plan(bench)
        plan["port"] = int(live_server.url.rsplit(":", 1)[1])
        before = stored_values(plan_keys(plan))
        entries = []
        for index in range(len(soak_clients.ROLES)):
            out = tmp_path / f"client-{index}.jsonl"
            recorder = soak_clients.Recorder(str(out), max_requests=8, deadline=time.monotonic() + 600)
            client = soak_clients.Client(index=index, plan=plan, recorder=recorder)
            client.prepare()
            client.run()
            recorder.close()
            entries += [json.loads(line) for line in out.read_text().splitlines()]
        writes = observed_writes(entries)
        stored = stored_values(sorted({write.key for write in writes} | set(before), key=repr))
        result = audit(writes=writes, stored=stored, before=before)
        homework_ids = [item["id"] for item in plan["homework"]]
        invariants = invariants_broken(homework_ids=homework_ids, invoice_ids=[item["id"] for item in plan["invoices"]])
    kinds = {entry["kind"].removesuffix(" (invalid)") for entry in entries}
    assert kinds >= {"roll call", "grade", "payment", "admin login", "admin homework max_score", "read school health"}
    assert all(isinstance(entry["status"], int) and entry["status"] < 500 for entry in entries), entries
    statuses = {(entry["kind"], entry["status"]) for entry in entries}
    assert ("admin homework max_score", 302) in statuses  # the office saved the homework through the admin
    assert result.acknowledged > 0
    assert result.findings == []
    assert invariants == []
    assert Payment.objects.filter(reference__startswith="soak 20260909120000-").count() == sum(
        1 for write in writes if write.key[0] == "payment" and write.outcome == ACKNOWLEDGED
    )

    # The same pipeline finds a lost write and a stored refused one, made by hand in the database.
    graded = [write for write in writes if write.key[0] == "grade" and write.outcome == ACKNOWLEDGED and write.value]
    last = max(graded, key=lambda write: write.received)
    Grade.objects.filter(submission_id=last.key[1]).update(feedback="overwritten")
    refused = next(write for write in writes if write.key[0] == "payment" and write.outcome == REFUSED)
    amount, reference = refused.value
    Payment.objects.create(
        invoice_id=plan["invoices"][0]["id"], amount=Decimal(amount), method="CASH", reference=reference
    )
    stored = stored_values(sorted({write.key for write in writes} | set(before), key=repr))
    findings = {finding.key: finding for finding in audit(writes=writes, stored=stored, before=before).findings}
    assert set(findings) == {last.key, refused.key}
    assert findings[last.key].kind == LOST
    assert findings[last.key].stored == (last.value[0], "overwritten")
    assert findings[refused.key].kind == REFUSED_STORED


IGNORES_TERMINATE = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)"
)


def test_stop_ends_a_child_and_kills_one_that_ignores_terminate():
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    _stop(polite, timeout=10)
    assert polite.returncode is not None
    stubborn = subprocess.Popen(  # noqa: S603 (our own argv)
        [sys.executable, "-c", IGNORES_TERMINATE],
        stdout=subprocess.PIPE,
    )
    stubborn.stdout.readline()  # its handler is in place
    _stop(stubborn, timeout=0.5)
    assert stubborn.returncode == -signal.SIGKILL
    _stop(None)  # nothing started: nothing to do
