"""The school's median of each teacher metric, read from the school's weeks (SchoolTeacherWeek), equals a plain
median of the teacher weeks.

Counts: a teacher without a row that week counts 0. Rates: only teachers with a rate count; the median of
two rates is rounded half-up to two places.
"""

import datetime
import statistics
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine.teacher import school_weeks_refresh
from analytics.models import SchoolTeacherWeek, TeacherPerformanceMetric
from analytics.selectors import TEACHER_METRICS, school_medians
from analytics.services import analytics_rebuild, analytics_verify
from analytics.tests.oracle import assert_summaries_exact
from tests.factories import (
    AttendanceFactory,
    ClassGroupFactory,
    CommunicationFactory,
    GuardianFactory,
    LessonFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
)

pytestmark = pytest.mark.django_db

WEEK = datetime.date(2026, 9, 14)
NEXT = WEEK + datetime.timedelta(weeks=1)


def store(teachers, week, rows):
    """Teacher weeks written in bulk (no engine), then their school's week recomputed from them."""
    TeacherPerformanceMetric.objects.bulk_create(
        TeacherPerformanceMetric(teacher=teacher, school_id=teacher.school_id, week_start=week, **row)
        for teacher, row in zip(teachers, rows, strict=False)
    )
    school_weeks_refresh(keys={(teacher.school_id, week) for teacher in teachers})


def test_medians_by_hand():
    school = SchoolFactory()
    teachers = TeacherFactory.create_batch(4, school=school)
    rates = [Decimal("90.01"), Decimal("90.02"), None]
    store(
        teachers,
        WEEK,
        [
            {"classes_taught": c, "homeworks_assigned": h, "parent_communications": 0, "average_student_attendance": r}
            for c, h, r in zip((3, 1, 4), (2, 2, 5), rates, strict=True)
        ],
    )
    medians = school_medians(school_id=school.pk, weeks=[WEEK, NEXT], teachers=4)
    assert medians[WEEK, "classes_taught"] == Decimal("2")  # 0 1 3 4: the fourth teacher has no row
    assert medians[WEEK, "homeworks_assigned"] == Decimal("2")  # 0 2 2 5
    assert medians[WEEK, "parent_communications"] == Decimal("0")
    assert medians[WEEK, "average_student_attendance"] == Decimal("90.02")  # (90.01 + 90.02) / 2 = 90.015
    assert medians[NEXT, "classes_taught"] == Decimal("0")  # nobody has a row: four zeros
    assert medians[NEXT, "average_student_attendance"] is None


def plain_median(values, name, teachers):
    if name == "average_student_attendance":
        values = [value for value in values if value is not None]
        if not values:
            return None
        return Decimal(statistics.median(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    values = list(values) + [0] * (teachers - len(values))
    return Decimal(statistics.median(values)) if values else None


metric_rows = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.integers(0, 5),
        st.integers(0, 9),
        st.none() | st.integers(0, 10000).map(lambda cents: Decimal(cents) / 100),
    ),
    max_size=9,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=metric_rows, second=metric_rows, extra=st.integers(0, 3))
def test_medians_equal_a_plain_median(first, second, extra):
    TeacherPerformanceMetric.objects.all().delete()
    school = SchoolFactory()
    teachers = TeacherFactory.create_batch(max(len(first), len(second)) + extra, school=school)
    for week, rows in ((WEEK, first), (NEXT, second)):
        store(teachers, week, [dict(zip(TEACHER_METRICS, row, strict=True)) for row in rows])
    medians = school_medians(school_id=school.pk, weeks=[WEEK, NEXT], teachers=len(teachers))
    for week, rows in ((WEEK, first), (NEXT, second)):
        for position, name in enumerate(TEACHER_METRICS):
            values = [row[position] for row in rows]
            assert medians[week, name] == plain_median(values, name, len(teachers)), (week, name, values)


# --- the school weeks kept by the engine -----------------------------------------------------------


def test_school_week_follows_every_write_and_a_teacher_moving_school():

    school, other = SchoolFactory(), SchoolFactory()
    klass = ClassGroupFactory(school=school)
    students = StudentFactory.create_batch(2, school=school, class_group=klass)
    teachers = TeacherFactory.create_batch(3, school=school)
    for teacher, lessons in zip(teachers, (1, 2, 2), strict=True):
        for _ in range(lessons):
            lesson = LessonFactory(class_group=klass, teacher=teacher, date=WEEK)
            AttendanceFactory(lesson=lesson, student=students[0], status="PRESENT")
            AttendanceFactory(lesson=lesson, student=students[1], status="ABSENT" if lessons == 1 else "PRESENT")
    row = SchoolTeacherWeek.objects.get(school=school, week_start=WEEK)
    assert row.classes_taught == {"1": 1, "2": 2}
    assert row.homeworks_assigned == {"0": 3}
    assert row.average_student_attendance == Decimal("100.00")  # 50, 100, 100
    assert school_medians(school_id=school.pk, weeks=[WEEK], teachers=3)[WEEK, "classes_taught"] == Decimal("2")
    assert_summaries_exact()

    moved = teachers[1]
    moved.school = other
    moved.save()
    assert SchoolTeacherWeek.objects.get(school=school, week_start=WEEK).classes_taught == {"1": 1, "2": 1}
    assert SchoolTeacherWeek.objects.get(school=other, week_start=WEEK).classes_taught == {"2": 1}
    assert_summaries_exact()


def test_verify_reports_a_drifted_school_week_and_rebuild_repairs_it():

    school = SchoolFactory()
    teacher = TeacherFactory(school=school)
    LessonFactory(teacher=teacher, class_group__school=school, date=WEEK)
    exact = SchoolTeacherWeek.objects.get(school=school, week_start=WEEK)
    assert exact.classes_taught == {"1": 1}
    SchoolTeacherWeek.objects.filter(pk=exact.pk).update(classes_taught={"7": 1})
    SchoolTeacherWeek.objects.create(school=school, week_start=NEXT, classes_taught={"1": 4})  # no teacher week

    found = {(d.table, d.key, d.kind) for d in analytics_verify(school_id=school.pk)}
    assert found == {
        ("SchoolTeacherWeek", (school.pk, WEEK), "changed"),
        ("SchoolTeacherWeek", (school.pk, NEXT), "unexpected"),
    }
    analytics_rebuild(school_id=school.pk)
    assert list(SchoolTeacherWeek.objects.filter(school=school).values_list("week_start", "classes_taught")) == [
        (WEEK, {"1": 1})
    ]
    assert analytics_verify(school_id=school.pk) == []


def test_deleting_a_teacher_leaves_no_count_of_their_weeks():
    """A teacher who only wrote to parents can be deleted (lessons and homework protect a teacher): their weeks go
    by cascade, and the school weeks that counted them follow in the same transaction."""
    school = SchoolFactory()
    guardian = GuardianFactory(school=school)
    LessonFactory(teacher=TeacherFactory(school=school), class_group__school=school, date=WEEK)
    writer = TeacherFactory(school=school)
    CommunicationFactory(
        school=school,
        sender=writer.user,
        recipient=guardian,
        sent_at=datetime.datetime.combine(WEEK, datetime.time(9), tzinfo=datetime.UTC),
    )
    assert SchoolTeacherWeek.objects.get(school=school, week_start=WEEK).parent_communications == {"0": 1, "1": 1}
    writer.delete()
    assert SchoolTeacherWeek.objects.get(school=school, week_start=WEEK).parent_communications == {"0": 1}
    assert_summaries_exact()
