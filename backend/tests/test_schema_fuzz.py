"""Schema fuzzing: schemathesis generates requests from the app's own OpenAPI schema (/api/schema/) and sends them
in-process through the WSGI application, as a school admin, a teacher, a guardian and a student of a school with
data (the last two reach the 403s and 404s of the roles with the narrowest scope, and the endpoints they may use).

Every answer must be something other than a server error, and every documented answer must match its schema.
Bounded (a fixed seed and 25 examples per operation) so it runs with the normal suite.

Driven with Hypothesis directly (``operation.as_strategy``) rather than through schemathesis' pytest plugin:
the plugin's lazy-fixture loader uses a pytest internal that pytest 9.2 no longer has.
"""

import datetime
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import ScopedRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from attendance.services import roll_call_record
from tests import factories

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]
EXAMPLES_PER_OPERATION = 25
DAY = datetime.timedelta(days=1)
ANALYTICS_PATHS = {
    "/api/analytics/student/{student_id}/overview/",
    "/api/analytics/teacher/my-performance/",
    "/api/analytics/admin/school-health/",
}


def seed_school() -> dict:
    """A school with two weeks of lessons, marks, homework, grades, messages, fees; and a second school."""
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    term = factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    assignment = factories.TeachingAssignmentFactory(teacher__school=school, class_group=klass)
    teacher, subject = assignment.teacher, assignment.subject
    students = factories.StudentFactory.create_batch(4, school=school, class_group=klass)
    students[0].user = factories.UserFactory()
    students[0].save()
    guardian = factories.GuardianFactory(school=school, students=students[:2])
    lessons, submissions, invoices = [], [], []
    for day in (factories.TERM_START, factories.TERM_START + 2 * DAY, factories.TERM_START + 7 * DAY):
        lesson = factories.LessonFactory(class_group=klass, subject=subject, teacher=teacher, date=day)
        statuses = ("PRESENT", "LATE", "ABSENT", "EXCUSED")
        marks = [{"student_id": s.pk, "status": statuses[i], "note": ""} for i, s in enumerate(students)]
        roll_call_record(lesson=lesson, marks=marks, recorded_by=teacher.user)
        lessons.append(lesson)
        homework = factories.HomeworkFactory(class_group=klass, subject=subject, teacher=teacher, assigned_date=day)
        for i, student in enumerate(students[:3]):
            submission = factories.SubmissionFactory(homework=homework, student=student)
            submissions.append(submission)
            if i < 2:
                factories.GradeFactory(submission=submission, score=Decimal(12 + i), graded_by=teacher.user)
        factories.CommunicationFactory(school=school, sender=teacher.user, recipient=guardian, student=students[0])
    for student in students:
        invoice = factories.InvoiceFactory(student=student, term=term, issued_on=factories.TERM_START)
        factories.PaymentFactory(invoice=invoice, amount=Decimal("125.50"))
        invoices.append(invoice)
    other = factories.SchoolFactory()
    factories.TermFactory(school=other)
    other_student = factories.StudentFactory(school=other)
    return {
        "school": school,
        "teacher": teacher,
        "users": {
            "school_admin": factories.SchoolAdminFactory(school=school).user,
            "teacher": teacher.user,
            "guardian": guardian.user,
            "student": students[0].user,
        },
        # Real ids for the path parameters, so the fuzzer reaches past the 404s too (another school's included).
        "ids": {
            "student_id": [s.pk for s in students] + [other_student.pk],
            "lesson_id": [lesson.pk for lesson in lessons],
            "homework_id": sorted({s.homework_id for s in submissions}),
            "submission_id": [s.pk for s in submissions],
            "id": [invoice.pk for invoice in invoices],
        },
    }


@pytest.fixture(autouse=True)
def no_throttling(monkeypatch):
    # The fuzzer sends far more requests a minute than a person does.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"analytics": "100000/minute"})


@pytest.fixture(autouse=True)
def connection_kept_open():
    """The WSGI handler closes the database connection at the end of each request (CONN_MAX_AGE 0), which on
    PostgreSQL would end the test's transaction; Django's own test client disconnects this the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def strategy_for(operation, known: dict[str, list[int]]):
    """Valid and invalid requests; for an operation with ids in its path, also valid requests with ids that exist."""
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    names = [parameter.name for parameter in operation.path_parameters]
    if names and all(name in known for name in names):
        real = st.fixed_dictionaries({name: st.sampled_from(known[name]) for name in names})
        strategies.append(real.flatmap(lambda ids: operation.as_strategy(path_parameters=ids)))
    return st.one_of(strategies)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["school_admin", "teacher", "guardian", "student"])
def test_api_conforms_to_its_schema(role, subtests):
    data = seed_school()
    user = data["users"][role]
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    # In-process: the schema is fetched from /api/schema/ and every request goes through the WSGI app.
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations if operation.method.upper() == "GET"} >= ANALYTICS_PATHS

    # Every operation, writes included: what they write is rolled back with the test.
    for operation in operations:

        @given(case=strategy_for(operation, data["ids"]))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        with subtests.test(operation=operation.label):
            fuzz()
