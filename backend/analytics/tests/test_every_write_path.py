"""Every write the office or a client can make leaves the summaries as a recomputation would write them.

The operations come from the registered admin classes (add, change, delete, each action, each
inline's rows) and from the URL conf (every POST / PUT / PATCH / DELETE of the API). Each is driven
through its HTTP view as a user would, with form data built from factories, and the verification
(``analytics_verify``, the dry run of the rebuild) runs after it and must find 0 differing rows.
An admin, action, inline or API write without a recipe here fails ``test_every_*_is_covered``.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import Group
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token, TokenProxy

from analytics.models import EarlyWarningSettings
from analytics.services import analytics_verify, behavior_score_set, teacher_comment_set
from attendance.models import Attendance, Lesson
from communication.models import Communication
from core.models import User
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework, HomeworkSubmission
from schools.models import (
    AcademicTerm,
    ClassGroup,
    Guardian,
    School,
    SchoolAdmin,
    Student,
    Subject,
    Teacher,
    TeachingAssignment,
)
from tests import factories
from tests.admin_forms import admin_operations, admin_url, changeform_data, inline_row, post_form

MONDAY = datetime.date(2026, 9, 14)
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (MONDAY + datetime.timedelta(days=n) for n in range(1, 5))
PASSWORD = "pass-1234"


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC)


def office_world() -> SimpleNamespace:
    """A school in Nairobi (UTC+3) with a week of everything the figures are made of."""
    w = SimpleNamespace()
    w.school = factories.SchoolFactory(timezone="Africa/Nairobi")
    w.term = factories.TermFactory(school=w.school)
    w.klass = factories.ClassGroupFactory(school=w.school)
    w.other_klass = factories.ClassGroupFactory(school=w.school)
    w.subject = factories.SubjectFactory(school=w.school, name="Maths")
    w.other_subject = factories.SubjectFactory(school=w.school, name="English")
    w.teacher = factories.TeachingAssignmentFactory(
        teacher__school=w.school, class_group=w.klass, subject=w.subject
    ).teacher
    w.other_teacher = factories.TeacherFactory(school=w.school)
    w.students = [factories.StudentFactory(school=w.school, class_group=w.klass) for _ in range(2)]
    w.students[0].user = factories.UserFactory()
    w.students[0].save()
    w.newcomer = factories.StudentFactory(school=w.school, class_group=w.other_klass)
    first, second = w.students
    w.lesson = factories.LessonFactory(class_group=w.klass, subject=w.subject, teacher=w.teacher, date=MONDAY)
    factories.AttendanceFactory(lesson=w.lesson, student=first, status="PRESENT")
    factories.AttendanceFactory(lesson=w.lesson, student=second, status="ABSENT")
    register = factories.LessonFactory(class_group=w.klass, subject=None, teacher=w.teacher, date=TUESDAY)
    factories.AttendanceFactory(lesson=register, student=first, status="LATE")
    w.homework = homework(w, due=WEDNESDAY)
    w.graded = factories.GradeFactory(
        submission__homework=w.homework, submission__student=first, score=Decimal("15")
    ).submission
    w.ungraded = factories.SubmissionFactory(homework=w.homework, student=second, submitted_at=at(THURSDAY, 8))
    w.guardian = factories.GuardianFactory(school=w.school, students=[first])
    factories.CommunicationFactory(
        school=w.school, sender=w.teacher.user, recipient=w.guardian, student=first, sent_at=at(MONDAY, 22, 30)
    )
    w.invoice = factories.InvoiceFactory(student=first, term=w.term, amount=Decimal("300.00"), issued_on=MONDAY)
    factories.PaymentFactory(invoice=w.invoice, amount=Decimal("100.00"), paid_at=at(TUESDAY, 21, 30))
    w.open_invoice = factories.InvoiceFactory(student=second, amount=Decimal("200.00"), issued_on=TUESDAY)
    w.admin = factories.SchoolAdminFactory(school=w.school)
    behavior_score_set(student=first, day=MONDAY, score=4)
    teacher_comment_set(student=first, term=w.term, subject=w.subject, comment="Steady work.")
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One office world for the module, committed; each test's own writes are rolled back after it."""
    # The fast hasher of the tests (conftest's is per test): the sign-in endpoints check these passwords.
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=[MD5PasswordHasher.__module__ + ".MD5PasswordHasher"]),
    ):
        w = office_world()
    yield w
    with django_db_blocker.unblock():
        # Rows that protect their parents first, then the schools (the rest goes by cascade), then the logins.
        for model in (Payment, FeeInvoice, Homework, Lesson, Student, School, Token, User):
            model.objects.all().delete()


def homework(w, *, due: datetime.date, **values) -> Homework:
    return factories.HomeworkFactory(
        class_group=w.klass, subject=w.subject, teacher=w.teacher, assigned_date=MONDAY, due_date=due, **values
    )


# --- admin ---------------------------------------------------------------------------------------


@dataclass
class AdminRecipe:
    """How to exercise one registered admin: a fresh row to act on, and a change of it worth making."""

    make: Callable  # (world) -> a saved row, with the rows below it that its change or delete affects
    change: Callable  # (world, row) -> form values to post (None: leave the field out)
    add: Callable | None = None  # (world, row) -> add-page values, when the change page's do not fit
    void: Callable | None = None  # (world) -> an invoice to void (the "void" action)
    delete_action: bool = True  # the admin has Django's "delete selected" action


def _school(w) -> School:
    """A school just set up: a term, a teacher, a student and a message home (no lessons, homework or
    invoices yet, which keep a school from being deleted)."""
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    factories.TermFactory(school=school)
    teacher = factories.TeacherFactory(school=school)
    student = factories.StudentFactory(school=school, class_group=None)  # a class would protect the school
    guardian = factories.GuardianFactory(school=school, students=[student])
    factories.CommunicationFactory(
        school=school, sender=teacher.user, recipient=guardian, student=student, sent_at=at(MONDAY, 22)
    )
    return school


def _term(w) -> AcademicTerm:
    term = factories.TermFactory(
        school=w.school, start_date=datetime.date(2027, 1, 4), end_date=datetime.date(2027, 3, 26)
    )
    lesson = factories.LessonFactory(class_group=w.klass, subject=w.subject, teacher=w.teacher, date=term.start_date)
    factories.AttendanceFactory(lesson=lesson, student=w.students[0], status="ABSENT")
    return term


def _class(w) -> ClassGroup:
    klass = factories.ClassGroupFactory(school=w.school)
    factories.TeachingAssignmentFactory(teacher=w.other_teacher, class_group=klass, subject=w.subject)
    return klass


def _teacher(w) -> Teacher:
    teacher = factories.TeachingAssignmentFactory(
        teacher__school=w.school, class_group=w.klass, subject=w.other_subject
    ).teacher
    factories.CommunicationFactory(
        school=w.school, sender=teacher.user, recipient=w.guardian, student=w.students[0], sent_at=at(TUESDAY, 9)
    )
    return teacher


def _student(w) -> Student:
    student = factories.StudentFactory(school=w.school, class_group=w.klass)
    factories.AttendanceFactory(lesson=w.lesson, student=student, status="LATE")
    factories.GradeFactory(submission__homework=w.homework, submission__student=student, score=Decimal("8"))
    guardian = factories.GuardianFactory(school=w.school, students=[student])
    factories.CommunicationFactory(
        school=w.school, sender=w.teacher.user, recipient=guardian, student=student, sent_at=at(WEDNESDAY, 7)
    )
    return student


def _guardian(w) -> Guardian:
    guardian = factories.GuardianFactory(school=w.school, students=[w.students[1]])
    factories.CommunicationFactory(
        school=w.school, sender=w.teacher.user, recipient=guardian, student=w.students[1], sent_at=at(FRIDAY, 12)
    )
    return guardian


def _user(w) -> User:
    return _guardian(w).user


def _lesson(w) -> Lesson:
    lesson = factories.LessonFactory(class_group=w.klass, subject=w.subject, teacher=w.teacher, date=WEDNESDAY)
    factories.AttendanceFactory(lesson=lesson, student=w.students[0], status="ABSENT")
    return lesson


def _mark(w) -> Attendance:
    lesson = factories.LessonFactory(class_group=w.klass, subject=w.other_subject, teacher=w.teacher, date=THURSDAY)
    return factories.AttendanceFactory(lesson=lesson, student=w.students[1], status="LATE")


def _homework(w) -> Homework:
    work = homework(w, due=THURSDAY, max_score=Decimal("20"))
    factories.GradeFactory(submission__homework=work, submission__student=w.students[1], score=Decimal("12"))
    return work


def _submission(w) -> HomeworkSubmission:
    submission = factories.SubmissionFactory(
        homework=homework(w, due=FRIDAY), student=w.students[0], submitted_at=at(FRIDAY, 5)
    )
    factories.GradeFactory(submission=submission, score=Decimal("9"))
    return submission


def _grade(w) -> Grade:
    return factories.GradeFactory(
        submission__homework=homework(w, due=THURSDAY), submission__student=w.students[1], score=Decimal("11")
    )


def _message(w) -> Communication:
    return factories.CommunicationFactory(
        school=w.school, sender=w.teacher.user, recipient=w.guardian, student=w.students[0], sent_at=at(MONDAY, 21, 30)
    )


def _invoice(w) -> FeeInvoice:
    return factories.InvoiceFactory(student=w.students[1], amount=Decimal("250.00"), issued_on=WEDNESDAY)


def _paid_invoice(w) -> FeeInvoice:
    invoice = factories.InvoiceFactory(student=w.students[0], amount=Decimal("400.00"), issued_on=THURSDAY)
    factories.PaymentFactory(invoice=invoice, amount=Decimal("150.00"), paid_at=at(FRIDAY, 6))
    return invoice


def _payment(w) -> Payment:
    return factories.PaymentFactory(invoice=w.open_invoice, amount=Decimal("50.00"), paid_at=at(TUESDAY, 21, 30))


def _behaviour_row(w):
    return behavior_score_set(student=w.students[1], day=FRIDAY, score=3)  # a day with nothing else


def _comment_row(w):
    return teacher_comment_set(student=w.students[1], term=w.term, subject=w.other_subject, comment="Trip form?")


def _split(moment: datetime.datetime, field: str) -> dict:
    local = moment.astimezone(datetime.timezone(datetime.timedelta(hours=3)))
    return {f"{field}_0": local.date().isoformat(), f"{field}_1": local.time().isoformat()}


ADMIN = {
    School: AdminRecipe(_school, lambda w, row: {"timezone": "Europe/London", "late_counts_as_present": None}),
    AcademicTerm: AdminRecipe(_term, lambda w, row: {"start_date": "2027-01-05", "end_date": "2027-03-19"}),
    Subject: AdminRecipe(lambda w: factories.SubjectFactory(school=w.school), lambda w, row: {"name": "Kiswahili"}),
    ClassGroup: AdminRecipe(_class, lambda w, row: {"name": "Grade 8 East", "grade_level": 8}),
    SchoolAdmin: AdminRecipe(
        lambda w: factories.SchoolAdminFactory(school=w.school), lambda w, row: {"user": factories.UserFactory().pk}
    ),
    Teacher: AdminRecipe(_teacher, lambda w, row: {"user": factories.UserFactory().pk}),
    Student: AdminRecipe(_student, lambda w, row: {"class_group": w.other_klass.pk, "active": None}),
    Guardian: AdminRecipe(_guardian, lambda w, row: {"phone": "+254 700 000 001", "students": [w.students[0].pk]}),
    TeachingAssignment: AdminRecipe(
        lambda w: factories.TeachingAssignmentFactory(teacher=w.other_teacher, class_group=w.klass, subject=w.subject),
        lambda w, row: {"subject": w.other_subject.pk},
    ),
    Lesson: AdminRecipe(_lesson, lambda w, row: {"date": THURSDAY.isoformat(), "subject": w.other_subject.pk}),
    Attendance: AdminRecipe(_mark, lambda w, row: {"status": "ABSENT"}),
    Homework: AdminRecipe(_homework, lambda w, row: {"max_score": "15", "due_date": FRIDAY.isoformat()}),
    HomeworkSubmission: AdminRecipe(_submission, lambda w, row: _split(at(FRIDAY, 20), "submitted_at")),
    Grade: AdminRecipe(_grade, lambda w, row: {"score": "4.5"}),
    Communication: AdminRecipe(_message, lambda w, row: _split(at(THURSDAY, 22), "sent_at")),
    FeeInvoice: AdminRecipe(
        _invoice, lambda w, row: {"amount": "275.00", "issued_on": THURSDAY.isoformat()}, void=_paid_invoice
    ),
    Payment: AdminRecipe(_payment, lambda w, row: {"amount": "60.00", **_split(at(WEDNESDAY, 9), "paid_at")}),
    User: AdminRecipe(
        _user,
        lambda w, row: {"first_name": "Amina", "is_active": None},
        add=lambda w, row: {"username": row.username, "password1": PASSWORD, "password2": PASSWORD},
    ),
    Group: AdminRecipe(lambda w: Group.objects.create(name="Office"), lambda w, row: {"name": "Bursar"}),
    # A school's thresholds: added, changed or deleted, the school's flags follow at once.
    EarlyWarningSettings: AdminRecipe(
        lambda w: EarlyWarningSettings.objects.create(school=w.school, behaviour_scores=1),
        lambda w, row: {"attendance_below": "99.5", "homework_missing": "1", "behaviour_score_at_most": "4"},
    ),
    TokenProxy: AdminRecipe(
        lambda w: TokenProxy.objects.get(pk=Token.objects.create(user=w.teacher.user).pk),
        lambda w, row: {"user": w.other_teacher.user.pk},
        delete_action=False,
    ),
}
# The analytics admins let the office write teacher inputs only.
TEACHER_INPUTS = {
    "analytics.StudentDailySummary": (_behaviour_row, {"behavior_score": ""}),
    "analytics.StudentTermPerformance": (_comment_row, {"teacher_comment": ""}),
}


@dataclass
class InlineRecipe:
    parent: Callable  # (world) -> a parent with one row in the inline
    new_row: dict | Callable  # values of a row added (a callable: (world) -> values)
    changed_row: dict | Callable  # values for the existing row
    add_parent: Callable | None = None  # (world) -> the parent to add a row to, when not ``parent``


def _ungraded(w) -> HomeworkSubmission:
    return w.ungraded


INLINES = {
    ("attendance.Lesson", "attendance.Attendance"): InlineRecipe(
        _lesson, lambda w: {"student": w.students[1].pk, "status": "EXCUSED"}, {"status": "LATE"}
    ),
    ("homework.HomeworkSubmission", "homework.Grade"): InlineRecipe(
        _submission, {"score": "13"}, {"score": "19"}, add_parent=_ungraded
    ),
    ("finance.FeeInvoice", "finance.Payment"): InlineRecipe(
        _paid_invoice,
        {"amount": "20.00", "method": "MOBILE", **_split(at(MONDAY, 23), "paid_at")},
        {"amount": "175.00"},
    ),
    ("schools.ClassGroup", "schools.TeachingAssignment"): InlineRecipe(
        _class, lambda w: {"teacher": w.teacher.pk, "subject": w.other_subject.pk}, lambda w: {"teacher": w.teacher.pk}
    ),
    ("schools.Teacher", "schools.TeachingAssignment"): InlineRecipe(
        _teacher,
        lambda w: {"class_group": w.other_klass.pk, "subject": w.subject.pk},
        lambda w: {"class_group": w.other_klass.pk},
    ),
}


def _values(values: dict | Callable, w) -> dict:
    return values(w) if callable(values) else values


def _model(label: str):
    return next(model for model in admin.site._registry if model._meta.label == label)


def _superuser_request():
    request = RequestFactory().get("/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return request


def _recipe_operations() -> set[tuple[str, str]]:
    operations = set()
    for model, recipe in ADMIN.items():
        label = model._meta.label
        operations |= {(label, "add"), (label, "change"), (label, "delete")}
        if recipe.delete_action:
            operations.add((label, "action delete_selected"))
        if recipe.void:
            operations.add((label, "action void"))
    operations |= {(label, "change") for label in TEACHER_INPUTS}
    for parent_label, inline_label in INLINES:
        operations |= {
            (parent_label, f"inline {inline_label} {operation}") for operation in ("add", "change", "delete")
        }
    return operations


def test_every_admin_operation_is_covered():
    assert _recipe_operations() == admin_operations(_superuser_request())


def _errors(response) -> str:
    context = response.context or {}
    parts = []
    if "adminform" in context:
        parts.append(str(context["adminform"].form.errors))
    for inline in context.get("inline_admin_formsets", []):
        parts.append(str(inline.formset.errors) + str(inline.formset.non_form_errors()))
    return f"{response.status_code} {' '.join(parts)}"


def _run_admin(client, w, label: str, operation: str) -> None:
    model = _model(label)
    if label in TEACHER_INPUTS:
        make, values = TEACHER_INPUTS[label]
        row = make(w)
        response = client.post(admin_url(model, "change", row.pk), values)
        assert response.status_code == 302, _errors(response)
        return
    if operation.startswith("inline "):
        _, inline_label, inline_operation = operation.split()
        recipe = INLINES[label, inline_label]
        adding = inline_operation == "add"
        parent = (recipe.add_parent or recipe.parent)(w) if adding else recipe.parent(w)
        url = admin_url(model, "change", parent.pk)
        page = client.get(url)
        inline_model = _model(inline_label)
        if adding:
            values = inline_row(page, inline_model, None, _values(recipe.new_row, w))
        elif inline_operation == "change":
            values = inline_row(page, inline_model, 0, _values(recipe.changed_row, w))
        else:
            values = inline_row(page, inline_model, 0, {"DELETE": "on"})
        rows = inline_model.objects.count()
        response = client.post(url, {**changeform_data(page), **values})
        assert response.status_code == 302, _errors(response)
        assert inline_model.objects.count() == rows + {"add": 1, "change": 0, "delete": -1}[inline_operation]
        return
    recipe = ADMIN[model]
    if operation == "action void":
        invoice = recipe.void(w)
        response = client.post(admin_url(model, "changelist"), {"action": "void", "_selected_action": [invoice.pk]})
        assert response.status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == FeeInvoice.Status.VOID
        return
    row = recipe.make(w)
    if operation == "add":
        values = changeform_data(client.get(admin_url(model, "change", row.pk)))
        if recipe.add:
            values = recipe.add(w, row)
        row.delete()
        count = model.objects.count()
        response = client.post(admin_url(model, "add"), values)
        assert response.status_code == 302, _errors(response)
        assert model.objects.count() == count + 1
    elif operation == "change":
        response = post_form(client, admin_url(model, "change", row.pk), recipe.change(w, row))
        assert response.status_code == 302, _errors(response)
    elif operation == "delete":
        response = client.post(admin_url(model, "delete", row.pk), {"post": "yes"})
        assert response.status_code == 302, _errors(response)
        assert not model.objects.filter(pk=row.pk).exists()
    elif operation == "action delete_selected":
        response = client.post(
            admin_url(model, "changelist"), {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
        assert response.status_code == 302, _errors(response)
        assert not model.objects.filter(pk=row.pk).exists()
    else:
        raise AssertionError(f"no way to run {operation}")


ADMIN_OPERATIONS = sorted(_recipe_operations())


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "operation"), ADMIN_OPERATIONS, ids=[" ".join(pair) for pair in ADMIN_OPERATIONS])
def test_an_admin_operation_leaves_no_differing_summary_row(admin_client, world, label, operation):
    w = world
    assert analytics_verify() == []
    _run_admin(admin_client, w, label, operation)
    assert analytics_verify() == []


# --- API -----------------------------------------------------------------------------------------


def api_writes() -> set[tuple[str, str]]:
    """(route, METHOD) of every write the API serves (routes under ``api/``). The admin site is driven above, from
    its registry; the pages' forms (dashboards) call the same services as these endpoints and are tested with
    their own figures in dashboards/tests."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    writes = set()
    for route, callback in walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view is None:
            raise AssertionError(f"{route}: a function view; which methods it writes cannot be told")
        allowed = set(getattr(view, "http_method_names", ()))
        writes |= {
            (route, method.upper())
            for method in ("post", "put", "patch", "delete")
            if method in allowed and hasattr(view, method)
        }
    return writes


@dataclass
class ApiRecipe:
    user: Callable  # (world) -> the user making the request (None: anonymous)
    path: Callable  # (world) -> the URL
    body: Callable | None = None  # (world) -> the JSON body
    form: bool = False  # sent as a form (the browsable API's sign-in), not JSON


def _sign_in(w) -> dict:
    return {"username": w.teacher.user.username, "password": PASSWORD}


def _class_teacher(w):
    return w.teacher.user


API = {
    ("api/auth/token/", "POST"): ApiRecipe(lambda w: None, lambda w: "/api/auth/token/", _sign_in, form=True),
    ("api/auth/login/", "POST"): ApiRecipe(lambda w: None, lambda w: "/api/auth/login/", _sign_in, form=True),
    ("api/auth/login/", "PUT"): ApiRecipe(lambda w: None, lambda w: "/api/auth/login/", _sign_in, form=True),
    ("api/auth/logout/", "POST"): ApiRecipe(_class_teacher, lambda w: "/api/auth/logout/", form=True),
    ("api/lessons/", "POST"): ApiRecipe(
        _class_teacher,
        lambda w: "/api/lessons/",
        lambda w: {"class_group": w.klass.pk, "subject": w.subject.pk, "date": WEDNESDAY.isoformat(), "period": 3},
    ),
    ("api/lessons/<int:lesson_id>/roll-call/", "POST"): ApiRecipe(
        _class_teacher,
        lambda w: f"/api/lessons/{w.lesson.pk}/roll-call/",
        # The first student's mark changes, the second is left out (removed), the newcomer is not in the class.
        lambda w: {"marks": [{"student_id": w.students[0].pk, "status": "LATE"}]},
    ),
    ("api/homework/", "POST"): ApiRecipe(
        _class_teacher,
        lambda w: "/api/homework/",
        lambda w: {
            "class_group": w.klass.pk,
            "subject": w.subject.pk,
            "title": "Ratios",
            "assigned_date": TUESDAY.isoformat(),
            "due_date": THURSDAY.isoformat(),
            "max_score": "10.00",
        },
    ),
    ("api/homework/<int:homework_id>/submissions/", "POST"): ApiRecipe(
        lambda w: w.students[0].user,
        lambda w: f"/api/homework/{homework(w, due=FRIDAY).pk}/submissions/",
        lambda w: {"content": "3/4"},
    ),
    ("api/submissions/<int:submission_id>/grade/", "POST"): ApiRecipe(
        _class_teacher, lambda w: f"/api/submissions/{w.ungraded.pk}/grade/", lambda w: {"score": "17.5"}
    ),
    ("api/submissions/<int:submission_id>/grade/", "DELETE"): ApiRecipe(
        _class_teacher, lambda w: f"/api/submissions/{w.graded.pk}/grade/"
    ),
    ("api/communications/", "POST"): ApiRecipe(
        _class_teacher,
        lambda w: "/api/communications/",
        lambda w: {"recipient": w.guardian.pk, "student": w.students[0].pk, "channel": "phone", "subject": "Late"},
    ),
    ("api/payments/", "POST"): ApiRecipe(
        lambda w: w.admin.user,
        lambda w: "/api/payments/",
        lambda w: {"invoice": w.invoice.pk, "amount": "200.00", "method": "MOBILE", "paid_at": "2026-09-16T22:15:00Z"},
    ),
    ("api/analytics/student/<int:student_id>/behavior/", "PUT"): ApiRecipe(
        _class_teacher,
        lambda w: f"/api/analytics/student/{w.students[0].pk}/behavior/",
        lambda w: {"date": MONDAY.isoformat(), "score": None},
    ),
    ("api/analytics/student/<int:student_id>/teacher-comment/", "PUT"): ApiRecipe(
        _class_teacher,
        lambda w: f"/api/analytics/student/{w.students[0].pk}/teacher-comment/",
        lambda w: {"term": w.term.pk, "subject": w.subject.pk, "comment": ""},
    ),
    # Report cards of the school (run inline without a broker): they read the figures and write only their job row.
    ("api/reportcards/jobs/", "POST"): ApiRecipe(
        lambda w: w.admin.user, lambda w: "/api/reportcards/jobs/", lambda w: {"term": w.term.pk}
    ),
}


def test_every_api_write_is_covered():
    assert set(API) == api_writes()


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), sorted(API), ids=[" ".join(key) for key in sorted(API)])
def test_an_api_write_leaves_no_differing_summary_row(api_client, world, route, method):
    w = world
    recipe = API[route, method]
    user = recipe.user(w)
    if user is not None:
        user.set_password(PASSWORD)
        user.save()
        api_client.force_login(user) if recipe.form else api_client.force_authenticate(user)
    assert analytics_verify() == []
    body = recipe.body(w) if recipe.body else None
    send = getattr(api_client, method.lower())
    response = send(recipe.path(w), body) if recipe.form else send(recipe.path(w), body, format="json")
    assert 200 <= response.status_code < 400, (response.status_code, getattr(response, "data", None))
    assert analytics_verify() == []


def test_an_admin_action_added_without_a_recipe_fails_the_coverage(monkeypatch):
    from finance.admin import FeeInvoiceAdmin

    def reopen(modeladmin, request, queryset):
        queryset.update(status=FeeInvoice.Status.OPEN)

    monkeypatch.setattr(FeeInvoiceAdmin, "actions", (*FeeInvoiceAdmin.actions, reopen))
    missing = admin_operations(_superuser_request()) - _recipe_operations()
    assert missing == {("finance.FeeInvoice", "action reopen")}


def test_an_api_write_added_without_a_recipe_fails_the_coverage(monkeypatch):
    from finance.apis import InvoiceDetailApi

    monkeypatch.setattr(InvoiceDetailApi, "patch", lambda self, request, pk: None, raising=False)
    assert api_writes() - set(API) == {("api/invoices/<int:pk>/", "PATCH")}


@pytest.mark.django_db
def test_the_verification_after_each_operation_sees_a_write_that_bypasses_the_engine(world):
    w = world
    FeeInvoice.objects.filter(pk=w.invoice.pk).update(status=FeeInvoice.Status.VOID)  # what the old action did
    assert {(difference.table, difference.key) for difference in analytics_verify()} >= {
        ("SchoolDailySummary", (w.school.pk, MONDAY))
    }
