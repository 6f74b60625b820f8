"""The nightly roll-over of the early-warning flags: the flag date moves, the flags follow, a re-run changes nothing."""

import datetime

import pytest
import time_machine

from analytics import jobs, tasks
from analytics.models import EarlyWarningSettings, JobRun, StudentFlag
from analytics.tests.helpers import run_command
from analytics.tests.oracle import assert_summaries_exact
from homework.models import Homework
from tests import factories

pytestmark = pytest.mark.django_db

THURSDAY = datetime.date(2026, 11, 19)
FRIDAY = THURSDAY + datetime.timedelta(days=1)


@pytest.fixture
def w():
    """Three homework not handed in, due 14, 13 and 12 days before Thursday; the flags are as of Thursday."""
    w = type("World", (), {})()
    w.school = factories.SchoolFactory(timezone="Africa/Nairobi")
    factories.TermFactory(school=w.school)
    EarlyWarningSettings.objects.create(school=w.school, flags_as_of=THURSDAY)
    w.klass = factories.ClassGroupFactory(school=w.school)
    w.student = factories.StudentFactory(school=w.school, class_group=w.klass)
    teacher = factories.TeacherFactory(school=w.school)
    subject = factories.SubjectFactory(school=w.school)
    for days in (14, 13, 12):
        due = THURSDAY - datetime.timedelta(days=days)
        Homework.objects.create(
            class_group=w.klass,
            subject=subject,
            teacher=teacher,
            title=f"due {due}",
            assigned_date=due,
            due_date=due,
            max_score=20,
        )
    return w


def flag_dates(w) -> dict[str, datetime.date]:
    return dict(StudentFlag.objects.filter(student=w.student).values_list("reason", "as_of"))


def test_the_roll_over_moves_the_date_and_the_flags_and_a_rerun_changes_nothing(w):
    assert flag_dates(w) == {"homework": THURSDAY}  # due the 5th, 6th and 7th: all three in the 14 days before

    run = jobs.early_warning_flags_run(school=w.school, day=FRIDAY)
    # As of Friday the window starts on the 6th: two missing, the flag is cleared.
    assert (run.status, run.rows_changed) == (JobRun.Status.SUCCEEDED, 1)
    assert "0 raised, 0 updated, 1 cleared" in run.summary
    assert flag_dates(w) == {}
    assert EarlyWarningSettings.objects.get(school=w.school).flags_as_of == FRIDAY
    assert_summaries_exact()

    again = jobs.early_warning_flags_run(school=w.school, day=FRIDAY)
    assert again.rows_changed == 0 and "already up to date" in again.summary

    # Back to Thursday (a past date): the flag returns, as of Thursday.
    jobs.early_warning_flags_run(school=w.school, day=THURSDAY)
    assert flag_dates(w) == {"homework": THURSDAY}
    assert_summaries_exact()


def test_the_command_rolls_every_school_over_to_today_in_its_time_zone(w):
    other = factories.SchoolFactory(timezone="America/Los_Angeles")  # no settings row: created by the run
    # 22:30 UTC on Thursday is already Friday in Nairobi, still Thursday in Los Angeles.
    with time_machine.travel(datetime.datetime(2026, 11, 19, 22, 30, tzinfo=datetime.UTC), tick=False):
        status, output = run_command("roll_early_warning_flags")
    assert status == 0, output
    assert EarlyWarningSettings.objects.get(school=w.school).flags_as_of == FRIDAY
    assert EarlyWarningSettings.objects.get(school=other).flags_as_of == THURSDAY
    assert flag_dates(w) == {}
    assert output.count("roll_early_warning_flags:") == 2


def test_the_schedule_rolls_each_school_just_after_its_midnight(w, django_capture_on_commit_callbacks):
    # Nairobi's 00:05 on Friday is 21:05 UTC on Thursday.
    before = datetime.datetime(2026, 11, 19, 21, 0, tzinfo=datetime.UTC)
    after = datetime.datetime(2026, 11, 19, 21, 5, tzinfo=datetime.UTC)
    JobRun.objects.create(
        job=JobRun.Job.EARLY_WARNING,
        school=w.school,
        period_start=THURSDAY,
        period_end=THURSDAY,
        scheduled_for=datetime.datetime(2026, 11, 18, 21, 5, tzinfo=datetime.UTC),
        status=JobRun.Status.SUCCEEDED,
        started_at=before,
        heartbeat_at=before,
    )
    assert [run for run in jobs.scheduled_runs_due(now=before) if run.job == JobRun.Job.EARLY_WARNING] == []
    [due] = [run for run in jobs.scheduled_runs_due(now=after) if run.job == JobRun.Job.EARLY_WARNING]
    assert (due.school_id, due.scheduled_for, due.local_date) == (w.school.pk, after, FRIDAY)

    with time_machine.travel(after, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_scheduled_jobs() >= 1  # the roll-over is queued once the transaction commits
    assert EarlyWarningSettings.objects.get(school=w.school).flags_as_of == FRIDAY
    assert flag_dates(w) == {}
