"""The job lock and run record: a second run at once is refused, a failing run is recorded and lets go."""

import datetime
import io
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from analytics import jobs
from analytics.models import JobRun, StudentTermPerformance, StudentTermStanding
from tests import factories


def ranked_school():
    school = factories.SchoolFactory(name="Lakeside")
    term = factories.TermFactory(school=school)
    maths = factories.SubjectFactory(school=school)
    group = factories.ClassGroupFactory(school=school)
    for average in ("90.00", "80.00", "80.00"):
        StudentTermPerformance.objects.create(
            student=factories.StudentFactory(school=school, class_group=group),
            term=term,
            subject=maths,
            school=school,
            average_grade=average,
        )
    return term


def ranks(term):
    return sorted(StudentTermPerformance.objects.filter(term=term).values_list("rank", flat=True), key=str)


def running_row(term, *, heartbeat_age: datetime.timedelta) -> JobRun:
    moment = timezone.now() - heartbeat_age
    return JobRun.objects.create(
        job=JobRun.Job.CLASS_RANKS,
        school=term.school,
        term=term,
        period_start=term.start_date,
        period_end=term.end_date,
        status=JobRun.Status.RUNNING,
        worker="elsewhere:42",
        started_at=moment,
        heartbeat_at=moment,
    )


@pytest.mark.django_db
def test_a_run_started_while_another_runs_is_refused_and_recorded(monkeypatch):
    term = ranked_school()
    calculate = jobs.class_ranks_calculate
    attempts = []

    def calculate_and_try_again(*, term):
        with pytest.raises(jobs.JobAlreadyRunning) as refused:
            jobs.class_ranks_run(term=term)
        attempts.append(refused.value.run)
        return calculate(term=term)

    monkeypatch.setattr(jobs, "class_ranks_calculate", calculate_and_try_again)
    run = jobs.class_ranks_run(term=term)

    assert run.status == JobRun.Status.SUCCEEDED
    assert ranks(term) == [1, 2, 2]
    [refused] = attempts
    refused.refresh_from_db()
    assert refused.status == JobRun.Status.REFUSED
    assert f"refused, run {run.pk} (" in refused.summary
    assert refused.finished_at is not None
    assert not JobRun.objects.filter(status=JobRun.Status.RUNNING).exists()


@contextmanager
def lock_held_elsewhere(job: str, school_id: int):
    """On PostgreSQL, another session (a live process) holds the job's advisory lock while the block runs."""
    if connection.vendor != "postgresql":
        yield
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", list(jobs.job_lock_key(job, school_id)))
        yield
    finally:
        other.close()  # its session ends: PostgreSQL releases the lock, as when a process dies


@pytest.mark.django_db
def test_a_live_lock_row_refuses_the_command_and_an_abandoned_one_is_taken_over():
    term = ranked_school()
    holder = running_row(term, heartbeat_age=datetime.timedelta(minutes=5))

    err = io.StringIO()
    with lock_held_elsewhere(JobRun.Job.CLASS_RANKS, term.school_id):
        with pytest.raises(CommandError, match="1 run\\(s\\) refused or failed"):
            call_command("calculate_class_ranks", "--term", str(term.pk), stdout=io.StringIO(), stderr=err)
        assert f"refused, run {holder.pk} (elsewhere:42) has held the lock since" in err.getvalue()
        assert ranks(term) == [None, None, None]
        if connection.vendor == "postgresql":
            # A live process keeps its lock however old its heartbeat: never two runs at once.
            JobRun.objects.filter(pk=holder.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(hours=2))
            with pytest.raises(CommandError):
                call_command("calculate_class_ranks", "--term", str(term.pk), stdout=io.StringIO(), stderr=err)

    if connection.vendor != "postgresql":
        # SQLite has no lock that dies with its process: the row is taken over once its heartbeat is stale.
        JobRun.objects.filter(pk=holder.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=31))
    out = io.StringIO()
    call_command("calculate_class_ranks", "--term", str(term.pk), stdout=out)
    assert "6 rows changed (3 subject ranks, 3 overall standings)" in out.getvalue()
    holder.refresh_from_db()
    assert holder.status == JobRun.Status.FAILED
    if connection.vendor == "postgresql":
        assert holder.error.startswith("Abandoned: its process no longer holds the job's lock")
    else:
        assert holder.error.startswith("Abandoned: no sign of life for over 0:30:00")
    assert ranks(term) == [1, 2, 2]


@pytest.mark.django_db
def test_a_run_that_fails_halfway_leaves_the_data_as_before_is_recorded_and_releases_the_lock(monkeypatch):
    term = ranked_school()
    # The subject ranks are written, then the standings statement fails: the term's transaction rolls back.
    monkeypatch.setattr(jobs, "_STANDINGS_SQL", "INSERT INTO no_such_table VALUES (%s, %s, %s, %s)")

    with pytest.raises(jobs.JobFailed) as failed:
        jobs.class_ranks_run(term=term)

    run = JobRun.objects.get(pk=failed.value.run.pk)
    assert run.status == JobRun.Status.FAILED
    assert run.finished_at is not None
    assert "no_such_table" in run.error
    assert "Traceback" in run.error
    assert "FAILED after " in run.summary
    assert ranks(term) == [None, None, None]
    assert not StudentTermStanding.objects.exists()

    monkeypatch.undo()
    assert jobs.class_ranks_run(term=term).status == JobRun.Status.SUCCEEDED
    assert ranks(term) == [1, 2, 2]


@pytest.mark.django_db
def test_a_failing_teacher_metrics_week_keeps_the_weeks_before_it(monkeypatch):
    school = factories.SchoolFactory()
    factories.TeacherFactory(school=school)
    done = []

    def refresh(*, keys):
        week = next(iter(keys))[1]
        if week == datetime.date(2026, 9, 21):
            raise RuntimeError("database went away")
        done.append(week)
        return jobs.services.RefreshResult(created=1)

    monkeypatch.setattr(jobs.services, "teacher_metrics_refresh", refresh)
    with pytest.raises(jobs.JobFailed, match="RuntimeError: database went away"):
        jobs.teacher_metrics_run(
            school=school, first_week=datetime.date(2026, 9, 7), last_week=datetime.date(2026, 9, 28)
        )
    run = JobRun.objects.get()
    assert done == [datetime.date(2026, 9, 7), datetime.date(2026, 9, 14)]
    assert (run.status, run.rows_changed) == (JobRun.Status.FAILED, 2)
    assert (run.period_start, run.period_end) == (datetime.date(2026, 9, 7), datetime.date(2026, 10, 4))

    monkeypatch.setattr(jobs.services, "teacher_metrics_refresh", lambda *, keys: jobs.services.RefreshResult())
    assert jobs.teacher_metrics_run(school=school, first_week=datetime.date(2026, 9, 7)).rows_changed == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_at_once_on_postgresql(monkeypatch):
    """Two connections: the second run is refused while the first holds the lock, and may run after it."""
    term = ranked_school()
    inside, release = threading.Event(), threading.Event()
    calculate = jobs.class_ranks_calculate
    outcome = {}

    def slow_calculate(*, term):
        inside.set()
        assert release.wait(20)
        return calculate(term=term)

    def first_run():
        try:
            outcome["first"] = jobs.class_ranks_run(term=term)
        finally:
            connection.close()

    monkeypatch.setattr(jobs, "class_ranks_calculate", slow_calculate)
    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert inside.wait(20)
        with pytest.raises(jobs.JobAlreadyRunning):
            jobs.class_ranks_run(term=term)
    finally:
        release.set()
        thread.join(30)
    monkeypatch.undo()

    assert outcome["first"].status == JobRun.Status.SUCCEEDED
    assert ranks(term) == [1, 2, 2]
    statuses = sorted(JobRun.objects.values_list("status", flat=True))
    assert statuses == [JobRun.Status.REFUSED, JobRun.Status.SUCCEEDED]
    assert jobs.class_ranks_run(term=term).rows_changed == 0


# A process that takes the class-ranks lock of a term's school, says so, and hangs inside the run.
HANGING_RUN = """
import sys, time, django
django.setup()
from analytics import jobs
from schools.models import AcademicTerm

def hang(*, term):
    print("inside", flush=True)
    time.sleep(600)

jobs.class_ranks_calculate = hang
jobs.class_ranks_run(term=AcademicTerm.objects.get(pk=int(sys.argv[1])))
"""


def job_lock_held(term) -> bool:
    return jobs.job_lock_key(JobRun.Job.CLASS_RANKS, term.school_id) in jobs.job_locks_held()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_killed_with_sigkill_lets_the_next_run_proceed_at_once():
    """The lock dies with its process: no 30-minute wait after a kill -9 (before, the next runs were refused)."""
    term = ranked_school()
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    database_url = (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    backend = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", HANGING_RUN, str(term.pk)],
        cwd=backend,
        env={**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "inside"
        [holder] = JobRun.objects.filter(status=JobRun.Status.RUNNING)
        assert holder.worker.endswith(f":{child.pid}")
        with pytest.raises(jobs.JobAlreadyRunning):  # alive: refused
            jobs.class_ranks_run(term=term)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(20)
        child.stdout.close()
    killed = time.monotonic()

    # The server ends the killed process's session as soon as it sees its socket closed (milliseconds).
    refused_after_kill = 0
    while True:
        try:
            run = jobs.class_ranks_run(term=term)
            break
        except jobs.JobAlreadyRunning:
            refused_after_kill += 1
            assert time.monotonic() - killed < 10, "still refused 10 s after the holder was killed"
            time.sleep(0.05)

    assert run.status == JobRun.Status.SUCCEEDED
    assert ranks(term) == [1, 2, 2]
    holder.refresh_from_db()
    assert holder.status == JobRun.Status.FAILED
    assert holder.error.startswith("Abandoned: its process no longer holds the job's lock")
    assert not job_lock_held(term)  # released at the end of the run
    statuses = sorted(JobRun.objects.values_list("status", flat=True))
    refused = [JobRun.Status.REFUSED] * (1 + refused_after_kill)
    assert statuses == sorted([JobRun.Status.FAILED, *refused, JobRun.Status.SUCCEEDED])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_schedule_counts_a_running_row_live_only_while_its_lock_is_held():
    term = ranked_school()
    slot = timezone.now().replace(microsecond=0)
    holder = running_row(term, heartbeat_age=datetime.timedelta(minutes=1))
    JobRun.objects.filter(pk=holder.pk).update(scheduled_for=slot)
    settled = {"job": JobRun.Job.CLASS_RANKS, "school_id": term.school_id, "scheduled_for": slot}

    assert not jobs.job_slot_settled(**settled)  # its process is gone: due again now, not in 30 minutes
    with lock_held_elsewhere(JobRun.Job.CLASS_RANKS, term.school_id):
        assert jobs.job_slot_settled(**settled)
