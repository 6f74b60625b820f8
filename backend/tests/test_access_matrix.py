"""The access matrix (SPEC §5 "Access", docs/security.md "Scope"): every endpoint of the URL conf x every role x
the caller's own object and another's x JSON and HTML (the browsable API).

For each request it asserts the status, that nothing of a school outside the caller's scope appears in the body
(its name, its users' usernames and names, its amounts) and, for a refused write, that no row changed. Each case
runs in a savepoint rolled back afterwards, so every case sees the same world.

A new endpoint without rows in ``OPERATIONS`` fails ``test_every_endpoint_has_rows``.
"""

import datetime
import os
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import django_filters
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from analytics.models import StudentDailySummary, StudentTermPerformance
from attendance.models import Attendance, Lesson
from communication.models import Communication
from core.api import ScopedModelChoiceFilter, ScopedPrimaryKeyRelatedField
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework, HomeworkSubmission
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "deactivated",
    "student",
    "guardian",
    "teacher",  # teaches subject S1 to class C1: in scope for the "own" objects
    "teacher_other_class",  # teaches S1 to another class C2 of the same school
    "teacher_other_subject",  # teaches another subject S2 to the same class C1
    "admin",
    "admin_other_school",
    "superuser",
)
TARGETS = ("own", "other")  # "own": of school A, class C1, subject S1; "other": of school B
FORMATS = ("json", "html")
DAY = factories.TERM_START + datetime.timedelta(days=1)
WRITE_MOMENT = "2026-09-10T10:00:00Z"

# What identifies each school in a body: its name, its users' usernames and family names, its amounts.
MARKERS = {
    "A": ("Qqalpha Academy", "qqalpha-", "Qqalphason", "4827.19"),
    "B": ("Qqbeta College", "qqbeta-", "Qqbetason", "7391.37"),
}
# The schools whose data a role may see (the rest must not appear in any body it gets).
HOME = {
    "anonymous": set(),
    "deactivated": set(),
    "student": {"A"},
    "guardian": {"A"},
    "teacher": {"A"},
    "teacher_other_class": {"A"},
    "teacher_other_subject": {"A"},
    "admin": {"A"},
    "admin_other_school": {"B"},
    "superuser": {"A", "B"},
}


def _school(key: str, world: dict) -> dict:
    """One school: term, classes C1 and C2, subjects S1 and S2, students with guardians, homework, grades, fees."""
    token = {"A": "qqalpha", "B": "qqbeta"}[key]
    family = {"A": "Qqalphason", "B": "Qqbetason"}[key]
    amount = Decimal(MARKERS[key][3])

    def user(name: str, **kwargs):
        return factories.UserFactory(username=f"{token}-{name}", first_name=name.title(), last_name=family, **kwargs)

    school = factories.SchoolFactory(name=MARKERS[key][0])
    term = factories.TermFactory(school=school, name=f"Term of {family}")
    c1 = factories.ClassGroupFactory(school=school, name=f"7 {family} one")
    c2 = factories.ClassGroupFactory(school=school, name=f"7 {family} two")
    s1 = factories.SubjectFactory(school=school, name=f"Maths {family}")
    s2 = factories.SubjectFactory(school=school, name=f"English {family}")
    teacher = factories.TeacherFactory(school=school, user=user("teacher"))
    factories.TeachingAssignmentFactory(teacher=teacher, class_group=c1, subject=s1)
    other_class = factories.TeacherFactory(school=school, user=user("teacher-c2"))
    factories.TeachingAssignmentFactory(teacher=other_class, class_group=c2, subject=s1)
    other_subject = factories.TeacherFactory(school=school, user=user("teacher-s2"))
    factories.TeachingAssignmentFactory(teacher=other_subject, class_group=c1, subject=s2)

    def pupil(name: str, class_group, **kwargs):
        return factories.StudentFactory(
            school=school, class_group=class_group, first_name=name.title(), last_name=family, **kwargs
        )

    student = pupil("pupil", c1, user=user("pupil"))
    classmate = pupil("classmate", c1)
    graded = pupil("graded", c1)
    pupil("elsewhere", c2)
    guardian = factories.GuardianFactory(school=school, user=user("guardian"), students=[student])
    factories.GuardianFactory(school=school, user=user("guardian-c1"), students=[classmate])
    lesson = factories.LessonFactory(class_group=c1, subject=s1, teacher=teacher, date=DAY, period=1)
    factories.AttendanceFactory(lesson=lesson, student=classmate)
    homework = factories.HomeworkFactory(class_group=c1, subject=s1, teacher=teacher, assigned_date=DAY)
    submission = factories.SubmissionFactory(homework=homework, student=classmate)
    graded_submission = factories.SubmissionFactory(homework=homework, student=graded)
    factories.GradeFactory(submission=graded_submission, score=Decimal("17"), graded_by=teacher.user)
    invoice = factories.InvoiceFactory(student=student, term=term, amount=amount, issued_on=factories.TERM_START)
    factories.PaymentFactory(invoice=invoice, amount=Decimal("100.00"))
    factories.CommunicationFactory(school=school, sender=teacher.user, recipient=guardian, student=student)
    users = {
        "student": student.user,
        "guardian": guardian.user,
        "teacher": teacher.user,
        "teacher_other_class": other_class.user,
        "teacher_other_subject": other_subject.user,
        "admin": factories.SchoolAdminFactory(school=school, user=user("admin")).user,
    }
    return {
        "school": school,
        "term": term,
        "class_group": c1,
        "subject": s1,
        "teacher": teacher,
        "student": student,
        "guardian": guardian,
        "lesson": lesson,
        "homework": homework,
        "submission": submission,
        "graded_submission": graded_submission,
        "invoice": invoice,
        "users": users,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back at its end (each test runs inside it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _world()
        transaction.set_rollback(True)


def _world() -> dict:
    a, b = _school("A", {}), _school("B", {})
    users = {
        "anonymous": None,
        "deactivated": factories.UserFactory(
            username="qqalpha-left", first_name="Left", last_name="Qqalphason", is_active=False
        ),
        **a["users"],
        "admin_other_school": b["users"]["admin"],
        "superuser": factories.UserFactory(username="district", is_superuser=True, is_staff=True),
    }
    # The deactivated user was a teacher of C1 (S1) and still has a token.
    factories.TeachingAssignmentFactory(
        teacher=factories.TeacherFactory(school=a["school"], user=users["deactivated"]),
        class_group=a["class_group"],
        subject=a["subject"],
    )
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items() if user is not None}
    return {"own": a, "other": b, "users": users, "tokens": tokens}


@dataclass(frozen=True)
class Operation:
    method: str
    # role -> status for (own, other); the roles left out answer DEFAULTS.
    expected: dict[str, tuple[int, int]]
    path: object = None  # callable(objects) -> path, objects being world["own"] or world["other"]
    body: object = None  # callable(objects) -> body
    targeted: bool = True  # False: the same request for both targets (no object of a school involved)
    html: dict[int, int] = field(default_factory=dict)  # status in JSON -> status in HTML where they differ


DEFAULTS = {"anonymous": (401, 401), "deactivated": (401, 401)}
OK = (200, 200)


def roles(default: tuple[int, int], **by_role: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Every authenticated role answers ``default`` unless named."""
    return {role: by_role.get(role, default) for role in ROLES if role not in DEFAULTS}


def scoped(ok: int, refused: int, *, teacher=None, other_class=None, other_subject=None, student=None, guardian=None):
    """The usual shape: admins and the superuser by school, teachers by what they teach, others ``student`` etc."""
    out = (refused, refused)
    return roles(
        (403, 403),
        student=student or (403, 403),
        guardian=guardian or (403, 403),
        teacher=teacher or (ok, refused),
        teacher_other_class=other_class or out,
        teacher_other_subject=other_subject or (ok, refused),
        admin=(ok, refused),
        admin_other_school=(refused, ok),
        superuser=(ok, ok),
    )


def admin_only(ok: int, refused: int):
    return roles((403, 403), admin=(ok, refused), admin_other_school=(refused, ok), superuser=(ok, ok))


def lesson_body(o):
    return {
        "class_group": o["class_group"].pk,
        "subject": o["subject"].pk,
        "teacher": o["teacher"].pk,
        "date": DAY,
        "period": 5,
    }


def homework_body(o):
    return {
        "class_group": o["class_group"].pk,
        "subject": o["subject"].pk,
        "teacher": o["teacher"].pk,
        "title": "Fractions",
        "assigned_date": DAY,
        "due_date": DAY + datetime.timedelta(days=2),
        "max_score": "20",
    }


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("api-root", "GET"): Operation("GET", {**roles(OK), "anonymous": OK}, path=lambda o: "/api/", targeted=False),
    ("schema", "GET"): Operation(
        "GET", {**roles(OK), "anonymous": OK}, path=lambda o: "/api/schema/", targeted=False, html={200: 406, 401: 406}
    ),
    # Swagger UI is a page: asked for JSON it answers 406.
    ("swagger-ui", "GET"): Operation(
        "GET",
        {**roles((406, 406)), "anonymous": (406, 406)},
        path=lambda o: "/api/docs/",
        targeted=False,
        html={406: 200},
    ),
    ("auth-token", "POST"): Operation(
        "POST",
        # No authentication is asked (a revoked or inactive token does not matter): wrong credentials are 400.
        {**roles((400, 400)), "anonymous": (400, 400), "deactivated": (400, 400)},
        path=lambda o: "/api/auth/token/",
        body=lambda o: {"username": o["teacher"].user.username, "password": "wrong"},
        html={400: 406, 401: 406},
    ),
    ("rest_framework:login", "GET"): Operation(
        "GET", {**roles(OK), "anonymous": OK, "deactivated": OK}, path=lambda o: "/api/auth/login/", targeted=False
    ),
    # Signing out ends the session and sends the browser to the sign-in page (LOGOUT_REDIRECT_URL).
    ("rest_framework:logout", "POST"): Operation(
        "POST",
        {**roles((302, 302)), "anonymous": (302, 302), "deactivated": (302, 302)},
        path=lambda o: "/api/auth/logout/",
        targeted=False,
    ),
    ("me", "GET"): Operation("GET", roles(OK), path=lambda o: "/api/me/", targeted=False),
    ("lesson-list", "GET"): Operation(
        "GET", scoped(200, 400), path=lambda o: f"/api/lessons/?class_group={o['class_group'].pk}"
    ),
    ("lesson-list", "POST"): Operation(
        "POST", scoped(201, 400, other_subject=(400, 400)), path=lambda o: "/api/lessons/", body=lesson_body
    ),
    ("roll-call", "GET"): Operation(
        "GET", scoped(200, 404), path=lambda o: f"/api/lessons/{o['lesson'].pk}/roll-call/"
    ),
    ("roll-call", "POST"): Operation(
        "POST",
        scoped(200, 404, other_subject=(403, 404)),
        path=lambda o: f"/api/lessons/{o['lesson'].pk}/roll-call/",
        body=lambda o: {"marks": [{"student_id": o["student"].pk, "status": "LATE"}]},
    ),
    ("homework-list", "GET"): Operation(
        "GET",
        scoped(200, 400, student=(200, 400), guardian=(200, 400)),
        path=lambda o: f"/api/homework/?class_group={o['class_group'].pk}",
    ),
    ("homework-list", "POST"): Operation(
        "POST", scoped(201, 400, other_subject=(400, 400)), path=lambda o: "/api/homework/", body=homework_body
    ),
    ("submission-list", "GET"): Operation(
        "GET",
        scoped(200, 404, student=(200, 404), guardian=(200, 404)),
        path=lambda o: f"/api/homework/{o['homework'].pk}/submissions/",
    ),
    ("submission-list", "POST"): Operation(
        "POST",
        scoped(201, 404, student=(201, 404), other_subject=(403, 404)),
        path=lambda o: f"/api/homework/{o['homework'].pk}/submissions/",
        body=lambda o: {"student": o["student"].pk, "content": "done"},
    ),
    ("grade", "POST"): Operation(
        "POST",
        scoped(201, 404, other_subject=(403, 404)),
        path=lambda o: f"/api/submissions/{o['submission'].pk}/grade/",
        body=lambda o: {"score": "12.5", "feedback": "Good"},
    ),
    ("grade", "DELETE"): Operation(
        "DELETE",
        scoped(204, 404, other_subject=(403, 404)),
        path=lambda o: f"/api/submissions/{o['graded_submission'].pk}/grade/",
        html={204: 200},  # the browsable API shows a 204 as a page (200)
    ),
    ("communication-list", "GET"): Operation(
        "GET", scoped(200, 400), path=lambda o: f"/api/communications/?student={o['student'].pk}"
    ),
    ("communication-list", "POST"): Operation(
        "POST",
        scoped(201, 400),
        path=lambda o: "/api/communications/",
        # No student named: the recipient alone must be a guardian of a student the teacher teaches.
        body=lambda o: {"recipient": o["guardian"].pk, "channel": "phone", "subject": "Trip", "sent_at": WRITE_MOMENT},
    ),
    ("invoice-list", "GET"): Operation(
        "GET", admin_only(200, 400), path=lambda o: f"/api/invoices/?student={o['student'].pk}"
    ),
    ("invoice-detail", "GET"): Operation(
        "GET", admin_only(200, 404), path=lambda o: f"/api/invoices/{o['invoice'].pk}/"
    ),
    ("payment-list", "GET"): Operation(
        "GET", admin_only(200, 400), path=lambda o: f"/api/payments/?invoice={o['invoice'].pk}"
    ),
    ("payment-list", "POST"): Operation(
        "POST",
        admin_only(201, 400),
        path=lambda o: "/api/payments/",
        body=lambda o: {"invoice": o["invoice"].pk, "amount": "10.00", "method": "CASH", "paid_at": WRITE_MOMENT},
    ),
    ("student-overview", "GET"): Operation(
        "GET",
        scoped(200, 404, student=(200, 404), guardian=(200, 404)),
        path=lambda o: f"/api/analytics/student/{o['student'].pk}/overview/",
    ),
    ("teacher-performance", "GET"): Operation(
        "GET",
        roles((403, 403), teacher=OK, teacher_other_class=OK, teacher_other_subject=OK),
        path=lambda o: "/api/analytics/teacher/my-performance/",
        targeted=False,
    ),
    ("student-behavior", "PUT"): Operation(
        "PUT",
        scoped(200, 404),
        path=lambda o: f"/api/analytics/student/{o['student'].pk}/behavior/",
        body=lambda o: {"date": DAY, "score": 3},
    ),
    ("student-teacher-comment", "PUT"): Operation(
        "PUT",
        scoped(200, 404, other_subject=(403, 404)),
        path=lambda o: f"/api/analytics/student/{o['student'].pk}/teacher-comment/",
        body=lambda o: {"term": o["term"].pk, "subject": o["subject"].pk, "comment": "Steady"},
    ),
    ("school-health", "GET"): Operation(
        "GET", admin_only(200, 404), path=lambda o: f"/api/analytics/admin/school-health/?school={o['school'].pk}"
    ),
    # A class outside the caller's scope is refused like one that does not exist (400 naming class_group).
    ("students-at-risk", "GET"): Operation(
        "GET", scoped(200, 400), path=lambda o: f"/api/analytics/students/at-risk/?class_group={o['class_group'].pk}"
    ),
    ("missing-data", "GET"): Operation(
        "GET", admin_only(200, 404), path=lambda o: f"/api/analytics/admin/missing-data/?school={o['school'].pk}"
    ),
    # A teacher of another class of the school names a class that is not theirs: 400 naming class_group.
    ("most-improved", "GET"): Operation(
        "GET",
        scoped(200, 404, other_class=(400, 404)),
        path=lambda o: (
            f"/api/analytics/students/most-improved/?school={o['school'].pk}&class_group={o['class_group'].pk}"
        ),
    ),
}

# Rows a refused write must leave as they were.
WATCHED = (
    Lesson,
    Attendance,
    Homework,
    HomeworkSubmission,
    Grade,
    Communication,
    FeeInvoice,
    Payment,
    StudentDailySummary,
    StudentTermPerformance,
    Token,
)


def snapshot() -> dict:
    return {model.__name__: sorted(map(repr, model.objects.values_list())) for model in WATCHED}


def url_names(resolver=None, namespace: str = "") -> set[str]:
    """Every named URL of the URL conf outside the admin site (which only a superuser enters)."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= url_names(entry, inner)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"unnamed URL pattern {entry.pattern}: name it and give it rows in the matrix"
            names.add(f"{namespace}{entry.name}")
    return names


# The pages and the report cards hold their own access matrices (role x page x own / other), with the figures
# each role sees; a new URL must be given rows here or named here with the test that holds its matrix.
COVERED_ELSEWHERE = {
    **dict.fromkeys(
        (
            "home",
            "sign-in",
            "sign-out",
            "children",
            "student-report",
            "teacher-home",
            "class-page",
            "schools",
            "school-health-page",
        ),
        "dashboards/tests/test_access.py",
    ),
    **dict.fromkeys(("class-report-cards", "school-report-cards"), "dashboards/tests/test_report_cards.py"),
    "redoc": "dashboards/tests/test_api_docs.py",
    **dict.fromkeys(("report-card", "report-card-pdf"), "reportcards/tests/test_views.py"),
    **dict.fromkeys(
        ("report-card-jobs", "report-card-job", "report-card-job-download"), "reportcards/tests/test_jobs_api.py"
    ),
}


def test_every_endpoint_has_rows():
    assert url_names() == {name for name, _ in OPERATIONS} | set(COVERED_ELSEWHERE)
    backend = Path(__file__).resolve().parents[1]
    assert all((backend / module).is_file() for module in COVERED_ELSEWHERE.values())
    for operation in OPERATIONS.values():
        assert set(operation.expected) | set(DEFAULTS) >= set(ROLES)


def request(world, role: str, operation: Operation, target: str, fmt: str):
    client = APIClient()
    if role in world["tokens"]:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens'][role]}")
    objects = world[target]
    kwargs = {"format": "json"} if operation.body is not None else {}
    if operation.body is not None:
        kwargs["data"] = operation.body(objects)
        if role.startswith("teacher"):
            kwargs["data"].pop("teacher", None)  # a teacher records their own lessons and homework (the default)
    accept = "text/html" if fmt == "html" else "application/json"
    return getattr(client, operation.method.lower())(operation.path(objects), HTTP_ACCEPT=accept, **kwargs)


@pytest.mark.parametrize(("name", "method"), list(OPERATIONS), ids=[f"{n} {m}" for n, m in OPERATIONS])
def test_access_matrix(world, name, method):
    operation = OPERATIONS[(name, method)]
    expected = {**DEFAULTS, **operation.expected}
    problems = []
    for role in ROLES:
        for target in TARGETS if operation.targeted else TARGETS[:1]:
            for fmt in FORMATS:
                want = expected[role][TARGETS.index(target)]
                if fmt == "html":
                    want = operation.html.get(want, want)
                case = f"{role} {target} {fmt}"
                writes = operation.method not in ("GET", "HEAD", "OPTIONS")
                with transaction.atomic():
                    before = snapshot() if writes else None
                    response = request(world, role, operation, target, fmt)
                    after = snapshot() if writes else None
                    transaction.set_rollback(True)
                # Each case starts from the same state: its rows are rolled back above, and the sign-in
                # failure counts it left (kept in the cache, which is Redis on PostgreSQL runs and is not
                # rolled back) are cleared, or the sixth wrong password for one account would be a 429.
                cache.clear()
                if response.status_code != want:
                    problems.append(f"{case}: {response.status_code}, expected {want}: {response.content[:300]!r}")
                body = response.content.decode(errors="replace").lower()
                for school in {"A", "B"} - HOME[role]:
                    leaked = [marker for marker in MARKERS[school] if marker.lower() in body]
                    if leaked:
                        problems.append(f"{case}: school {school}'s {leaked} in the body")
                if response.status_code >= 300 and before != after:
                    problems.append(f"{case}: refused with {response.status_code} but rows changed")
    assert not problems, "\n".join(problems)


# --- list filters: no existence oracle, no whole-table choices ---------------------------------------------------

# (list path, filter, the role asking, the object whose id is given: another school's, then an id that is not)
FILTERS = [
    ("/api/lessons/", "class_group", "teacher", lambda o: o["class_group"].pk),
    ("/api/lessons/", "teacher", "admin", lambda o: o["teacher"].pk),
    ("/api/lessons/", "subject", "teacher", lambda o: o["subject"].pk),
    ("/api/homework/", "class_group", "student", lambda o: o["class_group"].pk),
    ("/api/homework/", "subject", "guardian", lambda o: o["subject"].pk),
    ("/api/homework/", "teacher", "student", lambda o: o["teacher"].pk),
    ("/api/communications/", "student", "teacher", lambda o: o["student"].pk),
    ("/api/communications/", "recipient", "teacher", lambda o: o["guardian"].pk),
    ("/api/communications/", "sender", "admin", lambda o: o["teacher"].user.pk),
    ("/api/invoices/", "student", "admin", lambda o: o["student"].pk),
    ("/api/invoices/", "term", "admin", lambda o: o["term"].pk),
    ("/api/payments/", "invoice", "admin", lambda o: o["invoice"].pk),
    ("/api/payments/", "invoice__student", "admin", lambda o: o["student"].pk),
]


@pytest.mark.parametrize(("path", "name", "role", "ident"), FILTERS, ids=[f"{p}?{n} as {r}" for p, n, r, _ in FILTERS])
def test_an_id_out_of_scope_answers_like_an_id_that_does_not_exist(world, path, name, role, ident):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens'][role]}")

    own = client.get(f"{path}?{name}={ident(world['own'])}")
    other = client.get(f"{path}?{name}={ident(world['other'])}")
    missing = client.get(f"{path}?{name}=987654321")

    assert own.status_code == 200, own.content
    assert (other.status_code, other.json()) == (missing.status_code, missing.json()) == (400, {name: [ANY_CHOICE]})


ANY_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@pytest.mark.parametrize("role", ["student", "guardian", "teacher", "admin"])
@pytest.mark.parametrize("path", ["/api/lessons/", "/api/homework/", "/api/communications/", "/api/payments/"])
def test_the_browsable_filter_forms_offer_only_the_callers_scope(world, role, path):
    """The HTML page of a list carries its filter form: every option must be a row the caller may see."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens'][role]}")

    response = client.get(path, HTTP_ACCEPT="text/html")

    body = response.content.decode()
    assert not [marker for marker in MARKERS["B"] if marker.lower() in body.lower()]
    if response.status_code == 200 and role in ("student", "guardian"):
        # Not even their own school's other classes, nor teachers who do not teach them.
        assert "two" not in {option.split()[-1] for option in _options(body, "class_group")}
        # The teachers of class C1 (the deactivated one included: still assigned), not C2's.
        assert sorted(_options(body, "teacher")) == ["Left Qqalphason", "Teacher Qqalphason", "Teacher-S2 Qqalphason"]


def _options(html: str, select: str) -> list[str]:
    """The labels of a <select name=...>'s options (the empty choice left out)."""
    start = html.find(f'name="{select}"')
    if start < 0:
        return []
    block = html[start : html.find("</select>", start)]
    return [
        part.split(">", 1)[1].split("<", 1)[0].strip() for part in block.split("<option")[1:] if 'value=""' not in part
    ]


def test_every_related_list_filter_is_scoped():
    """A filter by a related row must take its choices from the caller's scope: no plain ModelChoiceFilter."""
    for view in _api_views():
        filterset_class = getattr(view, "filterset_class", None)
        assert not getattr(view, "filterset_fields", None), (
            f"{view.__name__}: use a filterset_class with scoped filters"
        )
        for name, filter_ in filterset_class.base_filters.items() if filterset_class else []:
            if isinstance(filter_, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter):
                assert isinstance(filter_, ScopedModelChoiceFilter), f"{view.__name__}.{name} is not scoped"


def test_every_writable_related_field_is_scoped():
    """A related id in a request body (and its dropdown in the browsable form) comes from the caller's scope."""

    def related_fields(serializer, prefix=""):
        for name, field_ in serializer.fields.items():
            if isinstance(field_, serializers.BaseSerializer) and not field_.read_only:
                yield from related_fields(getattr(field_, "child", field_), f"{prefix}{name}.")
            elif isinstance(field_, serializers.RelatedField | serializers.ManyRelatedField) and not field_.read_only:
                yield f"{prefix}{name}", field_

    checked = 0
    for view in _api_views():
        if getattr(view, "serializer_class", None) is None:
            continue
        for name, field_ in related_fields(view.serializer_class()):
            checked += 1
            assert isinstance(field_, ScopedPrimaryKeyRelatedField), f"{view.__name__}: {name} is not scoped"
    assert checked >= 9  # lesson (3), homework (3), submission, communication (2), payment


def _api_views(resolver=None) -> list[type]:
    views = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            views += _api_views(entry)
        elif hasattr(entry.callback, "cls"):
            views.append(entry.callback.cls)
    return views


def test_the_browsable_api_is_off_in_production_unless_asked():
    def renderers(**env) -> str:
        """The renderers of a fresh process started with these environment variables."""
        script = (
            "import django; django.setup(); from rest_framework.settings import api_settings; "
            "print(','.join(r.__name__ for r in api_settings.DEFAULT_RENDERER_CLASSES))"
        )
        environment = {key: value for key, value in os.environ.items() if key != "DJANGO_BROWSABLE_API"}
        environment.update(DJANGO_SETTINGS_MODULE="config.settings", DJANGO_SECRET_KEY="x" * 50, **env)
        done = subprocess.run(  # noqa: S603 (our own interpreter and a fixed script)
            [sys.executable, "-c", script], env=environment, cwd=settings.BASE_DIR, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert renderers(DJANGO_DEBUG="false") == "JSONRenderer"
    assert renderers(DJANGO_DEBUG="false", DJANGO_BROWSABLE_API="true") == "JSONRenderer,BrowsableAPIRenderer"
    assert renderers(DJANGO_DEBUG="true") == "JSONRenderer,BrowsableAPIRenderer"
    assert renderers(DJANGO_DEBUG="true", DJANGO_BROWSABLE_API="false") == "JSONRenderer"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/schools/student/",
        "/admin/autocomplete/?app_label=attendance&model_name=attendance&field_name=student",
    ],
)
def test_the_admin_site_and_its_autocomplete_are_for_superusers_only(world, path):
    """A school's staff user given every model permission still gets nothing of the (unscoped) admin site."""
    staff = factories.UserFactory(username="qqalpha-office", is_staff=True)
    staff.user_permissions.set(Permission.objects.all())
    factories.SchoolAdminFactory(school=world["own"]["school"], user=staff)
    client = APIClient()

    client.force_login(staff)
    refused = client.get(path)
    client.force_login(world["users"]["superuser"])
    allowed = client.get(path)

    assert refused.status_code == 302
    assert refused.url.startswith("/admin/login/")
    assert allowed.status_code == 200
    assert "Qqbetason" in allowed.content.decode() or path == "/admin/"
