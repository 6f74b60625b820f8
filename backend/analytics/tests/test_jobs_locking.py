"""The job lock and run record: a second run at once is refused, a failing run is recorded and lets go."""

import datetime
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
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


@pytest.mark.django_db
def test_a_live_lock_row_refuses_the_command_and_a_stale_one_is_taken_over():
    term = ranked_school()
    holder = running_row(term, heartbeat_age=datetime.timedelta(minutes=5))

    err = io.StringIO()
    with pytest.raises(CommandError, match="1 run\\(s\\) refused or failed"):
        call_command("calculate_class_ranks", "--term", str(term.pk), stdout=io.StringIO(), stderr=err)
    assert f"refused, run {holder.pk} (elsewhere:42) has held the lock since" in err.getvalue()
    assert ranks(term) == [None, None, None]

    JobRun.objects.filter(pk=holder.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=31))
    out = io.StringIO()
    call_command("calculate_class_ranks", "--term", str(term.pk), stdout=out)
    assert "6 rows changed (3 subject ranks, 3 overall standings)" in out.getvalue()
    holder.refresh_from_db()
    assert holder.status == JobRun.Status.FAILED
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
