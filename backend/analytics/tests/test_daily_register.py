"""The daily-register rule: a school with no subject lesson in a term counts every mark of the term.

Hand-worked: one student, a register lesson each day (no subject), graded homework in Maths, so the
Maths row exists through its grade and its attendance is over the register marks.
"""

import datetime
from decimal import Decimal

import pytest

from analytics.models import StudentTermPerformance
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from homework.models import Grade, Homework, HomeworkSubmission
from tests.factories import (
    ClassGroupFactory,
    SchoolFactory,
    StudentFactory,
    SubjectFactory,
    TeacherFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

MON, TUE, WED = (datetime.date(2026, 9, d) for d in (14, 15, 16))


@pytest.fixture
def school_with_register():
    school = SchoolFactory(timezone="Africa/Nairobi")
    term = TermFactory(school=school)
    klass = ClassGroupFactory(school=school)
    teacher = TeacherFactory(school=school)
    maths = SubjectFactory(school=school, name="Maths")
    student = StudentFactory(school=school, class_group=klass)
    homework = Homework.objects.create(
        class_group=klass, subject=maths, teacher=teacher, title="Sums", assigned_date=MON, due_date=TUE, max_score=8
    )
    submission = HomeworkSubmission.objects.create(
        homework=homework, student=student, submitted_at=datetime.datetime(2026, 9, 15, 8, tzinfo=datetime.UTC)
    )
    Grade.objects.create(submission=submission, score=Decimal("7"))
    for day, status in ((MON, "PRESENT"), (TUE, "ABSENT"), (WED, "LATE")):
        register = Lesson.objects.create(class_group=klass, teacher=teacher, date=day, period=1, subject=None)
        Attendance.objects.create(lesson=register, student=student, status=status)
    return {"school": school, "term": term, "klass": klass, "teacher": teacher, "maths": maths, "student": student}


def row(w) -> StudentTermPerformance:
    return StudentTermPerformance.objects.get(student=w["student"], term=w["term"], subject=w["maths"])


def test_a_term_without_subject_lessons_counts_the_register_marks(school_with_register):
    w = school_with_register
    maths = row(w)
    assert (maths.average_grade, maths.grades_count) == (Decimal("87.50"), 1)  # 7 / 8
    assert (maths.lessons_marked, maths.lessons_attended, maths.lessons_counted) == (3, 2, 3)
    assert maths.attendance_percentage == Decimal("66.67")
    assert_summaries_exact()


def test_the_first_subject_lesson_of_the_term_switches_to_subject_attendance(school_with_register):
    w = school_with_register
    english = SubjectFactory(school=w["school"], name="English")
    lesson = Lesson.objects.create(class_group=w["klass"], teacher=w["teacher"], date=WED, period=2, subject=english)
    assert_summaries_exact()
    maths = row(w)
    assert (maths.lessons_marked, maths.lessons_attended, maths.lessons_counted) == (0, 0, 0)
    assert maths.attendance_percentage is None

    # And back: the subject lesson becomes a register lesson again.
    lesson.subject = None
    lesson.save()
    assert_summaries_exact()
    maths = row(w)
    assert (maths.lessons_marked, maths.lessons_attended, maths.lessons_counted) == (3, 2, 3)


def test_a_row_kept_by_a_teacher_comment_follows_the_register_rule():
    school = SchoolFactory()
    term = TermFactory(school=school)
    klass = ClassGroupFactory(school=school)
    teacher = TeacherFactory(school=school)
    maths = SubjectFactory(school=school, name="Maths")
    student = StudentFactory(school=school, class_group=klass)
    lesson = Lesson.objects.create(class_group=klass, teacher=teacher, date=MON, period=1, subject=maths)
    Attendance.objects.create(lesson=lesson, student=student, status="ABSENT")
    StudentTermPerformance.objects.filter(student=student, term=term, subject=maths).update(teacher_comment="Ill.")

    # The only subject lesson of the term becomes a register: the row stays (comment) and counts the
    # term's register marks: one absence.
    lesson.subject = None
    lesson.save()
    assert_summaries_exact()
    maths_row = StudentTermPerformance.objects.get(student=student, term=term, subject=maths)
    assert (maths_row.lessons_marked, maths_row.lessons_attended, maths_row.lessons_counted) == (1, 0, 1)
    assert maths_row.attendance_percentage == Decimal("0.00")
    assert maths_row.teacher_comment == "Ill."
