"""Classes compared (docs/metrics.md, "Figures of the pages"): per class over its active students' rows of the
term, attendance summed and the mean of the overall averages; worked out by hand on rows written here."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.models import StudentTermAttendance, StudentTermStanding
from analytics.selectors import classes_compared
from schools.models import ClassGroup
from tests.factories import ClassGroupFactory, SchoolFactory, StudentFactory, TermFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def classes():
    school = SchoolFactory()
    term = TermFactory(school=school, start_date=datetime.date(2026, 9, 7), end_date=datetime.date(2026, 12, 18))
    other_term = TermFactory(school=school, start_date=datetime.date(2026, 5, 4), end_date=datetime.date(2026, 7, 31))
    # Made in another order than the page lists them (grade level, then name).
    b8 = ClassGroupFactory(school=school, name="8B", grade_level=8)
    a7 = ClassGroupFactory(school=school, name="7A", grade_level=7)
    empty = ClassGroupFactory(school=school, name="7C", grade_level=7)
    leavers = ClassGroupFactory(school=school, name="7B", grade_level=7)

    def student(klass, *, active=True, attended=None, counted=None, average="none", other=True):
        pupil = StudentFactory(school=school, class_group=klass, active=active)
        if attended is not None:
            StudentTermAttendance.objects.create(
                student=pupil, term=term, school=school, lessons_attended=attended, lessons_counted=counted
            )
        if average != "none":
            StudentTermStanding.objects.create(student=pupil, term=term, school=school, overall_average=average)
        if other:  # rows of the other term: never counted in this one
            StudentTermAttendance.objects.create(
                student=pupil, term=other_term, school=school, lessons_attended=1, lessons_counted=50
            )
            StudentTermStanding.objects.create(
                student=pupil, term=other_term, school=school, overall_average=Decimal("1.00")
            )
        return pupil

    # 7A: attendance (17 + 9 + 0) / (20 + 10 + 0) = 26 / 30 = 86.666… -> 86.67; averages 70.01 and 80.00 (the
    # third has no overall average, the fourth no standing row): 150.01 / 2 = 75.005 -> 75.01 (half up).
    student(a7, attended=17, counted=20, average=Decimal("70.01"))
    student(a7, attended=9, counted=10, average=Decimal("80.00"))
    student(a7, attended=0, counted=0, average=None)
    student(a7)  # no row of this term at all
    student(a7, active=False, attended=0, counted=40, average=Decimal("10.00"))  # left: not counted
    # 7B: only a student who left: 0 students, no figures.
    student(leavers, active=False, attended=5, counted=5, average=Decimal("99.00"))
    # 8B: one student, 3 of 4 = 75.00, average 66.67.
    student(b8, attended=3, counted=4, average=Decimal("66.67"))
    return {"term": term, "other_term": other_term, "a7": a7, "b8": b8, "empty": empty, "leavers": leavers}


def test_each_class_over_its_active_students_rows_of_the_term(classes):
    c = classes
    ids = [c["b8"].pk, c["a7"].pk, c["empty"].pk, c["leavers"].pk]
    with CaptureQueriesContext(connection) as queries:
        rows = classes_compared(term=c["term"], class_group_ids=ids)
    assert len(queries) == 1
    assert rows == [
        {
            "id": c["a7"].pk,
            "name": "7A",
            "grade_level": 7,
            "students": 4,
            "attendance_rate": Decimal("86.67"),
            "average_grade": Decimal("75.01"),
        },
        {
            "id": c["leavers"].pk,
            "name": "7B",
            "grade_level": 7,
            "students": 0,
            "attendance_rate": None,
            "average_grade": None,
        },
        {
            "id": c["empty"].pk,
            "name": "7C",
            "grade_level": 7,
            "students": 0,
            "attendance_rate": None,
            "average_grade": None,
        },
        {
            "id": c["b8"].pk,
            "name": "8B",
            "grade_level": 8,
            "students": 1,
            "attendance_rate": Decimal("75.00"),
            "average_grade": Decimal("66.67"),
        },
    ]


def test_the_other_term_and_no_term(classes):
    c = classes
    ids = ClassGroup.objects.filter(pk__in=[c["a7"].pk, c["b8"].pk]).values_list("pk", flat=True)  # as a subquery
    # The other term: 7A's four active students each 1 of 50 -> 4 / 200 = 2.00%, average 1.00; 8B 1 of 50.
    assert [
        (row["name"], row["students"], row["attendance_rate"], row["average_grade"])
        for row in classes_compared(term=c["other_term"], class_group_ids=ids)
    ] == [("7A", 4, Decimal("2.00"), Decimal("1.00")), ("8B", 1, Decimal("2.00"), Decimal("1.00"))]
    # No term: the classes and their active students, no figures.
    assert [
        (row["name"], row["students"], row["attendance_rate"], row["average_grade"])
        for row in classes_compared(term=None, class_group_ids=ids)
    ] == [("7A", 4, None, None), ("8B", 1, None, None)]
    assert classes_compared(term=c["term"], class_group_ids=[]) == []


def test_a_teachers_classes_are_those_of_their_scope_in_compiled_queries(classes):
    """The teacher page's classes: the classes the teacher has an assignment for (7A) or has held a lesson with
    (8B), not a class only another teacher teaches (7B); the same rows as the ids of the scope function gives,
    and asked for again with another teacher and term (the compiled SQL with new values)."""
    from attendance.models import Lesson
    from schools.selectors import class_groups_taught_by
    from tests.factories import SubjectFactory, TeacherFactory, TeachingAssignmentFactory

    c = classes
    school = c["a7"].school
    subject = SubjectFactory(school=school)
    moss, other = TeacherFactory(school=school), TeacherFactory(school=school)
    TeachingAssignmentFactory(teacher=moss, class_group=c["a7"], subject=subject)
    # Written without the engine (bulk_create sends no signal): a saved lesson would recompute the term rows
    # written by hand above from their (absent) marks.
    Lesson.objects.bulk_create(
        [Lesson(teacher=moss, class_group=c["b8"], subject=subject, date=datetime.date(2026, 9, 8), period=1)]
    )
    TeachingAssignmentFactory(teacher=other, class_group=c["leavers"], subject=subject)

    for teacher, term in ((moss, c["term"]), (other, c["term"]), (moss, c["other_term"]), (moss, None)):
        with CaptureQueriesContext(connection) as queries:
            rows = classes_compared(term=term, teacher=teacher)
        assert len(queries) == 2  # the ids of their classes, then the figures
        ids = class_groups_taught_by(teacher=teacher).values_list("pk", flat=True)
        assert rows == classes_compared(term=term, class_group_ids=ids)
    assert [(row["name"], row["students"], row["attendance_rate"], row["average_grade"]) for row in rows] == [
        ("7A", 4, None, None),
        ("8B", 1, None, None),
    ]
    assert [
        (row["name"], row["attendance_rate"], row["average_grade"])
        for row in classes_compared(term=c["term"], teacher=moss)
    ] == [("7A", Decimal("86.67"), Decimal("75.01")), ("8B", Decimal("75.00"), Decimal("66.67"))]
    assert [row["name"] for row in classes_compared(term=c["term"], teacher=other)] == ["7B"]
