"""Plausible bounds of what users enter: dates within a window, integers within their column's range.

One definition for every path that writes: the models' ``clean()`` (run by the admin's forms and by the
services behind the API), the services that write without a model form, and the API's query parameters.
docs/security.md, "Input bounds", states the rules; each error names the field.

Source apps import this module; it imports none of them (a school is used through ``tzinfo`` and ``terms``).
"""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Max, Min
from django.utils import timezone
from rest_framework import serializers

from core.dates import local_date

# --- integers ------------------------------------------------------------------------------------

ID_MAX = 2**63 - 1  # ids are BigAutoField: 64-bit on both databases
LESSON_PERIOD = (1, 20)  # periods of a school day
GRADE_LEVEL = (0, 20)  # 0 for a reception / kindergarten year
BEHAVIOUR_SCALE = (0, 100)  # the ends of a school's behaviour-score scale


def within(bounds: tuple[int, int]) -> list:
    """Model-field validators for an integer domain; the same on SQLite (whose columns take any 64-bit integer)
    and PostgreSQL (whose smallint stops at 32767)."""
    return [MinValueValidator(bounds[0]), MaxValueValidator(bounds[1])]


def id_field(**kwargs) -> serializers.IntegerField:
    """An id given as a plain integer (not a related field): 1 to the id columns' maximum, else 400 naming it."""
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


def plausible_ids(ids) -> set[int]:
    """The ids among ``ids`` that can exist (a larger integer cannot even be sent to SQLite)."""
    return {value for value in ids if isinstance(value, int) and 1 <= value <= ID_MAX}


# --- dates ---------------------------------------------------------------------------------------

RECORD_MARGIN_YEARS = 1  # a school's records: a year around its terms and today
TERM_YEARS_BACK, TERM_YEARS_AHEAD = 10, 2  # a term starts and ends within these years of today
TERM_MAX_DAYS = 366
QUERY_YEARS_BACK, QUERY_YEARS_AHEAD = 30, 5  # dates asked about in a query (from, to)
BIRTH_YEARS_BACK = 100


def years_later(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` later (earlier if negative); 29 February becomes the 28th in other years."""
    year = min(max(day.year + years, datetime.MINYEAR), datetime.MAXYEAR)
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def school_today(school) -> datetime.date:
    """Today's date in the school's time zone."""
    return local_date(timezone.now(), school.tzinfo)


def school_window(school, *, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The dates a school's records may have: from a year before its first term (or today, if earlier) to a year
    after its last term (or today, if later)."""
    today = today or school_today(school)
    span = school.terms.aggregate(first=Min("start_date"), last=Max("end_date"))
    first = min(span["first"] or today, today)
    last = max(span["last"] or today, today)
    return years_later(first, -RECORD_MARGIN_YEARS), years_later(last, RECORD_MARGIN_YEARS)


def school_date_errors(
    school,
    *,
    dates: dict[str, datetime.date | None] | None = None,
    moments: dict[str, datetime.datetime | None] | None = None,
    past: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The fields whose date is implausible for the school, with why.

    ``dates``: field -> date; ``moments``: field -> timestamp, judged by its date in the school's time zone;
    ``past``: fields of something that has happened (a payment, a submission), which cannot be after today.
    """
    days = {field: day for field, day in (dates or {}).items() if day is not None}
    days |= {field: local_date(moment, school.tzinfo) for field, moment in (moments or {}).items() if moment}
    if not days:
        return {}
    today = school_today(school)
    earliest, latest = school_window(school, today=today)
    errors = {}
    for field, day in days.items():
        if field in past and day > today:
            errors[field] = f"{day} is after today ({today} at the school); it cannot be in the future."
        elif not earliest <= day <= latest:
            errors[field] = (
                f"{day} is outside the dates this school's records may have: {earliest} to {latest} "
                "(a year before its first term to a year after its last term or today)."
            )
    return errors


def term_date_errors(
    *, start_date: datetime.date | None, end_date: datetime.date | None, today: datetime.date
) -> dict[str, str]:
    """A term starts no more than 10 years before today, ends no more than 2 years after it, lasts at most a year."""
    earliest, latest = years_later(today, -TERM_YEARS_BACK), years_later(today, TERM_YEARS_AHEAD)
    errors = {}
    for field, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None and not earliest <= day <= latest:
            errors[field] = f"{day} is outside the dates a term may have: {earliest} to {latest}."
    if not errors and start_date and end_date and (end_date - start_date).days >= TERM_MAX_DAYS:
        errors["end_date"] = f"A term lasts at most {TERM_MAX_DAYS} days; this one {(end_date - start_date).days + 1}."
    return errors


def birth_date_errors(*, date_of_birth: datetime.date | None, today: datetime.date) -> dict[str, str]:
    if date_of_birth is not None and not years_later(today, -BIRTH_YEARS_BACK) <= date_of_birth <= today:
        return {"date_of_birth": f"{date_of_birth} is not a plausible date of birth (within {BIRTH_YEARS_BACK} years)."}
    return {}


def validate_query_date(day: datetime.date) -> None:
    """A date asked about (from, to): within 30 years before and 5 years after today."""
    today = timezone.localdate()
    earliest, latest = years_later(today, -QUERY_YEARS_BACK), years_later(today, QUERY_YEARS_AHEAD)
    if not earliest <= day <= latest:
        raise serializers.ValidationError(f"Give a date from {earliest} to {latest}.")


def query_date_field(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[validate_query_date], **kwargs)
