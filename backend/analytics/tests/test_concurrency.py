"""Many writers for the same student, term and subject at once on PostgreSQL: no lost update, no deadlock.

Ten threads, each on its own connection, start together: eight save a mark and a graded submission of
their own lesson and homework (then correct both, twice), two take the roll call of their own lesson.
Every write touches the same daily row, term row and teacher week row.

Hand values: marks P, L, A, E, P, L, A, E (threads 0-7) and P, P (roll calls) -> 10 marked, 6 attended,
10 counted, 60.00 %, day status LATE. Final scores 20, 19, ..., 13 out of 20 -> 100, 95, ..., 65 % ->
mean 82.50. Eight homework due that day, all submitted on time.
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connections

from analytics.models import StudentDailySummary, StudentTermPerformance, TeacherPerformanceMetric
from analytics.services import analytics_verify
from analytics.tests.helpers import MONDAY
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from attendance.services import roll_call_record
from homework.models import Grade, Homework, HomeworkSubmission
from tests.factories import (
    ClassGroupFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8
ROLL_CALLERS = 2
STATUSES = ("PRESENT", "LATE", "ABSENT", "EXCUSED")
TIMEOUT = 120


def test_concurrent_writers_for_one_student_lose_nothing():
    school = SchoolFactory(timezone="UTC")
    term = TermFactory(school=school)
    klass = ClassGroupFactory(school=school)
    subject = SubjectFactory(school=school)
    teacher = TeacherFactory(school=school)
    student = StudentFactory(school=school, class_group=klass)
    lessons = [
        Lesson.objects.create(class_group=klass, subject=subject, teacher=teacher, date=MONDAY, period=p)
        for p in range(1, WRITERS + ROLL_CALLERS + 1)
    ]
    homework = [
        Homework.objects.create(
            class_group=klass,
            subject=subject,
            teacher=teacher,
            title=f"Task {i}",
            assigned_date=MONDAY,
            due_date=MONDAY,
            max_score=Decimal("20"),
        )
        for i in range(WRITERS)
    ]
    start = threading.Barrier(WRITERS + ROLL_CALLERS, timeout=TIMEOUT)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            start.wait()
            mark = Attendance.objects.create(lesson=lessons[i], student=student, status=STATUSES[(i + 1) % 4])
            submission = HomeworkSubmission.objects.create(
                homework=homework[i],
                student=student,
                submitted_at=datetime.datetime.combine(MONDAY, datetime.time(8, i), tzinfo=datetime.UTC),
            )
            grade = Grade.objects.create(submission=submission, score=Decimal("1"))
            for status, score in ((STATUSES[(i + 2) % 4], Decimal("2")), (STATUSES[i % 4], Decimal(20 - i))):
                mark.status = status
                mark.save()
                grade.score = score
                grade.save()
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def roll_caller(i: int) -> None:
        try:
            start.wait()
            lesson = lessons[WRITERS + i]
            for status in ("ABSENT", "PRESENT"):
                roll_call_record(
                    lesson=lesson,
                    marks=[{"student_id": student.pk, "status": status, "note": ""}],
                    recorded_by=teacher.user,
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads += [threading.Thread(target=roll_caller, args=(i,)) for i in range(ROLL_CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "a writer is still running (deadlock?)"
    assert not errors, errors

    assert analytics_verify() == []
    assert_summaries_exact()
    row = StudentTermPerformance.objects.get(student=student, term=term, subject=subject)
    assert (row.average_grade, row.grades_count) == (Decimal("82.50"), 8)
    assert (row.lessons_marked, row.lessons_attended, row.lessons_counted) == (10, 6, 10)
    assert row.attendance_percentage == Decimal("60.00")
    day = StudentDailySummary.objects.get(student=student, date=MONDAY)
    assert (day.attendance_status, day.lessons_marked, day.lessons_attended, day.lessons_counted) == ("LATE", 10, 6, 10)
    assert (day.homework_due, day.homework_on_time, day.homework_late, day.homework_completed) == (8, 8, 0, True)
    week = TeacherPerformanceMetric.objects.get(teacher=teacher, week_start=MONDAY)
    assert (week.classes_taught, week.homeworks_assigned, week.average_student_attendance) == (10, 8, Decimal("60.00"))
