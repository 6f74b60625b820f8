"""GET /api/analytics/students/at-risk/: who sees which flagged students, the filters, the CSV, the cost."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from analytics.models import EarlyWarningSettings
from analytics.services import behavior_score_set
from attendance.models import Attendance, Lesson
from tests import factories

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 20)
URL = "/api/analytics/students/at-risk/"


@pytest.fixture(autouse=True)
def throttle_cache_in_memory(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def flagged_class(school, *, size: int, name: str, teacher=None):
    """A class of ``size`` students, each absent at one lesson (attendance 0%); the first one also has two
    behaviour scores of 1."""
    klass = factories.ClassGroupFactory(school=school, name=name)
    assignment = factories.TeachingAssignmentFactory(
        teacher=teacher or factories.TeacherFactory(school=school), class_group=klass
    )
    lesson = Lesson.objects.create(
        class_group=klass, subject=assignment.subject, teacher=assignment.teacher, date=AS_OF, period=1
    )
    students = [
        factories.StudentFactory(school=school, class_group=klass, last_name=f"{name}-{n:02d}") for n in range(size)
    ]
    for student in students:
        Attendance.objects.create(lesson=lesson, student=student, status="ABSENT")
    for day in (AS_OF, AS_OF - datetime.timedelta(days=1)):
        behavior_score_set(student=students[0], day=day, score=1)
    return klass, assignment.teacher, students


@pytest.fixture
def world():
    w = type("World", (), {})()
    w.school = factories.SchoolFactory(name="Alpha")
    factories.TermFactory(school=w.school)
    EarlyWarningSettings.objects.create(school=w.school, flags_as_of=AS_OF)
    w.c1, w.teacher, w.c1_students = flagged_class(w.school, size=2, name="7A")
    w.c2, _, w.c2_students = flagged_class(w.school, size=1, name="7B")
    factories.StudentFactory(school=w.school, class_group=w.c1, last_name="Unflagged")
    w.admin = factories.SchoolAdminFactory(school=w.school).user
    w.other = factories.SchoolFactory(name="Beta")
    factories.TermFactory(school=w.other)
    EarlyWarningSettings.objects.create(school=w.other, flags_as_of=AS_OF)
    w.b1, _, w.b1_students = flagged_class(w.other, size=1, name="8A")
    w.superuser = factories.UserFactory(is_superuser=True)
    return w


def get(user, query: str = ""):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(URL + query)


def ids(response) -> list[int]:
    return [item["student"]["id"] for item in response.data["results"]]


def test_a_teacher_sees_the_flagged_students_of_their_classes_with_their_reasons(world):
    response = get(world.teacher.user)
    assert response.status_code == 200
    assert ids(response) == [s.pk for s in world.c1_students]
    first = response.data["results"][0]
    assert first["student"]["class_group"] == {"id": world.c1.pk, "name": "7A"}
    assert [(f["reason"], f["as_of"]) for f in first["flags"]] == [
        ("attendance", "2026-11-20"),
        ("behaviour", "2026-11-20"),
    ]
    assert first["flags"][0]["text"] == (
        "attendance 0.00% over the last 1 school day with marks (0 of 1 lessons); threshold 90%"
    )
    assert first["flags"][1]["figures"] == {"low_scores": 2, "at_most": 2, "days": 14, "threshold": 2}


def test_an_admin_sees_their_school_and_a_superuser_any_school(world):
    school_students = [*world.c1_students, *world.c2_students]
    assert ids(get(world.admin)) == [s.pk for s in school_students]
    assert get(world.admin, f"?school={world.other.pk}").status_code == 404
    assert ids(get(world.superuser)) == [s.pk for s in school_students + world.b1_students]
    assert ids(get(world.superuser, f"?school={world.other.pk}")) == [s.pk for s in world.b1_students]
    assert get(world.superuser, "?school=999999").status_code == 404


def test_filters_by_class_and_by_reason(world):
    assert ids(get(world.admin, f"?class_group={world.c2.pk}")) == [world.c2_students[0].pk]
    behaviour = [s.pk for s in (world.c1_students[0], world.c2_students[0])]
    assert ids(get(world.admin, "?reason=behaviour")) == behaviour
    assert ids(get(world.admin, "?reason=homework")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("?reason=sleepy", "reason"), ("?class_group=abc", "class_group"), ("?school=-1", "school")],
)
def test_bad_parameters_are_a_400_naming_the_field(world, query, field):
    response = get(world.admin, query)
    assert response.status_code == 400
    assert field in response.data


def test_a_class_out_of_scope_is_refused_like_a_missing_one(world):
    outside = get(world.teacher.user, f"?class_group={world.c2.pk}")  # same school, a class they do not teach
    other_school = get(world.admin, f"?class_group={world.b1.pk}")
    missing = get(world.admin, "?class_group=999999")
    assert outside.status_code == other_school.status_code == missing.status_code == 400
    assert str(outside.data["class_group"][0]) == str(missing.data["class_group"][0]).replace(
        "999999", str(world.c2.pk)
    )


def test_roles_without_the_list_are_refused(world):
    student = factories.StudentFactory(school=world.school, user=factories.UserFactory())
    assert get(student.user).status_code == 403
    assert APIClient().get(URL).status_code == 401


def test_pages_of_50(world):
    flagged_class(world.school, size=55, name="9Z")
    first = get(world.admin)
    assert (first.data["count"], len(first.data["results"])) == (58, 50)
    second = get(world.admin, "?page=2")
    assert len(second.data["results"]) == 8 and second.data["next"] is None


def test_csv_has_one_row_per_flag(world):
    response = get(world.admin, "?format=csv&class_group=" + str(world.c1.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["student_id", "student", "student_number", "class_group", "reason", "as_of", "details"]
    first, second = world.c1_students
    assert [(row[0], row[4], row[5]) for row in rows[1:]] == [
        (str(first.pk), "attendance", "2026-11-20"),
        (str(first.pk), "behaviour", "2026-11-20"),
        (str(second.pk), "attendance", "2026-11-20"),
    ]
    assert rows[2][6] == "2 behaviour scores at or below 2 in the last 14 days; threshold 2"


def test_the_flags_are_in_the_student_overview(world):
    client = APIClient()
    client.force_authenticate(world.admin)
    data = client.get(f"/api/analytics/student/{world.c1_students[1].pk}/overview/").data
    assert [flag["reason"] for flag in data["flags"]] == ["attendance"]


def test_the_cost_does_not_grow_with_the_flagged_students(world):
    get(world.admin)  # warm-up
    counts = {}
    for size in (3, 30):
        school = factories.SchoolFactory()
        factories.TermFactory(school=school)
        EarlyWarningSettings.objects.create(school=school, flags_as_of=AS_OF)
        flagged_class(school, size=size, name=f"size {size}")
        admin = factories.SchoolAdminFactory(school=school).user
        client = APIClient()
        client.force_authenticate(admin)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert response.data["count"] == size
        counts[size] = len(queries)
    print("queries of the at-risk list, by flagged students:", counts)
    assert counts[3] == counts[30]
