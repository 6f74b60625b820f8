"""The analytics endpoints cost a fixed number of queries: not more for a bigger school or for more weeks shown."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analytics.models import StudentDailySummary
from attendance.services import roll_call_record
from core.authentication import LifetimeTokenAuthentication
from core.models import User
from schools.models import School
from schools.selectors import Role, user_role
from tests import factories

pytestmark = pytest.mark.django_db

TERM_START = factories.TERM_START  # Monday 7 September 2026
TODAY = datetime.datetime(2026, 10, 28, 9, 0, tzinfo=datetime.UTC)  # Wednesday of the term's 8th week
WEEKS = 8
STATUSES = ("PRESENT", "LATE", "ABSENT", "EXCUSED")

# The counts measured (the user already authenticated, here without the profiles that token authentication reads
# with the user: test_token_reads_the_role_with_the_user), so that a new query fails here and is looked at; printed
# with -s. Overview: role, student in scope with the school's terms (for the term and the previous term), subject
# rows, the standings of the term and the previous term (one read), days, grades, standing snapshots, the student's
# early-warning flags. My performance: role (two profile look-ups), school, the teacher's weekly metrics,
# the school's weeks with its teacher count, the missing data (lessons without roll call, overdue ungraded
# homework, the term asking for comments). School health: role, schools with their student and teacher counts,
# terms, school days, term attendance, today's roll calls.
MAX_QUERIES = {"overview": 8, "my-performance": 8, "school-health": 6}


@pytest.fixture(autouse=True)
def throttle_cache_in_memory(settings):
    """The counts are the endpoints' own reads. The throttle's history is in the shared cache: with Redis no SQL;
    with the database cache (no REDIS_URL) a read and a write of its table (6 more queries a request here)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def monday(week: int) -> datetime.date:
    return TERM_START + datetime.timedelta(weeks=week)


def build_school(size: int):
    """A school with one class of ``size`` students and eight weeks of everything: marks on two days a week
    in two subjects, homework graded each week, fees billed and paid, behaviour scores, messages."""
    school = factories.SchoolFactory()
    factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    teachers = []
    for _ in range(2):
        assignment = factories.TeachingAssignmentFactory(teacher__school=school, class_group=klass)
        teachers.append((assignment.teacher, assignment.subject))
    students = factories.StudentFactory.create_batch(size, school=school, class_group=klass)
    guardian = factories.GuardianFactory(school=school, students=students[:1])
    for week in range(WEEKS):
        for offset, (teacher, subject) in enumerate(teachers):
            lesson = factories.LessonFactory(
                class_group=klass, subject=subject, teacher=teacher, date=monday(week) + datetime.timedelta(days=offset)
            )
            marks = [
                {"student_id": student.pk, "status": STATUSES[(i + week) % 4], "note": ""}
                for i, student in enumerate(students)
            ]
            roll_call_record(lesson=lesson, marks=marks, recorded_by=teacher.user)
        teacher, subject = teachers[week % 2]
        homework = factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=monday(week)
        )
        for i, student in enumerate(students[:3]):
            factories.GradeFactory(
                submission=factories.SubmissionFactory(homework=homework, student=student), score=Decimal(10 + i)
            )
        factories.CommunicationFactory(
            school=school,
            sender=teacher.user,
            recipient=guardian,
            sent_at=datetime.datetime.combine(monday(week), datetime.time(10), tzinfo=datetime.UTC),
        )
    for i, student in enumerate(students):
        invoice = factories.InvoiceFactory(student=student, issued_on=monday(i % WEEKS), due_date=monday(i % WEEKS))
        factories.PaymentFactory(
            invoice=invoice,
            paid_at=datetime.datetime.combine(monday(i % WEEKS), datetime.time(12), tzinfo=datetime.UTC),
        )
    StudentDailySummary.objects.filter(school=school).update(behavior_score=3)
    return {
        "student": students[0],
        "teacher": teachers[0][0],
        "admin": factories.SchoolAdminFactory(school=school),
    }


def week_range(weeks: int) -> str:
    last = monday(WEEKS - 1) + datetime.timedelta(days=6)
    return f"from={monday(WEEKS - weeks)}&to={last}"


def requests_of(school: dict, weeks: int) -> dict[str, tuple]:
    """Each endpoint's request showing ``weeks`` weeks: (user, url)."""
    return {
        "overview": (
            school["admin"].user,
            f"/api/analytics/student/{school['student'].pk}/overview/?{week_range(weeks)}",
        ),
        "my-performance": (school["teacher"].user, f"/api/analytics/teacher/my-performance/?weeks={weeks}"),
        "school-health": (school["admin"].user, f"/api/analytics/admin/school-health/?{week_range(weeks)}"),
    }


def client_of(user) -> APIClient:
    """A client acting as a fresh copy of the user, as each real request loads it (no profile cached from before)."""
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def measure(school: dict, weeks: int) -> dict[str, int]:
    counts = {}
    for name, (user, url) in requests_of(school, weeks).items():
        client = client_of(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.data
        counts[name] = len(queries)
    return counts


def sizes_of(school: dict, weeks: int) -> dict[str, int]:
    """How much each response holds, to show that the bigger school and period were really read."""
    sizes = {}
    for name, (user, url) in requests_of(school, weeks).items():
        data = client_of(user).get(url).data
        sizes[name] = len(data.get("weeks") or data.get("weekly") or data.get("attendance_weekly"))
    return sizes


def test_query_counts_do_not_grow_with_students_or_weeks():
    measure(build_school(2), weeks=2)  # warm-up: first-time work (content types, caches) done
    small, big = build_school(5), build_school(25)

    counts = {(size, weeks): measure(school, weeks) for size, school in ((5, small), (25, big)) for weeks in (2, WEEKS)}
    print("queries per request, (students, weeks):", counts)

    assert sizes_of(big, 2) == dict.fromkeys(MAX_QUERIES, 2)
    assert sizes_of(big, WEEKS) == dict.fromkeys(MAX_QUERIES, WEEKS)
    assert counts[5, 2] == counts[25, 2] == counts[5, WEEKS] == counts[25, WEEKS]
    assert all(counts[25, WEEKS][name] <= bound for name, bound in MAX_QUERIES.items()), counts[25, WEEKS]


def test_default_requests_cost_the_same_for_a_bigger_school():
    """Without parameters: the current term (overview, school health) and the last 8 weeks (my performance)."""
    measure(build_school(2), weeks=2)
    defaults = {}
    for size in (5, 25):
        school = build_school(size)
        defaults[size] = {}
        for name, (user, url) in requests_of(school, WEEKS).items():
            client = client_of(user)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url.split("?")[0]).status_code == 200
            defaults[size][name] = len(queries)
    print("queries per default request, by students:", defaults)

    assert defaults[5] == defaults[25]


def test_school_health_across_schools_costs_the_same_for_more_schools():
    """A district operator's rollup over every school: the cost does not grow with the number of schools."""
    operator = factories.UserFactory(is_superuser=True)
    counts = {}
    for schools in (2, 6):
        while School.objects.count() < schools:
            # A few rows of everything the rollup reads is enough here.
            school = factories.SchoolFactory()
            factories.TermFactory(school=school)
            mark = factories.AttendanceFactory(lesson__class_group__school=school, lesson__date=monday(1))
            factories.PaymentFactory(invoice__student=mark.student, invoice__issued_on=monday(1))
        client = client_of(operator)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/analytics/admin/school-health/")
        assert response.status_code == 200, response.data
        assert len(response.data["schools"]) == schools
        counts[schools] = len(queries)
    print("queries of the all-schools health, by schools:", counts)

    assert counts[2] == counts[6]


def test_token_reads_the_role_with_the_user():
    """Token authentication reads the token, its user and every profile in one query, so the role look-up and a
    teacher's school read nothing more; with a token the endpoints cost that one query plus their own reads (the
    counts above less the role's look-ups and, for a teacher, the school)."""
    school = factories.SchoolFactory()
    student = factories.StudentFactory(school=school, user=factories.UserFactory())
    users = {
        Role.SCHOOL_ADMIN: factories.SchoolAdminFactory(school=school).user,
        Role.TEACHER: factories.TeacherFactory(school=school).user,
        Role.GUARDIAN: factories.GuardianFactory(school=school, students=[student]).user,
        Role.STUDENT: student.user,
        Role.NONE: factories.UserFactory(),
    }
    for role, user in users.items():
        key = Token.objects.create(user=user).key
        with CaptureQueriesContext(connection) as queries:
            found, _ = LifetimeTokenAuthentication().authenticate_credentials(key)
            assert user_role(user=found).role is role
            assert user_role(user=found).school_id == (None if role is Role.NONE else school.pk)
            if role is Role.TEACHER:
                assert found.teacher.school == school
        assert len(queries) == 1, (role, [query["sql"] for query in queries])
