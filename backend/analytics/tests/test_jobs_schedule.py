"""The schedule: each school's jobs fire at their local time, across daylight-saving changes, once per slot."""

import datetime
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics import jobs, tasks
from analytics.models import JobRun, StudentTermPerformance
from config.celery import app as celery_app
from tests import factories

NIGHTLY = jobs.Schedule(at=datetime.time(2, 0))
FRIDAY_EVENING = jobs.Schedule(at=datetime.time(18, 0), weekday=4)
NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def utc(*parts):
    return datetime.datetime(*parts, tzinfo=datetime.UTC)


def last_slot(schedule, tz, now):
    return jobs.schedule_last_slot(schedule=schedule, tz=tz, now=now)


def test_the_settings_define_every_schedule():
    assert jobs.job_schedules() == {
        "calculate_class_ranks": NIGHTLY,
        "generate_teacher_metrics": FRIDAY_EVENING,
        "roll_early_warning_flags": jobs.Schedule(at=datetime.time(0, 5)),
    }


@pytest.mark.parametrize(
    ("tz", "now", "slot"),
    [
        # Nairobi is UTC+3 all year: 02:00 there is 23:00 UTC the evening before.
        (NAIROBI, utc(2026, 11, 26, 22, 59), utc(2026, 11, 25, 23, 0)),
        (NAIROBI, utc(2026, 11, 26, 23, 0), utc(2026, 11, 26, 23, 0)),
        # Los Angeles in winter is UTC-8: 02:00 is 10:00 UTC.
        (LOS_ANGELES, utc(2026, 11, 27, 9, 59), utc(2026, 11, 26, 10, 0)),
        (LOS_ANGELES, utc(2026, 11, 27, 10, 0), utc(2026, 11, 27, 10, 0)),
        # In summer (UTC-7) it is 09:00 UTC.
        (LOS_ANGELES, utc(2026, 7, 1, 9, 0), utc(2026, 7, 1, 9, 0)),
        # 8 March 2026, spring forward: 02:00 does not exist in Los Angeles; the run comes at the jump
        # (03:00 PDT, 10:00 UTC), not an hour early and not skipped.
        (LOS_ANGELES, utc(2026, 3, 8, 9, 59), utc(2026, 3, 7, 10, 0)),
        (LOS_ANGELES, utc(2026, 3, 8, 10, 0), utc(2026, 3, 8, 10, 0)),
        (LOS_ANGELES, utc(2026, 3, 9, 9, 0), utc(2026, 3, 9, 9, 0)),  # the next night at 02:00 PDT
        # 1 November 2026, fall back at 02:00 PDT to 01:00 PST: 02:00 PST comes once, at 10:00 UTC.
        (LOS_ANGELES, utc(2026, 11, 1, 9, 30), utc(2026, 10, 31, 9, 0)),
        (LOS_ANGELES, utc(2026, 11, 1, 10, 0), utc(2026, 11, 1, 10, 0)),
    ],
)
def test_nightly_slot_in_local_time(tz, now, slot):
    assert last_slot(NIGHTLY, tz, now) == slot


def test_a_local_time_that_happens_twice_fires_once():
    # 25 October 2026 in Berlin: 03:00 CEST goes back to 02:00 CET, so 02:00-03:00 happens twice. Both
    # passes map to the same slot (the first occurrence), so the run recorded for it covers the second.
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    first_pass = utc(2026, 10, 25, 0, 0)  # 02:00 CEST
    assert last_slot(NIGHTLY, berlin, first_pass) == first_pass
    assert last_slot(NIGHTLY, berlin, utc(2026, 10, 25, 1, 30)) == first_pass  # 02:30 CET
    assert last_slot(NIGHTLY, berlin, utc(2026, 10, 26, 0, 59)) == first_pass
    assert last_slot(NIGHTLY, berlin, utc(2026, 10, 26, 1, 0)) == utc(2026, 10, 26, 1, 0)  # 02:00 CET


def test_quarter_hour_zones_fall_on_the_dispatcher_ticks():
    # Kathmandu is UTC+5:45: 02:00 there is 20:15 UTC, one of the every-15-minutes ticks.
    slot = last_slot(NIGHTLY, zoneinfo.ZoneInfo("Asia/Kathmandu"), utc(2026, 11, 26, 20, 15))
    assert slot == utc(2026, 11, 26, 20, 15)


@pytest.mark.parametrize(
    ("tz", "now", "slot"),
    [
        # Friday 27 November 2026 at 18:00 in Nairobi is 15:00 UTC.
        (NAIROBI, utc(2026, 11, 27, 14, 59), utc(2026, 11, 20, 15, 0)),
        (NAIROBI, utc(2026, 11, 27, 15, 0), utc(2026, 11, 27, 15, 0)),
        (NAIROBI, utc(2026, 11, 30, 8, 0), utc(2026, 11, 27, 15, 0)),  # the next Monday: still that Friday
        # ...and in Los Angeles 02:00 UTC on Saturday.
        (LOS_ANGELES, utc(2026, 11, 28, 1, 59), utc(2026, 11, 21, 2, 0)),
        (LOS_ANGELES, utc(2026, 11, 28, 2, 0), utc(2026, 11, 28, 2, 0)),
        # Summer time: Friday 3 July 2026 18:00 PDT is Saturday 01:00 UTC.
        (LOS_ANGELES, utc(2026, 7, 4, 1, 0), utc(2026, 7, 4, 1, 0)),
    ],
)
def test_friday_evening_slot_in_local_time(tz, now, slot):
    assert last_slot(FRIDAY_EVENING, tz, now) == slot


@pytest.mark.django_db
def test_due_runs_for_schools_in_nairobi_and_los_angeles():
    nairobi = factories.SchoolFactory(name="Nairobi", timezone="Africa/Nairobi")
    los_angeles = factories.SchoolFactory(name="Los Angeles", timezone="America/Los_Angeles")
    terms = {school.pk: factories.TermFactory(school=school) for school in (nairobi, los_angeles)}

    def due(now):
        return {(run.job, run.school_id): run for run in jobs.scheduled_runs_due(now=now)}

    # Friday 27 November, 15:00 UTC: Nairobi's ranks night (02:00 local) and Friday evening have come; Los
    # Angeles had its ranks night at 10:00 UTC and its latest Friday evening slot was a week ago.
    now = utc(2026, 11, 27, 15, 0)
    runs = due(now)
    assert set(runs) == {
        ("calculate_class_ranks", nairobi.pk),
        ("generate_teacher_metrics", nairobi.pk),
        ("roll_early_warning_flags", nairobi.pk),
        ("calculate_class_ranks", los_angeles.pk),
        ("generate_teacher_metrics", los_angeles.pk),
        ("roll_early_warning_flags", los_angeles.pk),
    }
    # The flags roll over at 00:05 local: 21:05 UTC the day before in Nairobi, 08:05 UTC in Los Angeles.
    assert runs["roll_early_warning_flags", nairobi.pk].scheduled_for == utc(2026, 11, 26, 21, 5)
    assert runs["roll_early_warning_flags", los_angeles.pk].scheduled_for == utc(2026, 11, 27, 8, 5)
    ranks = runs["calculate_class_ranks", nairobi.pk]
    assert (ranks.scheduled_for, ranks.local_date, ranks.term_ids) == (
        utc(2026, 11, 26, 23, 0),
        datetime.date(2026, 11, 27),
        (terms[nairobi.pk].pk,),
    )
    metrics = runs["generate_teacher_metrics", nairobi.pk]
    assert (metrics.scheduled_for, metrics.week) == (now, datetime.date(2026, 11, 23))
    metrics = runs["generate_teacher_metrics", los_angeles.pk]
    assert (metrics.scheduled_for, metrics.week) == (utc(2026, 11, 21, 2, 0), datetime.date(2026, 11, 16))

    # Once the slots are recorded as run, nothing is due until Nairobi's next night (23:00 UTC) and Los
    # Angeles' Friday evening (Saturday 02:00 UTC).
    for run in runs.values():
        record(run, JobRun.Status.SUCCEEDED)
    assert due(now) == {}
    assert due(utc(2026, 11, 27, 21, 4)) == {}
    assert set(due(utc(2026, 11, 27, 22, 59))) == {("roll_early_warning_flags", nairobi.pk)}
    assert set(due(utc(2026, 11, 28, 2, 0))) == {
        ("roll_early_warning_flags", nairobi.pk),
        ("calculate_class_ranks", nairobi.pk),
        ("generate_teacher_metrics", los_angeles.pk),
    }


@pytest.mark.django_db
def test_a_failed_slot_is_retried_a_few_times_and_a_stale_run_does_not_block_it():
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    now = utc(2026, 11, 27, 12, 0)
    # No term: no ranks; the teacher metrics (and the flags' roll-over, recorded as done) are due.
    [roll] = [run for run in jobs.scheduled_runs_due(now=now) if run.job == "roll_early_warning_flags"]
    record(roll, JobRun.Status.SUCCEEDED)
    [metrics] = jobs.scheduled_runs_due(now=now)
    record(metrics, JobRun.Status.RUNNING, heartbeat=now - datetime.timedelta(hours=2))
    assert any(run.school_id == school.pk for run in jobs.scheduled_runs_due(now=now))
    JobRun.objects.exclude(job="roll_early_warning_flags").delete()
    for attempt in range(3):
        assert jobs.scheduled_runs_due(now=now), attempt
        record(metrics, JobRun.Status.FAILED)
    assert jobs.scheduled_runs_due(now=now) == []


@pytest.mark.django_db
def test_no_ranks_are_due_outside_term_except_just_after_it():
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    term = factories.TermFactory(school=school)  # to 18 December 2026

    def ranks_due(now):
        return [run for run in jobs.scheduled_runs_due(now=now) if run.job == "calculate_class_ranks"]

    assert ranks_due(utc(2026, 9, 7, 0, 0)) == []  # the night before the first day: nothing to rank yet
    assert ranks_due(utc(2026, 9, 8, 0, 0))[0].term_ids == (term.pk,)
    assert ranks_due(utc(2027, 1, 1, 23, 0))[0].term_ids == (term.pk,)  # grades entered late still count
    assert ranks_due(utc(2027, 1, 2, 23, 0)) == []


def record(run, status, heartbeat=None):
    moment = heartbeat or timezone.now()
    JobRun.objects.create(
        job=run.job,
        school_id=run.school_id,
        period_start=run.local_date,
        period_end=run.local_date,
        scheduled_for=run.scheduled_for,
        status=status,
        started_at=moment,
        heartbeat_at=moment,
    )


@pytest.fixture
def eager_celery():
    """Tasks run inline, as they do with no broker configured."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_the_dispatcher_queues_each_due_job_after_commit_and_only_once(
    eager_celery, django_capture_on_commit_callbacks, time_machine, monkeypatch
):
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    term = factories.TermFactory(school=school)
    group = factories.ClassGroupFactory(school=school)
    maths = factories.SubjectFactory(school=school)
    for average in ("70.00", "90.00"):
        StudentTermPerformance.objects.create(
            student=factories.StudentFactory(school=school, class_group=group),
            term=term,
            subject=maths,
            school=school,
            average_grade=average,
        )
    monkeypatch.setattr(jobs.services, "teacher_metrics_refresh", lambda *, keys: jobs.services.RefreshResult())
    time_machine.move_to(utc(2026, 11, 27, 15, 5), tick=False)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert tasks.dispatch_scheduled_jobs.delay().get() == 3
    assert len(queued) == 3
    assert not JobRun.objects.exists()  # nothing runs before the dispatcher's transaction commits

    for callback in queued:
        callback()
    runs = {run.job: run for run in JobRun.objects.all()}
    assert runs["calculate_class_ranks"].scheduled_for == utc(2026, 11, 26, 23, 0)
    assert runs["calculate_class_ranks"].status == JobRun.Status.SUCCEEDED
    assert runs["generate_teacher_metrics"].scheduled_for == utc(2026, 11, 27, 15, 0)
    assert runs["generate_teacher_metrics"].period_start == datetime.date(2026, 11, 23)
    assert sorted(StudentTermPerformance.objects.values_list("rank", flat=True)) == [1, 2]
    assert runs["roll_early_warning_flags"].period_start == datetime.date(2026, 11, 27)  # Friday in Nairobi

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_scheduled_jobs.delay().get() == 0
    # A duplicate delivery of a slot already done does nothing.
    slot = utc(2026, 11, 26, 23, 0).isoformat()
    summaries = tasks.calculate_class_ranks.delay(school_id=school.pk, term_ids=[term.pk], scheduled_for=slot).get()
    assert summaries == [f"calculate_class_ranks: school {school.pk}: slot {slot} already done"]
    assert JobRun.objects.count() == 3


@pytest.mark.django_db
def test_run_scheduled_jobs_command_runs_the_dispatcher_inline(monkeypatch):
    monkeypatch.setattr(tasks.jobs, "scheduled_runs_due", lambda now: [])
    out = StringIO()
    call_command("run_scheduled_jobs", stdout=out)
    assert out.getvalue().strip() == "run_scheduled_jobs: 0 job(s) due"
