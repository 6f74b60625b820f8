"""Calendar arithmetic that never leaves Python's calendar (1 January of year 1 to 31 December 9999).

Dates near its edges are refused where users enter them (``core.bounds``), but a row written another way
(raw SQL, an import, data from before the bounds) must not crash the engine or a page: these helpers stop
at the edge instead of raising ``OverflowError``.
"""

import datetime

DAY = datetime.timedelta(days=1)


def days_later(day: datetime.date, days: int) -> datetime.date:
    """``day`` moved by ``days`` (negative: earlier), stopped at the first or last date of the calendar."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.max if days > 0 else datetime.date.min


def local_date(moment: datetime.datetime, tz: datetime.tzinfo) -> datetime.date:
    """The calendar date of a moment in a time zone.

    A moment within hours of the calendar's edge can have a local date outside it (9999-12-31 23:00 UTC is
    in year 10000 in Nairobi): that date is the edge's.
    """
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return datetime.date.max if moment.year == datetime.MAXYEAR else datetime.date.min


def utc_midnight(day: datetime.date, *, plus_days: int = 0) -> datetime.datetime | None:
    """Midnight UTC starting ``day``, moved by ``plus_days`` days; None if that is outside the calendar.

    For bounds of a query on timestamps: None means the query needs no bound on that side.
    """
    try:
        return datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC) + plus_days * DAY
    except OverflowError:
        return None
