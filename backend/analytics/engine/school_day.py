"""SchoolDailySummary: a school's day, rolled up from the daily rows, with the fees invoiced and paid."""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Round

from analytics.engine import sql
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


# What a school day inserted with its money not yet counted holds in ``updated_at`` until the money is counted,
# in the same transaction (nobody else ever sees it).
_MONEY_PENDING = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def school_day_write(
    keys: set[tuple[int, datetime.date]], *, changed=frozenset(), now: datetime.datetime
) -> RefreshResult:
    """Recompute and write the school days of the keys in the database, set-based (``engine.sql``): the same
    figures as ``school_day_compute``, the oracle the property tests hold it to.

    The attendance and homework figures are summed by the database from the daily rows (written first); the
    money is counted in Python (a payment's day is its date in the school's time zone) and passed in. When only
    marks changed, a stored day keeps its money and nothing of it is read; a day that had no row is inserted
    with its money pending and then written whole, like any other change.
    """
    result = RefreshResult()
    pending = set()
    for chunk in sql.chunks(sorted(keys)):
        if changed == {MARKS}:
            written = _school_day_upsert(chunk, money=None, now=now)
            pending.update((school_id, day) for _, school_id, day, *_, new in written if new)
            written = [row for row in written if not row[-1]]
        else:
            money = defaultdict(lambda: dict(SCHOOL_DAY.derived))
            _school_day_money(set(chunk), money)
            written = _school_day_upsert(chunk, money=money, now=now)
        empty = [row[0] for row in written if not any(row[3:7])]
        result.deleted += sql.delete(SchoolDailySummary, empty)
        result.updated += len(written) - len(empty)
    if pending:
        result += school_day_write(pending, now=now)
    return result


def _school_day_upsert(keys, *, money: dict | None, now: datetime.datetime) -> list[tuple]:
    """The rows written: (id, school, date, students marked, homework due, invoiced, payments, new with money
    pending). ``money``: key -> its money figures, or None to keep the stored ones."""
    columns = [("school_id", "integer"), ("day", "date")]
    if money is not None:
        # Amounts in whole cents (exact; SQLite would compare a decimal passed as text with 0 as text).
        columns += [("invoiced", "bigint"), ("received", "bigint"), ("payments", "integer")]
        keys = [
            (
                *key,
                int(money[key]["amount_invoiced"].scaleb(2)),
                int(money[key]["payments_received"].scaleb(2)),
                money[key]["payments_count"],
            )
            for key in keys
        ]
    with_sql, params = sql.values_cte("k", columns, keys)
    c, d, sd = sql.column, StudentDailySummary, SchoolDailySummary
    status = f"d.{c(d, 'attendance_status')}"

    def count(condition: str, *values: str) -> str:
        params.extend(values)
        return f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"

    def total(field: str) -> str:
        return f"COALESCE(SUM(d.{c(d, field)}), 0)"

    present, late = AttendanceStatus.PRESENT, AttendanceStatus.LATE
    figures = ", ".join(
        (
            count(f"d.{c(d, 'lessons_marked')} > 0"),
            count(f"{status} IN (%s, %s)", present, late),
            count(f"{status} = %s", late),
            count(f"{status} = %s", AttendanceStatus.ABSENT),
            count(f"{status} = %s", AttendanceStatus.EXCUSED),
            *(total(name) for name in ("lessons_attended", "lessons_counted")),
            *(total(name) for name in ("homework_due", "homework_on_time", "homework_late")),
        )
    )
    if money is None:
        # Every key is written; where no row is stored, with zero money, pending (``updated_at``), and then written
        # whole (and deleted if it is empty).
        money_sql = "0, 0, 0, %s"
        params.append(sql.adapt(_MONEY_PENDING))
    else:
        money_sql = f"{sql.hundredths('k.invoiced')}, {sql.hundredths('k.received')}, k.payments, %s"
        params.append(sql.adapt(now))
    group = "k.school_id, k.day"
    if money is not None:
        # A key with no daily row, no money and no stored row has nothing to write.
        group += f", k.invoiced, k.received, k.payments HAVING COUNT(d.{c(d, 'id')}) > 0"
        group += " OR k.invoiced <> 0 OR k.payments > 0"
        group += f" OR EXISTS (SELECT 1 FROM {sql.table(sd)} s WHERE s.{c(sd, 'school')} = k.school_id"  # noqa: S608 (names quoted by the connection, values as parameters)
        group += f" AND s.{c(sd, 'date')} = k.day)"
    select_sql = (
        f"SELECT k.school_id, k.day, {figures}, {money_sql} "  # noqa: S608 (names quoted by the connection, values as parameters)
        f"FROM k LEFT JOIN {sql.table(d)} d ON d.{c(d, 'school')} = k.school_id AND d.{c(d, 'date')} = k.day "
        f"WHERE 1 = 1 GROUP BY {group}"
    )
    attendance = tuple(name for name in SCHOOL_DAY.derived if name not in _SCHOOL_DAY_MONEY)
    update = (*attendance, *(_SCHOOL_DAY_MONEY if money is not None else ()))
    table = sql.table(sd)
    # An empty day is returned, to be deleted: no marked student, no homework, no money (stored, or counted now).
    money_of = f"{table}." if money is None else "excluded."
    force = " AND ".join(
        [f"excluded.{c(sd, name)} = 0" for name in ("students_marked", "homework_due")]
        + [f"{money_of}{c(sd, name)} = 0" for name in ("amount_invoiced", "payments_count")]
    )
    params.append(sql.adapt(now))  # the updated row's updated_at
    if money is not None:
        force += f" OR {table}.{c(sd, 'updated_at')} = %s"  # a day inserted with its money pending
        params.append(sql.adapt(_MONEY_PENDING))
    params.append(sql.adapt(_MONEY_PENDING))
    return sql.upsert(
        sd,
        with_sql=with_sql,
        select_sql=select_sql,
        columns=("school", "date", *attendance, *_SCHOOL_DAY_MONEY, "updated_at"),
        key=("school", "date"),
        update=update,
        force=force,
        touched="%s",
        returning=[
            *(c(sd, name) for name in ("id", "school", "date", "students_marked", "homework_due")),
            *(c(sd, name) for name in ("amount_invoiced", "payments_count")),
            f"CASE WHEN {c(sd, 'updated_at')} = %s THEN 1 ELSE 0 END",
        ],
        params=params,
    )
