"""Who may open which page: login required (to the sign-in page), 403 for another role's page (as the API's
role endpoints), 404 for an object outside the caller's scope (as the API: its existence is not revealed)."""

import pytest
from django.test import Client

from tests.factories import (
    ClassGroupFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TeachingAssignmentFactory,
    TermFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGES = (
    "children",
    "report-own",
    "report-other",
    "teacher",
    "class-own",
    "class-other",
    "health-own",
    "health-other",
    "schools",
)

# role -> expected status per page ("own": in the role's scope, "other": another student / class / school).
MATRIX = {
    "guardian": (200, 200, 404, 403, 403, 403, 403, 403, 403),
    "student": (403, 200, 404, 403, 403, 403, 403, 403, 403),
    "teacher": (403, 200, 404, 200, 200, 404, 403, 403, 403),
    "admin": (403, 200, 404, 403, 200, 404, 200, 404, 403),
    "superuser": (403, 200, 200, 403, 200, 200, 200, 200, 200),
    "no role": (403, 403, 403, 403, 403, 403, 403, 403, 403),
}


@pytest.fixture
def world(hillcrest, ann_user):
    w = hillcrest
    elsewhere = SchoolFactory(name="Elsewhere")
    TermFactory(school=elsewhere)
    far_class = ClassGroupFactory(school=elsewhere)
    far_student = StudentFactory(school=elsewhere, class_group=far_class)
    # A class of Hillcrest that Moss does not teach, with a student none of the users is linked to.
    other_class = ClassGroupFactory(school=w.school, name="Grade 8B", grade_level=8)
    other_student = StudentFactory(school=w.school, class_group=other_class)
    TeachingAssignmentFactory(teacher=TeacherFactory(school=w.school), class_group=other_class, subject=w.maths)
    users = {
        "guardian": (w.ben.guardians.get().user, w.ben),
        "student": (ann_user, w.ann),
        "teacher": (w.moss.user, w.ben),
        "admin": (w.admin.user, w.ben),
        "superuser": (UserFactory(is_superuser=True, is_staff=True), w.ben),
        "no role": (UserFactory(), w.ben),
    }
    return w, users, {"elsewhere": elsewhere, "far_class": far_class, "far_student": far_student,
                      "other_class": other_class, "other_student": other_student}  # fmt: skip


def urls(w, own_student, far, *, role: str = "") -> dict[str, str]:
    """ "other": out of the role's scope: another school's for an admin, else another class of the same school."""
    other_student, other_class = far["other_student"], far["other_class"]
    if role == "admin":
        other_student, other_class = far["far_student"], far["far_class"]
    return {
        "children": "/children/",
        "report-own": f"/students/{own_student.pk}/report/",
        "report-other": f"/students/{other_student.pk}/report/",
        "teacher": "/teacher/",
        "class-own": f"/classes/{w.klass.pk}/",
        "class-other": f"/classes/{other_class.pk}/",
        "health-own": f"/schools/{w.school.pk}/health/",
        "health-other": f"/schools/{far['elsewhere'].pk}/health/",
        "schools": "/schools/",
    }


def test_the_access_matrix_of_the_pages(world):
    w, users, far = world
    seen, expected = {}, {}
    for role, (user, own) in users.items():
        client = Client()
        client.force_login(user)
        for name, url in urls(w, own, far, role=role).items():
            seen[role, name] = client.get(url).status_code
            expected[role, name] = MATRIX[role][PAGES.index(name)]
    assert seen == expected


def test_another_schools_objects_are_404_for_an_admin_and_a_teacher(world):
    w, users, far = world
    for role in ("admin", "teacher"):
        client = Client()
        client.force_login(users[role][0])
        for url in (
            f"/students/{far['far_student'].pk}/report/",
            f"/classes/{far['far_class'].pk}/",
            "/students/999999/report/",
            "/classes/999999/",
        ):
            assert client.get(url).status_code == 404, (role, url)
    client = Client()
    client.force_login(users["admin"][0])
    assert client.get("/schools/999999/health/").status_code == 404
    huge = "99999999999999999999999"  # beyond every integer column: still just "not found"
    for url in (f"/schools/{huge}/health/", f"/classes/{huge}/", f"/students/{huge}/report/"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/classes/{w.klass.pk}/?term={huge}").status_code == 400


def test_signed_out_every_page_sends_to_the_sign_in_page(world):
    w, _, far = world
    for url in urls(w, w.ben, far).values():
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/sign-in/?next={url}"


def test_a_second_admin_of_another_school_sees_only_theirs(world):
    w, _, far = world
    admin = SchoolAdminFactory(school=far["elsewhere"])
    client = Client()
    client.force_login(admin.user)
    assert client.get(f"/schools/{far['elsewhere'].pk}/health/").status_code == 200
    assert client.get(f"/schools/{w.school.pk}/health/").status_code == 404
    assert client.get("/")["Location"] == f"/schools/{far['elsewhere'].pk}/health/"
