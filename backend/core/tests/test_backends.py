"""Session sign-in: the signed-in user is read with their profiles, so the role costs no query more."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.backends import ProfilesModelBackend
from schools.selectors import Role, user_role
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("make", "role"),
    [
        (lambda: factories.SchoolAdminFactory().user, Role.SCHOOL_ADMIN),
        (lambda: factories.TeacherFactory().user, Role.TEACHER),
        (lambda: factories.GuardianFactory().user, Role.GUARDIAN),
        (lambda: factories.UserFactory(), Role.NONE),
    ],
    ids=["school admin", "teacher", "guardian", "no profile"],
)
def test_the_user_and_their_role_in_one_query(make, role):
    user = make()
    with CaptureQueriesContext(connection) as queries:
        signed_in = ProfilesModelBackend().get_user(user.pk)
        found = user_role(user=signed_in)
        if role is Role.TEACHER:
            assert found.profile.school.name  # what a teacher's page reads next, read with them
    assert signed_in == user
    assert found.role is role
    assert len(queries) == 1, [query["sql"] for query in queries]


def test_an_inactive_or_missing_user_is_nobody():
    user = factories.TeacherFactory().user
    user.is_active = False
    user.save()
    assert ProfilesModelBackend().get_user(user.pk) is None
    assert ProfilesModelBackend().get_user(user.pk + 1000) is None


def test_a_page_reads_no_profile_after_the_user(client):
    teacher = factories.TeacherFactory()
    client.force_login(teacher.user)
    table = connection.ops.quote_name(teacher._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/teacher/")
    assert response.status_code == 200
    profile_reads = [query["sql"] for query in queries if query["sql"].startswith(f"SELECT {table}.")]
    assert not [sql for sql in profile_reads if "user_id" in sql.split("WHERE")[-1]], profile_reads
