"""Every registered admin works for a superuser: list, search, add and change pages, without N+1 queries."""

import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from attendance.models import Attendance
from schools.models import Student
from tests import factories
from tests.admin_forms import admin_url

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def one_school() -> None:
    """One row of every registered model, in one school; the analytics tables filled by their own commands."""
    term = factories.TermFactory()
    school = term.school
    grade = factories.GradeFactory(submission__homework__class_group__school=school)
    student = grade.submission.student
    mark = factories.AttendanceFactory(lesson__class_group=student.class_group, student=student)
    teacher = mark.lesson.teacher
    factories.TeachingAssignmentFactory(teacher=teacher, class_group=student.class_group, subject=mark.lesson.subject)
    factories.SchoolAdminFactory(school=school)
    guardian = factories.GuardianFactory(school=school, students=[student])
    factories.CommunicationFactory(school=school, recipient=guardian, student=student, sender=teacher.user)
    factories.PaymentFactory(invoice=factories.InvoiceFactory(student=student, term=term))
    Group.objects.get_or_create(name="Office")
    Token.objects.create(user=teacher.user)
    if apps.is_installed("analytics"):
        from analytics.models import EarlyWarningSettings

        # A threshold every average is below, so the school has a flag; the flag date within the term.
        EarlyWarningSettings.objects.create(school=school, term_average_below=100)
        call_command("roll_early_warning_flags", school=str(school.pk), date="2026-11-20", stdout=io.StringIO())
        call_command("rebuild_analytics", school=school.pk, quiet_progress=True, stdout=io.StringIO())
        call_command("calculate_class_ranks", school=str(school.pk), term=str(term.pk), stdout=io.StringIO())
    if apps.is_installed("reportcards"):
        from reportcards.models import ReportCardJob

        ReportCardJob.objects.create(
            school=school, term=term, class_group=student.class_group, requested_by=teacher.user
        )


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED])
def test_admin_pages_load_and_lists_cost_the_same_queries_with_more_rows(
    admin_client, admin_user, rf, model, model_admin
):
    one_school()
    request = rf.get("/")
    request.user = admin_user
    changelist = admin_url(model, "changelist")
    assert admin_client.get(changelist, {"q": "a"}).status_code == 200
    if model_admin.has_add_permission(request):
        assert admin_client.get(admin_url(model, "add")).status_code == 200
    obj = model.objects.first()
    assert obj is not None, f"one_school() makes no {model._meta.label}"
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200
    for field_name in model_admin.autocomplete_fields:
        opts = {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name}
        assert admin_client.get(reverse("admin:autocomplete"), {**opts, "term": "a"}).status_code == 200, field_name

    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(changelist).status_code == 200
    one_school()
    with CaptureQueriesContext(connection) as two:
        admin_client.get(changelist)
    assert len(two) == len(one), [query["sql"] for query in two]


@pytest.mark.django_db
def test_search_finds_a_student_by_name_or_number(admin_client):
    wanted = factories.StudentFactory(first_name="Wanjiru", last_name="Kamau", student_number="K-117")
    factories.StudentFactory(first_name="Peter", last_name="Otieno", school=wanted.school)
    changelist = admin_url(Student, "changelist")
    for term in ("kamau", "K-117", "wanjiru kamau"):
        response = admin_client.get(changelist, {"q": term})
        assert list(response.context["cl"].result_list) == [wanted], term


@pytest.mark.django_db
def test_filter_keeps_only_matching_rows(admin_client):
    lesson = factories.LessonFactory()
    absent = factories.AttendanceFactory(lesson=lesson, status="ABSENT")
    factories.AttendanceFactory(lesson=lesson, status="PRESENT")
    response = admin_client.get(admin_url(Attendance, "changelist"), {"status__exact": "ABSENT"})
    assert list(response.context["cl"].result_list) == [absent]
