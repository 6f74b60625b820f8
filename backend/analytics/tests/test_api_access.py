"""Who may call which analytics endpoint for which object (SPEC §5 "Access"), as one matrix.

Unauthenticated 401; wrong role 403; an object outside the caller's scope 404, the same answer as for an
object that does not exist, so its existence is not revealed.
"""

import pytest
from rest_framework.authtoken.models import Token

from tests import factories

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "no_profile", "student", "guardian", "teacher", "school_admin", "superuser")

# The students of the world below, seen from the callers: "own" is the student user themself, the
# guardian's child, a student of the teacher's class; "classmate" sits in that same class; "other_class"
# is in a class of the same school the teacher does not teach; "other_school" is at another school.
TARGETS = ("own", "classmate", "other_class", "other_school", "missing")

OVERVIEW_EXPECTED = {
    "anonymous": dict.fromkeys(TARGETS, 401),
    "no_profile": dict.fromkeys(TARGETS, 403),
    "student": {"own": 200, "classmate": 404, "other_class": 404, "other_school": 404, "missing": 404},
    "guardian": {"own": 200, "classmate": 404, "other_class": 404, "other_school": 404, "missing": 404},
    "teacher": {"own": 200, "classmate": 200, "other_class": 404, "other_school": 404, "missing": 404},
    "school_admin": {"own": 200, "classmate": 200, "other_class": 200, "other_school": 404, "missing": 404},
    "superuser": {"own": 200, "classmate": 200, "other_class": 200, "other_school": 200, "missing": 404},
}

MY_PERFORMANCE_EXPECTED = {
    "anonymous": 401,
    "no_profile": 403,
    "student": 403,
    "guardian": 403,
    "teacher": 200,
    "school_admin": 403,
    # A district operator has no teacher profile to report on: this endpoint is the requesting teacher's.
    "superuser": 403,
}

# ?school= values: none (default), the caller's own school, another school, an id that does not exist.
SCHOOL_PARAMS = ("default", "own", "other_school", "missing")
SCHOOL_HEALTH_EXPECTED = {
    "anonymous": dict.fromkeys(SCHOOL_PARAMS, 401),
    "no_profile": dict.fromkeys(SCHOOL_PARAMS, 403),
    "student": dict.fromkeys(SCHOOL_PARAMS, 403),
    "guardian": dict.fromkeys(SCHOOL_PARAMS, 403),
    "teacher": dict.fromkeys(SCHOOL_PARAMS, 403),
    "school_admin": {"default": 200, "own": 200, "other_school": 404, "missing": 404},
    "superuser": {"default": 200, "own": 200, "other_school": 200, "missing": 404},
}


@pytest.fixture
def world(school):
    """Two schools; school A has a taught class (own student and a classmate) and a class the teacher does not
    teach; every role has a user."""
    taught = factories.ClassGroupFactory(school=school, name="7A")
    untaught = factories.ClassGroupFactory(school=school, name="7B")
    teacher = factories.TeachingAssignmentFactory(teacher__school=school, class_group=taught).teacher
    own = factories.StudentFactory(school=school, class_group=taught, user=factories.UserFactory())
    other_school = factories.SchoolFactory()
    factories.TermFactory(school=other_school)
    students = {
        "own": own,
        "classmate": factories.StudentFactory(school=school, class_group=taught),
        "other_class": factories.StudentFactory(school=school, class_group=untaught),
        "other_school": factories.StudentFactory(school=other_school),
    }
    # A teacher of the other school teaching there, and a lesson of another teacher in the untaught
    # class: neither widens the scope of the teacher under test.
    factories.TeachingAssignmentFactory(teacher__school=other_school, class_group=students["other_school"].class_group)
    factories.LessonFactory(class_group=untaught)
    users = {
        "anonymous": None,
        "no_profile": factories.UserFactory(),
        "student": own.user,
        "guardian": factories.GuardianFactory(school=school, students=[own]).user,
        "teacher": teacher.user,
        "school_admin": factories.SchoolAdminFactory(school=school).user,
        "superuser": factories.UserFactory(is_superuser=True, is_staff=True),
    }
    return {"school": school, "other_school": other_school, "students": students, "users": users}


def client_as(api_client, user):
    """Authenticate with a real token, so the authentication classes run as in production."""
    if user is not None:
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api_client


def student_id(world, target: str) -> int:
    return 999_999 if target == "missing" else world["students"][target].pk


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("role", ROLES)
def test_student_overview_access(api_client, world, role, target):
    client = client_as(api_client, world["users"][role])

    response = client.get(f"/api/analytics/student/{student_id(world, target)}/overview/")

    assert response.status_code == OVERVIEW_EXPECTED[role][target], response.data
    if response.status_code == 200:
        assert response.data["student"]["id"] == world["students"][target].pk


@pytest.mark.parametrize("role", ROLES)
def test_my_performance_access(api_client, world, role):
    client = client_as(api_client, world["users"][role])

    response = client.get("/api/analytics/teacher/my-performance/")

    assert response.status_code == MY_PERFORMANCE_EXPECTED[role], response.data
    if response.status_code == 200:
        assert response.data["teacher"]["id"] == world["users"]["teacher"].teacher.pk


def test_my_performance_shows_only_the_requesting_teacher(api_client, world):
    """There is no parameter to ask for another teacher: one is ignored, not obeyed."""
    other = factories.TeacherFactory(school=world["school"])
    client = client_as(api_client, world["users"]["teacher"])

    response = client.get(f"/api/analytics/teacher/my-performance/?teacher={other.pk}")

    assert response.status_code == 200
    assert response.data["teacher"]["id"] == world["users"]["teacher"].teacher.pk


def school_query(world, param: str) -> str:
    school_id = {
        "default": None,
        "own": world["school"].pk,
        "other_school": world["other_school"].pk,
        "missing": 999_999,
    }[param]
    return "" if school_id is None else f"?school={school_id}"


@pytest.mark.parametrize("param", SCHOOL_PARAMS)
@pytest.mark.parametrize("role", ROLES)
def test_school_health_access(api_client, world, role, param):
    client = client_as(api_client, world["users"][role])

    response = client.get(f"/api/analytics/admin/school-health/{school_query(world, param)}")

    assert response.status_code == SCHOOL_HEALTH_EXPECTED[role][param], response.data
    if response.status_code == 200:
        expected = {
            ("school_admin", "default"): [world["school"].pk],
            ("superuser", "default"): [world["school"].pk, world["other_school"].pk],
            ("school_admin", "own"): [world["school"].pk],
            ("superuser", "own"): [world["school"].pk],
            ("superuser", "other_school"): [world["other_school"].pk],
        }[role, param]
        assert [school["id"] for school in response.data["schools"]] == expected


ENDPOINTS = (
    "/api/analytics/student/{id}/overview/",
    "/api/analytics/teacher/my-performance/",
    "/api/analytics/admin/school-health/",
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unauthenticated_gets_401_with_a_challenge(api_client, world, endpoint):
    response = api_client.get(endpoint.format(id=world["students"]["own"].pk))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_bad_token_gets_401(api_client, world, endpoint):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.get(endpoint.format(id=world["students"]["own"].pk))

    assert response.status_code == 401


def test_an_inactive_user_gets_401(api_client, world):
    user = world["users"]["school_admin"]
    client = client_as(api_client, user)
    user.is_active = False
    user.save()

    response = client.get("/api/analytics/admin/school-health/")

    assert response.status_code == 401


def test_outside_scope_and_missing_look_the_same(api_client, world):
    """A 404 for another school's student is word for word the 404 for an id that does not exist."""
    client = client_as(api_client, world["users"]["guardian"])

    outside = client.get(f"/api/analytics/student/{world['students']['other_school'].pk}/overview/")
    missing = client.get("/api/analytics/student/999999/overview/")

    assert (outside.status_code, outside.data) == (missing.status_code, missing.data)


def test_a_guardian_sees_each_of_their_children(api_client, world):
    """A guardian with two children (in different classes) sees both, and no one else."""
    second = world["students"]["other_class"]
    guardian = world["users"]["guardian"].guardian
    guardian.students.add(second)
    client = client_as(api_client, guardian.user)

    statuses = {
        target: client.get(f"/api/analytics/student/{world['students'][target].pk}/overview/").status_code
        for target in ("own", "other_class", "classmate", "other_school")
    }

    assert statuses == {"own": 200, "other_class": 200, "classmate": 404, "other_school": 404}


def test_a_teacher_losing_the_class_loses_its_students(api_client, world):
    teacher = world["users"]["teacher"].teacher
    client = client_as(api_client, teacher.user)
    url = f"/api/analytics/student/{world['students']['classmate'].pk}/overview/"
    assert client.get(url).status_code == 200

    teacher.assignments.all().delete()

    assert client.get(url).status_code == 404


def test_a_superuser_sees_any_schools_health_with_its_term(api_client, world):
    client = client_as(api_client, world["users"]["superuser"])
    term = world["other_school"].terms.get()

    response = client.get(f"/api/analytics/admin/school-health/?school={world['other_school'].pk}&term={term.pk}")

    assert response.status_code == 200, response.data
    assert response.data["term"]["id"] == term.pk
