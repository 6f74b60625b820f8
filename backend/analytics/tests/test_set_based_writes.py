"""The set-based writes (``analytics.engine.sql``) in the cases their statements treat apart, against numbers
worked out by hand and the from-scratch oracle.

Worked by hand: a London school (UTC+1 in September), one Maths lesson and one homework due on Monday
14 September 2026. The homework's deadline is Tuesday 00:00 in London, Monday 23:00 UTC.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.engine.daily import daily_write
from analytics.engine.machinery import Lookups
from analytics.engine.school_day import school_day_write
from analytics.keys import MARKS
from analytics.models import SchoolDailySummary, StudentDailySummary, StudentTermAttendance
from analytics.tests.helpers import small_class
from analytics.tests.oracle import assert_summaries_exact
from attendance.models import Attendance, Lesson
from finance.models import FeeInvoice, Payment
from homework.models import HomeworkSubmission

pytestmark = pytest.mark.django_db


def utc(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC)


def test_a_deadline_not_given_for_the_schools_zone_is_worked_out_after_the_write():
    """A school whose zone changed after the keys were named: its days are written again with the zone read
    now. Before 23:00 UTC on time, from 23:00 late (in London); under UTC both would be on time."""
    w = small_class(2)
    first, second = w.students
    HomeworkSubmission.objects.create(homework=w.homework, student=first, submitted_at=utc(w.day, 22, 59))
    HomeworkSubmission.objects.create(homework=w.homework, student=second, submitted_at=utc(w.day, 23))
    StudentDailySummary.objects.all().delete()

    daily_write({(first.pk, w.day), (second.pk, w.day)}, zones={"UTC"}, lookups=Lookups(), now=timezone.now())

    rows = {row.student_id: row for row in StudentDailySummary.objects.all()}
    assert (rows[first.pk].homework_due, rows[first.pk].homework_on_time, rows[first.pk].homework_late) == (1, 1, 0)
    assert (rows[second.pk].homework_due, rows[second.pk].homework_on_time, rows[second.pk].homework_late) == (1, 0, 1)
    assert rows[first.pk].homework_completed is True
    assert rows[second.pk].homework_completed is False
    assert all(row.updated_at.year == timezone.now().year for row in rows.values())  # none left pending
    assert_summaries_exact()


def test_an_emptied_day_is_deleted_and_a_day_kept_by_a_behaviour_score_is_zeroed():
    w = small_class(2)
    w.homework.delete()
    first, second = w.students
    marks = [Attendance.objects.create(lesson=w.lesson, student=s, status="LATE") for s in w.students]
    StudentDailySummary.objects.filter(student=second).update(behavior_score=4)

    for mark in marks:
        mark.delete()

    assert not StudentDailySummary.objects.filter(student=first).exists()
    kept = StudentDailySummary.objects.get(student=second)
    assert (kept.attendance_status, kept.lessons_marked, kept.lessons_counted, kept.behavior_score) == (None, 0, 0, 4)
    assert not StudentTermAttendance.objects.exists()
    assert not SchoolDailySummary.objects.exists()
    assert_summaries_exact()


def test_term_attendance_percentage_is_rounded_half_up_in_whole_hundredths():
    """Two more lessons on each of three days; 2 of the 6 marks late, late not counted as present: the days are
    LATE, PRESENT, LATE, and 4 / 6 = 66.666...% -> 66.67."""
    w = small_class(1)
    w.school.late_counts_as_present = False
    w.school.save()
    student = w.students[0]
    statuses = ["PRESENT", "LATE", "PRESENT", "PRESENT", "LATE", "PRESENT"]
    lessons = [
        Lesson.objects.create(
            class_group=w.klass,
            subject=w.subject,
            teacher=w.teacher,
            date=w.day + datetime.timedelta(days=n // 2),
            period=2 + n % 2,
        )
        for n in range(6)
    ]
    for lesson, status in zip(lessons, statuses, strict=True):
        Attendance.objects.create(lesson=lesson, student=student, status=status)
    row = StudentTermAttendance.objects.get(student=student)
    assert (row.days_marked, row.days_present, row.days_late, row.lessons_attended, row.lessons_counted) == (
        3,
        3,
        2,
        4,
        6,
    )
    assert row.attendance_percentage == Decimal("66.67")
    assert_summaries_exact()


def test_a_school_day_inserted_after_a_mark_has_its_money_counted():
    """The school day of a mark had no row (lost outside the engine) though a fee was invoiced and paid that day:
    it comes back with the money, not with zeros. The payment at 23:30 UTC on Sunday is Monday in London."""
    w = small_class(1)
    student = w.students[0]
    invoice = FeeInvoice.objects.create(
        student=student, amount=Decimal("120.50"), issued_on=w.day, due_date=w.day + datetime.timedelta(days=30)
    )
    Payment.objects.create(invoice=invoice, amount=Decimal("20.25"), paid_at=utc(w.day, 10), method="CASH")
    Payment.objects.create(
        invoice=invoice, amount=Decimal("0.10"), paid_at=utc(w.day - datetime.timedelta(days=1), 23, 30), method="CASH"
    )
    SchoolDailySummary.objects.all().delete()

    Attendance.objects.create(lesson=w.lesson, student=student, status="PRESENT")

    day = SchoolDailySummary.objects.get(school=w.school, date=w.day)
    assert (day.students_marked, day.students_present, day.homework_due) == (1, 1, 1)
    assert (day.amount_invoiced, day.payments_received, day.payments_count) == (Decimal("120.50"), Decimal("20.35"), 2)
    assert day.updated_at.year == timezone.now().year  # not left pending
    assert_summaries_exact()


def test_a_stored_school_day_keeps_its_money_after_a_mark_and_writes_nothing_unchanged():
    w = small_class(1)
    student = w.students[0]
    Attendance.objects.create(lesson=w.lesson, student=student, status="PRESENT")
    SchoolDailySummary.objects.filter(school=w.school).update(payments_count=7)  # drift in a kept figure
    before = SchoolDailySummary.objects.get(school=w.school)

    result = school_day_write({(w.school.pk, w.day)}, changed=frozenset({MARKS}), now=timezone.now())

    after = SchoolDailySummary.objects.get(school=w.school)
    assert (result.updated, result.deleted) == (0, 0)
    assert (after.payments_count, after.updated_at) == (7, before.updated_at)


def test_a_day_with_money_only_is_written_and_deleted_with_its_last_payment():
    """No mark and no homework on Wednesday 16 September: the day exists for its payments alone (the invoice is
    issued on Monday). 0.01 + 99.99 = 100.00 received, then 99.99 once the first is deleted, then no row."""
    w = small_class(1)
    wednesday = w.day + datetime.timedelta(days=2)
    invoice = FeeInvoice.objects.create(
        student=w.students[0], amount=Decimal("150.00"), issued_on=w.day, due_date=w.day + datetime.timedelta(days=30)
    )
    first = Payment.objects.create(invoice=invoice, amount=Decimal("0.01"), paid_at=utc(wednesday, 9), method="CASH")
    last = Payment.objects.create(invoice=invoice, amount=Decimal("99.99"), paid_at=utc(wednesday, 10), method="CASH")
    day = SchoolDailySummary.objects.get(school=w.school, date=wednesday)
    assert (day.students_marked, day.amount_invoiced, day.payments_received, day.payments_count) == (
        0,
        Decimal("0.00"),
        Decimal("100.00"),
        2,
    )
    first.delete()
    day.refresh_from_db()
    assert (day.payments_received, day.payments_count) == (Decimal("99.99"), 1)
    last.delete()
    assert not SchoolDailySummary.objects.filter(date=wednesday).exists()
    assert SchoolDailySummary.objects.get(date=w.day).amount_invoiced == Decimal("150.00")
    assert_summaries_exact()
