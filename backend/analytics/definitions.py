"""The metric definitions of docs/metrics.md as plain functions of source values.

Exact arithmetic: fractions, then half-up rounding to 2 places, so SQLite and PostgreSQL agree
to the cent and no float ever touches a figure.
"""

import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from attendance.models import AttendanceStatus
from core.dates import days_later

PRESENT, LATE, ABSENT, EXCUSED = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.LATE,
    AttendanceStatus.ABSENT,
    AttendanceStatus.EXCUSED,
)


@dataclass(frozen=True)
class AttendanceRules:
    """A school's attendance settings."""

    late_counts_as_present: bool = True
    excused_absences_excluded: bool = False


def round_half_up(value: Fraction) -> Decimal:
    """Round a non-negative exact value to 2 decimal places, halves away from zero."""
    cents = math.floor(value * 100 + Fraction(1, 2))
    return Decimal(cents).scaleb(-2)


def _cents(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator to 2 places, halves up, in integer arithmetic: floor(value x 100 + 1/2) hundredths,
    what ``round_half_up`` gives for the same fraction."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    return Decimal((200 * numerator + denominator) // (2 * denominator)).scaleb(-2)


def percentage(part: int | Fraction | Decimal, whole: int | Fraction | Decimal) -> Decimal | None:
    """part / whole x 100 to 2 places, or None when whole is 0."""
    if not whole:
        return None
    if type(part) is int and type(whole) is int and part >= 0 and whole > 0:
        # Whole numbers (counts), in integer arithmetic: floor(part * 10000 / whole + 1/2) cents, exactly.
        return Decimal((20000 * part + whole) // (2 * whole)).scaleb(-2)
    # Decimals and fractions as exact integer ratios: no Fraction built (a grade's percentage is read per grade).
    part_numerator, part_denominator = part.as_integer_ratio()
    whole_numerator, whole_denominator = whole.as_integer_ratio()
    return _cents(100 * part_numerator * whole_denominator, part_denominator * whole_numerator)


def mean_percentage(scores: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Mean of score / max_score x 100 over (score, max_score) pairs, to 2 places; None if empty."""
    # Scores out of the same maximum are added as decimals first (exact): few ratios to add.
    totals: dict[Decimal, Decimal] = {}
    count = 0
    for score, maximum in scores:
        totals[maximum] = totals.get(maximum, 0) + score
        count += 1
    if not count:
        return None
    # The sum of total / maximum as one exact integer ratio.
    numerator, denominator = 0, 1
    for maximum, total in totals.items():
        total_numerator, total_denominator = total.as_integer_ratio()
        maximum_numerator, maximum_denominator = maximum.as_integer_ratio()
        top, bottom = total_numerator * maximum_denominator, total_denominator * maximum_numerator
        numerator, denominator = numerator * bottom + top * denominator, denominator * bottom
    return _cents(100 * numerator, denominator * count)


@dataclass(frozen=True)
class AttendanceCounts:
    marked: int = 0
    attended: int = 0
    counted: int = 0

    def __add__(self, other: "AttendanceCounts") -> "AttendanceCounts":
        return AttendanceCounts(
            self.marked + other.marked, self.attended + other.attended, self.counted + other.counted
        )

    @property
    def rate(self) -> Decimal | None:
        return percentage(self.attended, self.counted)


def attendance_counts(statuses: Iterable[str], rules: AttendanceRules) -> AttendanceCounts:
    """How many marks there are, how many count as attended, and how many are counted at all."""
    marked = attended = counted = 0
    for status in statuses:
        marked += 1
        if status == PRESENT or (status == LATE and rules.late_counts_as_present):
            attended += 1
        if not (status == EXCUSED and rules.excused_absences_excluded):
            counted += 1
    return AttendanceCounts(marked, attended, counted)


def daily_attendance_status(statuses: Iterable[str]) -> str | None:
    """The day's status from its marks: LATE / PRESENT if attended at all, else EXCUSED / ABSENT."""
    seen = set(statuses)
    if not seen:
        return None
    if seen & {PRESENT, LATE}:
        return LATE if LATE in seen else PRESENT
    return EXCUSED if seen == {EXCUSED} else ABSENT


def submission_deadline(due_date: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    """The first moment after the due date in the school's time zone; a submission before it is on time.

    The calendar's last day has no next day: its deadline is its last representable moment.
    """
    if due_date == datetime.date.max:
        return datetime.datetime.max.replace(tzinfo=tz)
    return datetime.datetime.combine(due_date + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz)


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the week the day falls in (the calendar's first day, 0001-01-01, is a Monday)."""
    return day - datetime.timedelta(days=day.weekday())


def week_end(monday: datetime.date) -> datetime.date:
    """The Sunday of the week starting ``monday``; the calendar's last day for its last, incomplete week."""
    return days_later(monday, 6)
