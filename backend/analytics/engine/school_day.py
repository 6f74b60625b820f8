"""SchoolDailySummary: a school's day, rolled up from the daily rows, with the fees invoiced and paid."""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Round

from analytics.engine.machinery import (
    SCHOOL_DAY_LOCK,
    Computed,
    RefreshResult,
    Table,
    in_filter,
    in_range,
    moments_around,
    refresh,
)
from analytics.keys import MARKS, payment_keys
from analytics.models import SchoolDailySummary, StudentDailySummary
from attendance.models import AttendanceStatus
from core.dates import local_date
from finance.models import FeeInvoice, Payment

SCHOOL_DAY = Table(
    SchoolDailySummary,
    ("school_id", "date"),
    {
        "students_marked": 0,
        "students_present": 0,
        "students_late": 0,
        "students_absent": 0,
        "students_excused": 0,
        "lessons_attended": 0,
        "lessons_counted": 0,
        "homework_due": 0,
        "homework_on_time": 0,
        "homework_late": 0,
        "amount_invoiced": Decimal("0.00"),
        "payments_received": Decimal("0.00"),
        "payments_count": 0,
    },
    {},
    lock_class=SCHOOL_DAY_LOCK,
    lock_width=2,
)


def school_days_refresh(*, keys: Iterable[tuple[int, datetime.date]], dry_run: bool = False) -> RefreshResult:
    """Recompute SchoolDailySummary rows of (school_id, date) keys from daily rows, invoices and payments."""
    return refresh(SCHOOL_DAY, keys, school_day_compute, dry_run=dry_run)


def _cents(value) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


_SCHOOL_DAY_MONEY = ("amount_invoiced", "payments_received", "payments_count")


def school_day_compute(
    keys: set[tuple[int, datetime.date]], *, stored: dict | None = None, changed=frozenset()
) -> Computed:
    """School days of the keys. When only marks changed, a stored day keeps its money figures."""
    kept = {key: row for key, row in (stored or {}).items() if changed == {MARKS}}
    school_ids = {school_id for school_id, _ in keys}
    dates = {day for _, day in keys}
    present = [AttendanceStatus.PRESENT, AttendanceStatus.LATE]
    values = defaultdict(lambda: dict(SCHOOL_DAY.derived))
    for row in (
        StudentDailySummary.objects.filter(in_filter("date", dates), school_id__in=school_ids)
        .values("school_id", "date")
        .annotate(
            students_marked=Count("id", filter=Q(lessons_marked__gt=0)),
            students_present=Count("id", filter=Q(attendance_status__in=present)),
            students_late=Count("id", filter=Q(attendance_status=AttendanceStatus.LATE)),
            students_absent=Count("id", filter=Q(attendance_status=AttendanceStatus.ABSENT)),
            students_excused=Count("id", filter=Q(attendance_status=AttendanceStatus.EXCUSED)),
            lessons_attended_sum=Sum("lessons_attended"),
            lessons_counted_sum=Sum("lessons_counted"),
            homework_due_sum=Sum("homework_due"),
            homework_on_time_sum=Sum("homework_on_time"),
            homework_late_sum=Sum("homework_late"),
        )
    ):
        day = values[row.pop("school_id"), row.pop("date")]
        day.update({name.removesuffix("_sum"): value for name, value in row.items()})

    if any(key not in kept for key in keys):
        _school_day_money(keys, values)
    for key, row in kept.items():
        values[key].update({name: row[name] for name in _SCHOOL_DAY_MONEY})

    return {
        key: (key[0], day)
        for key, day in values.items()
        if key in keys
        and (day["students_marked"] or day["homework_due"] or day["amount_invoiced"] or day["payments_count"])
    }


def _school_day_money(keys: set[tuple[int, datetime.date]], values: dict) -> None:
    """Set the money figures of the keys' days in ``values``: invoiced, received, payments."""
    school_ids = {school_id for school_id, _ in keys}
    dates = {day for _, day in keys}
    # Money is summed exactly: in whole cents by the database (SQLite has no decimal type), or in Python.
    for row in (
        FeeInvoice.objects.filter(in_filter("issued_on", dates), student__school_id__in=school_ids)
        .exclude(status=FeeInvoice.Status.VOID)
        .values("student__school_id", "issued_on")
        .annotate(cents=Sum(Round(F("amount") * 100), output_field=IntegerField()))
    ):
        values[row["student__school_id"], row["issued_on"]]["amount_invoiced"] = _cents(row["cents"])
    for school_id, tz, paid_at, amount in (
        Payment.objects.filter(
            invoice__student__school_id__in=school_ids, **moments_around("paid_at", min(dates), max(dates))
        )
        .exclude(invoice__status=FeeInvoice.Status.VOID)
        .values_list("invoice__student__school_id", "invoice__student__school__timezone", "paid_at", "amount")
    ):
        key = (school_id, local_date(paid_at, zoneinfo.ZoneInfo(tz)))
        if key in keys:
            values[key]["payments_received"] += amount
            values[key]["payments_count"] += 1


def school_days_discover(*, school_id: int, period=None) -> set:
    """Dates of the school with daily rows, invoices issued, payments received, or a stored rollup."""
    keys = {
        (school_id, day)
        for day in StudentDailySummary.objects.filter(school_id=school_id, **in_range("date", period))
        .values_list("date", flat=True)
        .distinct()
    }
    keys.update(
        (school_id, day)
        for day in FeeInvoice.objects.filter(student__school_id=school_id, **in_range("issued_on", period))
        .values_list("issued_on", flat=True)
        .distinct()
    )
    keys.update(payment_keys(Payment.objects.filter(invoice__student__school_id=school_id).values("pk")).school_days)
    keys.update(
        (school_id, day)
        for day in SchoolDailySummary.objects.filter(school_id=school_id, **in_range("date", period)).values_list(
            "date", flat=True
        )
    )
    if period:
        keys = {key for key in keys if period[0] <= key[1] <= period[1]}
    return keys
