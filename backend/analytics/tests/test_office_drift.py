"""Ordinary office actions in the admin leave no summary row that a recomputation would not write."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from analytics.models import SchoolDailySummary, StudentDailySummary, StudentTermAttendance, StudentTermPerformance
from analytics.services import analytics_verify, behavior_score_set, teacher_comment_set
from attendance.models import Lesson
from finance.models import FeeInvoice
from schools.models import AcademicTerm
from tests import factories
from tests.admin_forms import admin_url, post_changeform

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 9, 14)
TUESDAY = MONDAY + datetime.timedelta(days=1)


def test_voiding_invoices_from_the_list_takes_their_money_out_of_the_school_days(admin_client, school):
    student = factories.StudentFactory(school=school)
    voided = factories.InvoiceFactory(student=student, amount=Decimal("300.00"), issued_on=MONDAY)
    kept = factories.InvoiceFactory(student=student, amount=Decimal("120.00"), issued_on=MONDAY)
    paid_at = datetime.datetime(2026, 9, 15, 10, 0, tzinfo=datetime.UTC)
    factories.PaymentFactory(invoice=voided, amount=Decimal("100.00"), paid_at=paid_at)
    monday = SchoolDailySummary.objects.get(school=school, date=MONDAY)
    assert monday.amount_invoiced == Decimal("420.00")

    response = admin_client.post(
        admin_url(FeeInvoice, "changelist"), {"action": "void", "_selected_action": [voided.pk]}
    )

    assert response.status_code == 302
    voided.refresh_from_db()
    kept.refresh_from_db()
    assert (voided.status, kept.status) == (FeeInvoice.Status.VOID, FeeInvoice.Status.OPEN)
    monday.refresh_from_db()
    assert monday.amount_invoiced == Decimal("120.00")
    # The only money of Tuesday was the payment on the voided invoice: nothing keeps that day's row.
    assert not SchoolDailySummary.objects.filter(school=school, date=TUESDAY).exists()
    assert analytics_verify() == []


def test_voiding_an_invoice_twice_changes_nothing_the_second_time(admin_client, school):
    invoice = factories.InvoiceFactory(student=factories.StudentFactory(school=school), issued_on=MONDAY)
    changelist = admin_url(FeeInvoice, "changelist")
    admin_client.post(changelist, {"action": "void", "_selected_action": [invoice.pk]})
    invoice.refresh_from_db()
    voided_at = invoice.updated_at
    response = admin_client.post(changelist, {"action": "void", "_selected_action": [invoice.pk]}, follow=True)
    assert "0 invoice(s) voided" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.updated_at == voided_at
    assert not SchoolDailySummary.objects.filter(school=school).exists()
    assert analytics_verify() == []


def test_changing_a_terms_dates_recomputes_the_term_attendance(admin_client, school, class_group):
    term = AcademicTerm.objects.get(school=school)
    teacher = factories.TeacherFactory(school=school)
    student = factories.StudentFactory(school=school, class_group=class_group)
    for day, status in ((MONDAY, "PRESENT"), (TUESDAY, "ABSENT")):
        lesson = Lesson.objects.create(class_group=class_group, teacher=teacher, date=day, period=1)
        factories.AttendanceFactory(lesson=lesson, student=student, status=status)
    row = StudentTermAttendance.objects.get(student=student, term=term)
    assert (row.days_marked, row.days_absent, str(row.attendance_percentage)) == (2, 1, "50.00")

    # The term now ends on Monday: Tuesday's absence is outside it.
    response = post_changeform(admin_client, admin_url(AcademicTerm, "change", term.pk), {"end_date": "2026-09-14"})

    assert response.status_code == 302
    row = StudentTermAttendance.objects.get(student=student, term=term)
    assert (row.days_marked, row.days_absent, str(row.attendance_percentage)) == (1, 0, "100.00")
    assert analytics_verify() == []


def test_a_term_moved_away_from_every_mark_keeps_no_term_attendance(admin_client, school, class_group):
    term = AcademicTerm.objects.get(school=school)
    factories.AttendanceFactory(lesson__class_group=class_group, lesson__subject=None, lesson__date=MONDAY)
    assert StudentTermAttendance.objects.filter(term=term).count() == 1
    dates = {"start_date": "2027-01-04", "end_date": "2027-03-26"}
    assert post_changeform(admin_client, admin_url(AcademicTerm, "change", term.pk), dates).status_code == 302
    assert not StudentTermAttendance.objects.filter(term=term).exists()
    assert analytics_verify() == []


def test_clearing_a_behaviour_score_in_the_admin_removes_the_row_it_alone_kept(admin_client, school):
    student = factories.StudentFactory(school=school)
    row = behavior_score_set(student=student, day=MONDAY, score=4)  # a day with no marks and no homework

    response = admin_client.post(admin_url(StudentDailySummary, "change", row.pk), {"behavior_score": ""})

    assert response.status_code == 302
    assert not StudentDailySummary.objects.filter(pk=row.pk).exists()
    assert analytics_verify() == []


def test_a_behaviour_score_set_in_the_admin_keeps_the_engines_figures(admin_client, school, class_group):
    student = factories.StudentFactory(school=school, class_group=class_group)
    factories.AttendanceFactory(lesson__class_group=class_group, lesson__date=MONDAY, student=student, status="LATE")
    row = StudentDailySummary.objects.get(student=student, date=MONDAY)
    response = admin_client.post(admin_url(StudentDailySummary, "change", row.pk), {"behavior_score": "2"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.behavior_score, row.attendance_status, row.lessons_marked) == (2, "LATE", 1)
    assert analytics_verify() == []


def test_clearing_a_teacher_comment_in_the_admin_removes_the_row_it_alone_kept(admin_client, school):
    student = factories.StudentFactory(school=school)
    term = AcademicTerm.objects.get(school=school)
    subject = factories.SubjectFactory(school=school)
    row = teacher_comment_set(student=student, term=term, subject=subject, comment="Ask about the trip.")

    response = admin_client.post(admin_url(StudentTermPerformance, "change", row.pk), {"teacher_comment": ""})

    assert response.status_code == 302
    assert not StudentTermPerformance.objects.filter(pk=row.pk).exists()
    assert analytics_verify() == []


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 01:30 in Nairobi (UTC+3) is still the previous day in UTC.
        (datetime.datetime(2026, 9, 14, 22, 30, tzinfo=datetime.UTC), datetime.date(2026, 9, 15)),
        (datetime.datetime(2026, 9, 15, 20, 59, tzinfo=datetime.UTC), datetime.date(2026, 9, 15)),
        (datetime.datetime(2026, 9, 15, 21, 0, tzinfo=datetime.UTC), datetime.date(2026, 9, 16)),
    ],
)
def test_an_invoice_is_issued_on_the_schools_date(admin_client, moment, expected):
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    student = factories.StudentFactory(school=school)
    with time_machine.travel(moment, tick=False):
        created = factories.InvoiceFactory(student=student)
        response = post_changeform(
            admin_client,
            admin_url(FeeInvoice, "add"),
            {"student": student.pk, "amount": "250.00", "due_date": "2026-10-01", "description": "Trip"},
        )
    assert response.status_code == 302
    entered = FeeInvoice.objects.get(description="Trip")
    assert (created.issued_on, entered.issued_on) == (expected, expected)
    assert SchoolDailySummary.objects.get(school=school, date=expected).amount_invoiced == Decimal("750.00")
    assert analytics_verify() == []


def test_a_behaviour_score_on_a_day_outside_every_term_is_refused_in_the_admin(admin_client, school, class_group):
    student = factories.StudentFactory(school=school, class_group=class_group)
    holiday = datetime.date(2026, 12, 28)
    factories.AttendanceFactory(lesson__class_group=class_group, lesson__date=holiday, student=student)
    row = StudentDailySummary.objects.get(student=student, date=holiday)
    response = admin_client.post(admin_url(StudentDailySummary, "change", row.pk), {"behavior_score": "3"})
    assert response.status_code == 200
    assert "not within any term" in str(response.context["adminform"].form.errors["behavior_score"])
    row.refresh_from_db()
    assert row.behavior_score is None
