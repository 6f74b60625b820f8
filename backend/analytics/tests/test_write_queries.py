"""What a grade's save, re-grade and delete, a mark's save and a roll call cost in queries, step by step.

Each write is measured on a school with a few weeks of history (marks, graded homework, flags as of a
fixed date), with 10 and then 30 students: the counts must be equal (they do not grow with the class)
and at most the bounds below; the summaries (flags included) must equal the from-scratch oracle after it.
Run with ``-s`` to print every query with its time and the step of the engine it belongs to
(docs/benchmarks.md, "Grade saves and flags: where the queries go").
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from analytics.models import EarlyWarningSettings
from analytics.services import analytics_rebuild
from analytics.tests.helpers import small_class
from analytics.tests.oracle import assert_summaries_exact
from analytics.tests.write_profile import Profile
from attendance.models import Attendance, Lesson
from attendance.services import roll_call_record
from homework.models import Grade, Homework, HomeworkSubmission

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 20)
STATUSES = ("PRESENT", "LATE", "ABSENT", "EXCUSED")


def history(size: int):
    """A class with four weeks of marks and graded homework before AS_OF (written in bulk, then the school
    rebuilt: the summaries are as the writes would have left them), and the flags as of AS_OF."""
    w = small_class(size, day=AS_OF)
    EarlyWarningSettings.objects.create(school=w.school, flags_as_of=AS_OF)
    marks, grades = [], []
    for week in range(4):
        day = AS_OF - datetime.timedelta(days=7 * week + 1)
        lesson = Lesson.objects.create(class_group=w.klass, subject=w.subject, teacher=w.teacher, date=day, period=2)
        marks += [
            Attendance(lesson=lesson, student=s, status=STATUSES[(i + week) % 4]) for i, s in enumerate(w.students)
        ]
        work = Homework.objects.create(
            class_group=w.klass,
            subject=w.subject,
            teacher=w.teacher,
            title=f"week {week}",
            assigned_date=day - datetime.timedelta(days=2),
            due_date=day,
            max_score=Decimal("20"),
        )
        submissions = HomeworkSubmission.objects.bulk_create(
            [HomeworkSubmission(homework=work, student=student) for student in w.students]
        )
        grades += [
            Grade(submission=submission, score=Decimal((i * 7 + week * 5) % 21), max_score=work.max_score)
            for i, submission in enumerate(submissions)
        ]
    Attendance.objects.bulk_create(marks)
    Grade.objects.bulk_create(grades)
    analytics_rebuild(school_id=w.school.pk)
    w.marked_lesson = lesson
    w.submission = HomeworkSubmission.objects.create(homework=w.homework, student=w.students[0])
    w.grade = Grade.objects.filter(submission__student=w.students[-1]).order_by("-id").first()
    w.mark = Attendance.objects.get(lesson=w.marked_lesson, student=w.students[-1])
    return w


def new_grade(w):
    Grade.objects.create(submission=w.submission, score=Decimal("7"))


def changed_grade(w):
    w.grade.score = w.grade.score + 1 if w.grade.score < 20 else Decimal("3")
    w.grade.save()


def deleted_grade(w):
    w.grade.delete()


def new_mark(w):
    Attendance.objects.create(lesson=w.lesson, student=w.students[0], status="LATE")


def changed_mark(w):
    w.mark.status = "ABSENT" if w.mark.status != "ABSENT" else "PRESENT"
    w.mark.save()


def roll_call(w):
    marks = [{"student_id": s.pk, "status": STATUSES[i % 4], "note": ""} for i, s in enumerate(w.students)]
    roll_call_record(lesson=w.lesson, marks=marks, recorded_by=w.teacher.user)


# Upper bounds measured on PostgreSQL (SQLite runs a few fewer: no row or advisory locks); the summaries'
# upserts and deletes run only where a row differs, so the count of one write varies by one or two. A grade
# written or deleted also keeps its teacher's grading day (stored row, computation, upsert or delete: 3 more);
# a score changed does not touch it.
BOUNDS = {
    new_grade: 18,
    changed_grade: 19,
    deleted_grade: 17,
    new_mark: 32,
    changed_mark: 34,
    roll_call: 37,
}
GRADE_PATHS = (new_grade, changed_grade, deleted_grade)


def measure(path, size: int) -> Profile:
    w = history(size)
    with Profile() as profile:
        path(w)
    assert_summaries_exact()
    return profile


@pytest.mark.parametrize("path", list(BOUNDS), ids=lambda p: p.__name__)
def test_write_queries_do_not_grow_with_the_class(path):
    measure(path, 5)  # warm-up
    ten = measure(path, 10)
    thirty = measure(path, 30)
    print("\n" + thirty.text(f"{path.__name__} ({connection.vendor}, 30 students)"))
    # The reads do not grow with the class (the writes of the summaries depend on which rows differ).
    reads = [[q for q in profile.queries if q.sql.lstrip().startswith("SELECT")] for profile in (ten, thirty)]
    assert len(reads[0]) == len(reads[1]), f"{path.__name__}: {len(reads[0])} reads for 10 students, {len(reads[1])}"
    assert len(ten) <= BOUNDS[path] and len(thirty) <= BOUNDS[path], (len(ten), len(thirty))
    # The flags read the students with their school's settings, then only what the changed rule needs: the
    # grades with the term averages after a grade, the daily rows after a mark (the school's flag date is
    # stored, so the other rules keep their stored state).
    for profile in (ten, thirty):
        reads = [" ".join(q.sql.split())[:60] for q in profile.steps("analytics.engine.flags")]
        assert len(reads) == 2, reads
        assert ("homework_grade" in profile.steps("analytics.engine.flags")[1].sql) == (path in GRADE_PATHS)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's (SQLite locks the database)")
@pytest.mark.parametrize("path", [new_grade, changed_grade, deleted_grade, changed_mark], ids=lambda p: p.__name__)
def test_row_locks_find_their_rows_through_the_index(path):
    """Each row lock of a write finds its rows by their ids, not by filtering the table's every row.

    The parents a row has and will have were once two IN subqueries joined by OR, which PostgreSQL cannot
    turn into a join: it filtered every submission (every lesson) of the database with a subplan, 100 ms per
    grade save at 1,000 students and growing with the table.
    """
    w = history(5)
    locks = []

    def capture(execute, sql, params, many, context):
        if "FOR NO KEY UPDATE" in sql:
            locks.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        path(w)
    assert locks
    with connection.cursor() as cursor:
        for sql, params in locks:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "SubPlan" not in plan, f"{sql}\n{plan}"
