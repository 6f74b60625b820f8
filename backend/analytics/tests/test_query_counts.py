"""The real-time paths cost a bounded number of queries that does not grow with the class size.

Each path is measured on a fresh school of the same shape with 10 and then 30 students (after a
warm-up on 5, so caches are filled); the counts must be equal and at most ``UPPER_BOUND``.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.tests.helpers import small_class
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from attendance.services import roll_call_record

pytestmark = pytest.mark.django_db

# Six summary tables (daily, term, teacher week, student term attendance, school day, early-warning flags)
# are brought up to date in the writer's transaction, after one lock statement. The daily rows and their two
# rollups are one set-based statement each (engine/sql.py); the others a few reads each, one upsert, one
# delete. The flags cost 4 or 5 of them (their stored rows, the students with their school's thresholds and
# flag date, the daily rows, the grades with the term averages unless only the attendance rule is recomputed,
# the upsert); the school weeks of the teacher medians 4 when a teacher week changed (lock, stored rows, the
# teacher weeks, the upsert). Measured on PostgreSQL: new mark 26, corrected 29, deleted 26, roll calls 31 to 33
# (before the set-based writes and the flags' merged reads: 34, 37, 33, 40 to 41). test_write_profile.py lists
# every statement (run it with -s); docs/benchmarks.md, "Writes: where the queries go".
UPPER_BOUND = 33
STATUSES = ("PRESENT", "LATE", "ABSENT", "EXCUSED")


def roll_call(lesson, students, shift=0):
    marks = [{"student_id": s.pk, "status": STATUSES[(i + shift) % 4], "note": ""} for i, s in enumerate(students)]
    roll_call_record(lesson=lesson, marks=marks, recorded_by=lesson.teacher.user)


def one_new_mark(w):
    Attendance.objects.create(lesson=w.lesson, student=w.students[0], status="LATE")


def one_corrected_mark(w):
    w.mark.status = "ABSENT"
    w.mark.save()


def one_deleted_mark(w):
    w.mark.delete()


def roll_call_of_the_class(w):
    roll_call(w.lesson, w.students)


def roll_call_changing_every_mark(w):
    roll_call(w.marked_lesson, w.students, shift=1)


def roll_call_leaving_out_half_the_class(w):
    roll_call(w.marked_lesson, w.students[: len(w.students) // 2])


PATHS = [
    one_new_mark,
    one_corrected_mark,
    one_deleted_mark,
    roll_call_of_the_class,
    roll_call_changing_every_mark,
    roll_call_leaving_out_half_the_class,
]


def measure_setup(size: int, day: datetime.date):
    """A class of ``size`` with a lesson, a homework and an already marked lesson of the day (``w.mark``: one of
    its marks)."""
    w = small_class(size, day=day)
    # History, so the rows of the day, term and week exist before the measured write.
    w.marked_lesson = Lesson.objects.create(
        class_group=w.klass, subject=w.subject, teacher=w.teacher, date=day, period=2
    )
    roll_call(w.marked_lesson, w.students)
    w.mark = Attendance.objects.get(lesson=w.marked_lesson, student=w.students[-1])
    return w


def measure(path, size: int, day: datetime.date) -> int:
    w = measure_setup(size, day)
    with CaptureQueriesContext(connection) as ctx:
        path(w)
    assert_summaries_exact()
    return len(ctx)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_queries_do_not_grow_with_the_class(path):
    measure(path, 5, datetime.date(2026, 9, 14))  # warm-up
    ten = measure(path, 10, datetime.date(2026, 9, 15))
    thirty = measure(path, 30, datetime.date(2026, 9, 16))
    print(f"{path.__name__}: {ten} queries with 10 students, {thirty} with 30")
    assert ten == thirty, f"{path.__name__}: {ten} queries for 10 students, {thirty} for 30"
    assert thirty <= UPPER_BOUND
