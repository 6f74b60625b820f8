"""Rows dated at the calendar's edges (0001-01-01, 9999-12-31) never crash the engine.

Users cannot enter such dates (core.bounds), but a row can arrive another way (raw SQL, an import, data
from before the bounds): its save, the recomputations, verify, the jobs and the reads must still work.
The rows here are written through the ORM, so the engine's receivers run as for any save.
"""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics import jobs
from analytics.models import SchoolDailySummary, StudentDailySummary, TeacherPerformanceMetric
from analytics.services import analytics_rebuild, analytics_verify
from core.dates import days_later, local_date, utc_midnight
from tests import factories

pytestmark = pytest.mark.django_db

FIRST, LAST = datetime.date.min, datetime.date.max  # 0001-01-01 (a Monday), 9999-12-31 (a Friday)
LAST_MONDAY = datetime.date(9999, 12, 27)
NAIROBI = datetime.timezone(datetime.timedelta(hours=3))


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


@pytest.fixture
def edge_school():
    """A school in Nairobi (UTC+3), a class with one student and a teacher, and rows at both edges."""
    school = factories.SchoolFactory(timezone="Africa/Nairobi")
    factories.TermFactory(school=school)
    assignment = factories.TeachingAssignmentFactory(teacher__school=school)
    teacher, klass, subject = assignment.teacher, assignment.class_group, assignment.subject
    student = factories.StudentFactory(school=school, class_group=klass)
    guardian = factories.GuardianFactory(school=school, students=[student])
    homework = {
        name: factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=FIRST, due_date=LAST
        )
        for name in ("on_time", "late")
    }
    # 20:00 UTC is 23:00 on 9999-12-31 in Nairobi: on time. 22:00 UTC is 01:00 on 10000-01-01 there: late.
    factories.SubmissionFactory(homework=homework["on_time"], student=student, submitted_at=at(LAST, 20))
    factories.SubmissionFactory(homework=homework["late"], student=student, submitted_at=at(LAST, 22))
    for sent_at in (at(FIRST, 0), at(LAST, 23)):
        factories.CommunicationFactory(
            school=school, sender=teacher.user, recipient=guardian, student=student, sent_at=sent_at
        )
    invoice = factories.InvoiceFactory(student=student, amount=Decimal("100.00"), issued_on=LAST, due_date=LAST)
    factories.PaymentFactory(invoice=invoice, amount=Decimal("30.00"), paid_at=at(FIRST, 0))
    factories.PaymentFactory(
        invoice=invoice, amount=Decimal("20.00"), paid_at=datetime.datetime.max.replace(tzinfo=datetime.UTC)
    )
    return {"school": school, "teacher": teacher, "student": student, "subject": subject}


def test_the_helpers_stop_at_the_edges():
    assert days_later(LAST, 1) == LAST
    assert days_later(FIRST, -1) == FIRST
    assert days_later(datetime.date(2026, 9, 7), 6) == datetime.date(2026, 9, 13)
    assert local_date(at(LAST, 23), NAIROBI) == LAST
    assert local_date(at(FIRST, 0), datetime.timezone(datetime.timedelta(hours=-5))) == FIRST
    assert local_date(at(datetime.date(2026, 9, 7), 22), NAIROBI) == datetime.date(2026, 9, 8)
    assert utc_midnight(LAST, plus_days=1) is None
    assert utc_midnight(FIRST, plus_days=-1) is None
    assert utc_midnight(datetime.date(2026, 9, 7), plus_days=2) == at(datetime.date(2026, 9, 9), 0)


def test_rows_at_the_edges_are_summarised_exactly(edge_school):
    student, teacher, school = edge_school["student"], edge_school["teacher"], edge_school["school"]

    day = StudentDailySummary.objects.get(student=student, date=LAST)
    assert (day.homework_due, day.homework_on_time, day.homework_late, day.homework_completed) == (2, 1, 1, False)
    weeks = {
        row.week_start: (row.homeworks_assigned, row.parent_communications)
        for row in TeacherPerformanceMetric.objects.filter(teacher=teacher)
    }
    # Both homework set on 0001-01-01 and the message sent then (03:00 in Nairobi) fall in the calendar's first
    # week; the message of 9999-12-31 23:00 UTC (02:00 on 10000-01-01 in Nairobi) is dated the calendar's last day.
    assert weeks == {FIRST: (2, 1), LAST_MONDAY: (0, 1)}
    days = {
        row.date: (row.amount_invoiced, row.payments_received, row.payments_count)
        for row in SchoolDailySummary.objects.filter(school=school)
    }
    assert days == {
        FIRST: (Decimal("0.00"), Decimal("30.00"), 1),
        LAST: (Decimal("100.00"), Decimal("20.00"), 1),
    }
    assert analytics_verify() == []
    assert analytics_rebuild(school_id=school.pk).differences == []


def test_jobs_run_over_the_edge_weeks_and_terms(edge_school):
    school = edge_school["school"]
    for week in (FIRST, LAST_MONDAY):
        jobs.teacher_metrics_generate(school=school, week=week)
    run = jobs.teacher_metrics_run(school=school, first_week=LAST_MONDAY)
    assert run.status == "SUCCEEDED", run.error
    term = factories.TermFactory(school=school, start_date=datetime.date(9999, 1, 1), end_date=LAST)
    assert jobs.ranks_terms_for_night(terms=[term], day=LAST) == [term]
    assert analytics_verify() == []


def test_reads_with_rows_at_the_edges_answer(edge_school, api_client):
    api_client.force_authenticate(edge_school["teacher"].user)

    overview = api_client.get(reverse("student-overview", args=[edge_school["student"].pk]))
    performance = api_client.get(reverse("teacher-performance"), {"weeks": 4})
    api_client.force_authenticate(factories.SchoolAdminFactory(school=edge_school["school"]).user)
    health = api_client.get(reverse("school-health"))

    assert [overview.status_code, performance.status_code, health.status_code] == [200, 200, 200]
