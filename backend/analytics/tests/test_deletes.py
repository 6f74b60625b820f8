"""Deleting a source row that others cascade from leaves exact summaries and no orphan rows.

Committed for real (transaction=True), so the database checks every foreign key at commit.
"""

import datetime
from decimal import Decimal

import pytest

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.services import analytics_verify
from analytics.tests.helpers import small_class
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance
from homework.models import Grade, HomeworkSubmission

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def graded_class():
    w = small_class(2)
    for student, status, score in zip(w.students, ("PRESENT", "ABSENT"), ("10", "16"), strict=True):
        Attendance.objects.create(lesson=w.lesson, student=student, status=status)
        submission = HomeworkSubmission.objects.create(
            homework=w.homework,
            student=student,
            submitted_at=datetime.datetime.combine(w.day, datetime.time(9), tzinfo=datetime.UTC),
        )
        Grade.objects.create(submission=submission, score=Decimal(score))
    assert_summaries_exact()
    return w


def test_deleting_a_student_removes_their_rows_and_updates_the_teacher(graded_class):
    w = graded_class
    gone = w.students[1]
    StudentDailySummary.objects.filter(student=gone).update(behavior_score=2)
    gone.delete()
    assert not StudentDailySummary.objects.filter(student_id=gone.pk).exists()
    assert not StudentTermPerformance.objects.filter(student_id=gone.pk).exists()
    metric = TeacherPerformanceMetric.objects.get(teacher=w.teacher)
    assert (metric.lessons_attended, metric.lessons_counted, metric.average_student_attendance) == (
        1,
        1,
        Decimal("100.00"),
    )
    assert analytics_verify() == []
    assert_summaries_exact()


def test_deleting_the_lesson_and_the_homework_empties_the_day(graded_class):
    w = graded_class
    w.lesson.delete()
    w.homework.delete()
    assert not StudentDailySummary.objects.exists()
    assert not StudentTermPerformance.objects.exists()
    assert not TeacherPerformanceMetric.objects.exists()
    assert_summaries_exact()
