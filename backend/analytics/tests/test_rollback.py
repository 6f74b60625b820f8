"""A writer's transaction that fails leaves no trace in the summaries (they are written inside it)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.tests.helpers import small_class, stored_rows
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance
from attendance.services import roll_call_record
from homework.models import Grade, HomeworkSubmission

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


@pytest.fixture
def week():
    """Three students, one of them marked and graded already, so summary rows exist before each test."""
    w = small_class(3)
    w.first_mark = Attendance.objects.create(lesson=w.lesson, student=w.students[0], status="PRESENT")
    submission = HomeworkSubmission.objects.create(
        homework=w.homework,
        student=w.students[0],
        submitted_at=datetime.datetime.combine(w.day, datetime.time(9), tzinfo=datetime.UTC),
    )
    w.first_grade = Grade.objects.create(submission=submission, score=Decimal("15"))
    assert_summaries_exact()
    return w


def test_a_new_mark_rolled_back_leaves_the_summaries_unchanged(week):
    before = stored_rows()
    with pytest.raises(Boom), transaction.atomic():
        Attendance.objects.create(lesson=week.lesson, student=week.students[1], status="LATE")
        # Real time: the summaries already show the mark inside the writer's transaction.
        assert StudentDailySummary.objects.get(student=week.students[1], date=week.day).lessons_marked == 1
        assert TeacherPerformanceMetric.objects.get(teacher=week.teacher).lessons_counted == 2
        raise Boom
    assert stored_rows() == before
    assert_summaries_exact()


def test_a_changed_and_a_deleted_mark_rolled_back_leave_the_summaries_unchanged(week):
    before = stored_rows()
    with pytest.raises(Boom), transaction.atomic():
        week.first_mark.status = "ABSENT"
        week.first_mark.save()
        row = StudentTermPerformance.objects.get(student=week.students[0], subject=week.subject)
        assert row.attendance_percentage == Decimal("0.00")
        week.first_mark.delete()
        raise Boom
    assert stored_rows() == before
    assert_summaries_exact()


def test_a_new_grade_rolled_back_leaves_the_summaries_unchanged(week):
    before = stored_rows()
    with pytest.raises(Boom), transaction.atomic():
        submission = HomeworkSubmission.objects.create(
            homework=week.homework,
            student=week.students[1],
            submitted_at=datetime.datetime.combine(week.day, datetime.time(23, 30), tzinfo=datetime.UTC),
        )
        Grade.objects.create(submission=submission, score=Decimal("19"))
        row = StudentTermPerformance.objects.get(student=week.students[1], subject=week.subject)
        assert (row.average_grade, row.grades_count) == (Decimal("95.00"), 1)
        raise Boom
    assert stored_rows() == before
    assert_summaries_exact()


def test_a_corrected_grade_rolled_back_leaves_the_average_unchanged(week):
    before = stored_rows()
    with pytest.raises(Boom), transaction.atomic():
        week.first_grade.score = Decimal("5")
        week.first_grade.save()
        row = StudentTermPerformance.objects.get(student=week.students[0], subject=week.subject)
        assert row.average_grade == Decimal("25.00")
        raise Boom
    assert stored_rows() == before
    assert StudentTermPerformance.objects.get(student=week.students[0], subject=week.subject).average_grade == Decimal(
        "75.00"
    )


def test_a_roll_call_rolled_back_leaves_the_summaries_unchanged(week):
    before = stored_rows()
    marks = [{"student_id": s.pk, "status": "EXCUSED", "note": "trip"} for s in week.students]
    with pytest.raises(Boom), transaction.atomic():
        roll_call_record(lesson=week.lesson, marks=marks, recorded_by=week.teacher.user)
        assert StudentDailySummary.objects.filter(date=week.day, attendance_status="EXCUSED").count() == 3
        raise Boom
    assert stored_rows() == before
    assert_summaries_exact()
