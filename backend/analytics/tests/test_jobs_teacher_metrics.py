"""generate_teacher_metrics: a hand-worked week in Nairobi (UTC+3), the keys it refreshes, the command."""

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from analytics import jobs, services
from analytics.models import JobRun, TeacherPerformanceMetric
from attendance.models import AttendanceStatus
from tests import factories

pytestmark = pytest.mark.django_db

MON = datetime.date(2026, 9, 7)
SUN = datetime.date(2026, 9, 13)
NEXT_MON = datetime.date(2026, 9, 14)


def utc(day, hour, minute):
    return datetime.datetime(2026, 9, day, hour, minute, tzinfo=datetime.UTC)


def metric_values(teacher, week):
    row = TeacherPerformanceMetric.objects.filter(teacher=teacher, week_start=week).first()
    if row is None:
        return None
    return (row.classes_taught, row.homeworks_assigned, row.parent_communications, row.average_student_attendance)


@pytest.fixture
def nairobi_week():
    """Teacher Tara's week of 7 September 2026 in Nairobi, with activity just outside it on both sides."""
    school = factories.SchoolFactory(name="Nairobi Academy", timezone="Africa/Nairobi")
    factories.TermFactory(school=school)
    group = factories.ClassGroupFactory(school=school)
    tara, uma, victor = (factories.TeacherFactory(school=school) for _ in range(3))
    pupils = [factories.StudentFactory(school=school, class_group=group) for _ in range(3)]
    guardian = factories.GuardianFactory(school=school, students=pupils)

    monday_1 = factories.LessonFactory(class_group=group, teacher=tara, date=MON, period=1)
    monday_2 = factories.LessonFactory(class_group=group, teacher=tara, date=MON, period=2)
    factories.LessonFactory(class_group=group, teacher=tara, date=SUN, period=1)  # a Sunday revision class
    next_week = factories.LessonFactory(class_group=group, teacher=tara, date=NEXT_MON, period=1)
    statuses = {
        monday_1: ("PRESENT", "LATE", "ABSENT"),
        monday_2: ("PRESENT", "EXCUSED", "PRESENT"),
        next_week: ("ABSENT", "ABSENT", "ABSENT"),
    }
    for lesson, marks in statuses.items():
        for pupil, status in zip(pupils, marks, strict=True):
            factories.AttendanceFactory(lesson=lesson, student=pupil, status=AttendanceStatus(status))

    for assigned in (MON, SUN, NEXT_MON):
        factories.HomeworkFactory(class_group=group, teacher=tara, assigned_date=assigned)

    for sender, sent_at in [
        (tara, utc(6, 20, 59)),  # Sunday 23:59 in Nairobi: the week before
        (tara, utc(6, 21, 30)),  # Sunday in UTC, Monday 00:30 in Nairobi: this week
        (tara, utc(13, 20, 59)),  # Sunday 23:59 in Nairobi: this week
        (tara, utc(13, 22, 0)),  # Sunday late in UTC, Monday 01:00 in Nairobi: next week
        (uma, utc(6, 21, 30)),  # Monday 00:30 in Nairobi: Uma's only activity of the week
    ]:
        factories.CommunicationFactory(school=school, sender=sender.user, recipient=guardian, sent_at=sent_at)
    return school, tara, uma, victor


def test_a_hand_worked_week_in_nairobi(nairobi_week):
    school, tara, uma, victor = nairobi_week
    # Tara: 3 lessons (two on Monday, one on Sunday); homework set Monday and Sunday; 2 messages in the
    # week in Nairobi time; marks at her lessons: 4 attended (PRESENT, LATE, PRESENT, PRESENT) of 6.
    tara_week = (3, 2, 2, Decimal("66.67"))
    uma_week = (0, 0, 1, None)
    # Drift: Tara's row lost, Uma's wrong, a row for Victor who did nothing, and a wrong row next week.
    TeacherPerformanceMetric.objects.filter(teacher=tara, week_start=MON).delete()
    TeacherPerformanceMetric.objects.filter(teacher=uma, week_start=MON).update(parent_communications=5)
    TeacherPerformanceMetric.objects.create(teacher=victor, school=school, week_start=MON, classes_taught=9)
    TeacherPerformanceMetric.objects.filter(teacher=tara, week_start=NEXT_MON).update(classes_taught=99)

    out = io.StringIO()
    call_command("generate_teacher_metrics", "--school", str(school.pk), "--week-start", "2026-09-07", stdout=out)

    assert metric_values(tara, MON) == tara_week
    assert metric_values(uma, MON) == uma_week
    assert metric_values(victor, MON) is None
    assert metric_values(tara, NEXT_MON)[0] == 99  # another week: untouched
    run = JobRun.objects.get()
    assert re.fullmatch(
        rf"generate_teacher_metrics: Nairobi Academy \(school {school.pk}\), weeks 2026-09-07\.\.2026-09-13 "
        rf"\(1 week\): 3 rows changed \(1 created, 1 updated, 1 deleted\) \(\d+\.\d\ds, run {run.pk}\)\n",
        out.getvalue(),
    )
    assert (run.rows_changed, run.status, run.period_start, run.period_end) == (3, "SUCCEEDED", MON, SUN)

    out = io.StringIO()
    backfill = ["--school", str(school.pk), "--from", "2026-09-01", "--to", "2026-09-14"]
    call_command("generate_teacher_metrics", *backfill, stdout=out)
    assert "weeks 2026-08-31..2026-09-20 (3 weeks): 1 row changed (0 created, 1 updated, 0 deleted)" in out.getvalue()
    assert metric_values(tara, NEXT_MON) == (1, 1, 1, Decimal("0.00"))
    assert metric_values(tara, MON - datetime.timedelta(days=7)) == (0, 0, 1, None)

    out = io.StringIO()
    call_command("generate_teacher_metrics", *backfill, stdout=out)
    assert "(3 weeks): 0 rows changed, already up to date" in out.getvalue()


def test_every_teacher_of_the_school_is_refreshed_for_each_week(monkeypatch):
    school = factories.SchoolFactory()
    teachers = [factories.TeacherFactory(school=school) for _ in range(2)]
    moved = factories.TeacherFactory()  # now at another school, with a row of this school
    TeacherPerformanceMetric.objects.create(teacher=moved, school=school, week_start=MON, classes_taught=1)
    factories.TeacherFactory()  # another school's teacher: not this job's business
    calls = []

    def refresh(*, keys):
        calls.append(set(keys))
        return services.RefreshResult(updated=1)

    monkeypatch.setattr(services, "teacher_metrics_refresh", refresh)
    run = jobs.teacher_metrics_run(school=school, first_week=MON, last_week=NEXT_MON)

    assert calls == [
        {(teachers[0].pk, MON), (teachers[1].pk, MON), (moved.pk, MON)},
        {(teachers[0].pk, NEXT_MON), (teachers[1].pk, NEXT_MON)},
    ]
    assert run.rows_changed == 2


def test_default_week_is_the_current_week_in_each_schools_time_zone(monkeypatch):
    nairobi = factories.SchoolFactory(name="Nairobi", timezone="Africa/Nairobi")
    reykjavik = factories.SchoolFactory(name="Reykjavik", timezone="Atlantic/Reykjavik")
    factories.TeacherFactory(school=nairobi)
    factories.TeacherFactory(school=reykjavik)
    monkeypatch.setattr(services, "teacher_metrics_refresh", lambda *, keys: services.RefreshResult())
    # Sunday 13 September 22:00 UTC: already Monday the 14th in Nairobi, still Sunday in Reykjavik.
    with time_machine.travel(utc(13, 22, 0), tick=False):
        call_command("generate_teacher_metrics", stdout=io.StringIO())
    assert JobRun.objects.get(school=nairobi).period_start == NEXT_MON
    assert JobRun.objects.get(school=reykjavik).period_start == MON


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--week-start", "2026-09-09"], r"2026-09-09 is a Wednesday; weeks start on Monday \(2026-09-07\)"),
        (["--from", "2026-09-09"], "--from and --to go together"),
        (["--from", "2026-09-20", "--to", "2026-09-01"], "--from 2026-09-20 is after --to 2026-09-01"),
        (["--week-start", "2026-09-07", "--to", "2026-09-01"], "either --week-start or --from/--to"),
        (["--school", "999999"], "No school '999999'"),
    ],
)
def test_command_arguments_are_checked(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_teacher_metrics", *arguments, stdout=io.StringIO())
    assert not JobRun.objects.exists()
