"""A change of marks only (or grades only) keeps the stored figures that do not depend on them.

Worked by hand: one Maths lesson and one homework (max 20) on Monday 14 September 2026 in a London
school; the student hands in at 09:00 on the due day (on time) and scores 15 (75%).
"""

import datetime
from decimal import Decimal

import pytest

from analytics.models import SchoolDailySummary, StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.tests.helpers import small_class
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from homework.models import Grade, Homework, HomeworkSubmission
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    w = small_class(1)
    w.student = w.students[0]
    submission = HomeworkSubmission.objects.create(
        homework=w.homework,
        student=w.student,
        submitted_at=datetime.datetime.combine(w.day, datetime.time(9), tzinfo=datetime.UTC),
    )
    w.grade = Grade.objects.create(submission=submission, score=Decimal("15"))
    return w


def test_a_corrected_mark_keeps_the_homework_and_grade_figures(w):
    mark = Attendance.objects.create(lesson=w.lesson, student=w.student, status="PRESENT")
    mark.status = "ABSENT"
    mark.save()

    day = StudentDailySummary.objects.get(student=w.student, date=w.day)
    assert (day.attendance_status, day.lessons_marked, day.lessons_attended, day.lessons_counted) == ("ABSENT", 1, 0, 1)
    assert (day.homework_due, day.homework_on_time, day.homework_late, day.homework_completed) == (1, 1, 0, True)
    term = StudentTermPerformance.objects.get(student=w.student, term=w.term, subject=w.subject)
    assert (term.average_grade, term.grades_count) == (Decimal("75.00"), 1)
    assert (term.attendance_percentage, term.lessons_marked) == (Decimal("0.00"), 1)
    week = TeacherPerformanceMetric.objects.get(teacher=w.teacher, week_start=w.day)
    assert (week.classes_taught, week.homeworks_assigned, week.lessons_attended, week.lessons_counted) == (1, 1, 0, 1)
    assert_summaries_exact()


def test_a_regraded_homework_keeps_the_attendance_figures(w):
    Attendance.objects.create(lesson=w.lesson, student=w.student, status="LATE")  # attended (late counts)
    w.grade.score = Decimal("10")
    w.grade.save()

    term = StudentTermPerformance.objects.get(student=w.student, term=w.term, subject=w.subject)
    assert (term.average_grade, term.grades_count) == (Decimal("50.00"), 1)
    assert (term.attendance_percentage, term.lessons_marked, term.lessons_attended) == (Decimal("100.00"), 1, 1)
    assert_summaries_exact()


def test_a_missing_row_is_computed_whole_when_only_marks_changed(w):
    """Rows lost outside the engine (drift) come back complete, not with zero homework or money."""
    mark = Attendance.objects.create(lesson=w.lesson, student=w.student, status="PRESENT")
    StudentDailySummary.objects.all().delete()
    TeacherPerformanceMetric.objects.all().delete()
    SchoolDailySummary.objects.all().delete()
    StudentTermPerformance.objects.all().delete()

    mark.status = "EXCUSED"
    mark.save()

    day = StudentDailySummary.objects.get(student=w.student, date=w.day)
    assert (day.attendance_status, day.homework_due, day.homework_on_time) == ("EXCUSED", 1, 1)
    assert TeacherPerformanceMetric.objects.get(teacher=w.teacher, week_start=w.day).homeworks_assigned == 1
    assert StudentTermPerformance.objects.get(student=w.student, subject=w.subject).average_grade == Decimal("75.00")
    assert SchoolDailySummary.objects.get(school=w.school, date=w.day).homework_due == 1
    assert_summaries_exact()


def test_a_kept_week_and_a_recomputed_week_are_each_counted_once(w):
    """A mark moved from a teacher's week that has a row to another's whose row is missing: the first keeps
    its one homework, the second recounts its own one."""
    other = TeacherFactory(school=w.school)
    next_monday = w.day + datetime.timedelta(weeks=1)
    lesson = Lesson.objects.create(class_group=w.klass, subject=w.subject, teacher=other, date=next_monday, period=1)
    Homework.objects.create(
        class_group=w.klass,
        subject=w.subject,
        teacher=other,
        title="Decimals",
        assigned_date=next_monday,
        due_date=next_monday + datetime.timedelta(days=2),
        max_score=Decimal("10"),
    )
    mark = Attendance.objects.create(lesson=w.lesson, student=w.student, status="PRESENT")
    TeacherPerformanceMetric.objects.filter(teacher=other).delete()

    mark.lesson = lesson
    mark.save()

    first = TeacherPerformanceMetric.objects.get(teacher=w.teacher, week_start=w.day)
    second = TeacherPerformanceMetric.objects.get(teacher=other, week_start=next_monday)
    assert (first.classes_taught, first.homeworks_assigned, first.lessons_counted) == (1, 1, 0)
    assert (second.classes_taught, second.homeworks_assigned, second.lessons_counted) == (1, 1, 1)
    assert_summaries_exact()


def test_figures_are_read_after_the_locks(w, monkeypatch):
    """A writer holding the student's lock (here: moving the student to a class with no homework) has
    committed by the time the locks are granted; the refresh must compute with the new class, not with the
    one it read while working out which keys to lock."""
    from analytics.engine import machinery
    from schools.models import Student
    from tests.factories import ClassGroupFactory

    other_class = ClassGroupFactory(school=w.school)
    real_lock = machinery.lock
    moved = []

    def lock_granted_after_a_class_change(locks):
        real_lock(locks)
        if not moved:  # the other writer's whole change, with its own refresh, once
            moved.append(True)
            student = Student.objects.get(pk=w.student.pk)
            student.class_group = other_class
            student.save()

    monkeypatch.setattr(machinery, "lock", lock_granted_after_a_class_change)
    submission = HomeworkSubmission.objects.get(student=w.student)
    submission.submitted_at += datetime.timedelta(hours=1)
    submission.save()

    # The new class has no homework and no lesson that day: the student's day has no row at all.
    assert not StudentDailySummary.objects.filter(student=w.student, date=w.day).exists()
    assert_summaries_exact()
