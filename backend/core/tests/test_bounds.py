"""The bounds module's rules, one by one (the paths that use them are tested in tests/test_input_bounds.py)."""

import datetime

import pytest

from core.bounds import ID_MAX, plausible_ids, school_date_errors, school_window, term_date_errors, years_later
from tests import factories

D = datetime.date


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (D(2026, 10, 15), -1, D(2025, 10, 15)),
        (D(2028, 2, 29), 1, D(2029, 2, 28)),
        (D(2028, 2, 29), -4, D(2024, 2, 29)),
        (D(9999, 6, 1), 1, D(9999, 6, 1)),  # stops at the calendar's last year
        (D(1, 6, 1), -1, D(1, 6, 1)),
    ],
)
def test_years_later(day, years, expected):
    assert years_later(day, years) == expected


@pytest.mark.django_db
def test_the_window_of_a_school_without_terms_is_a_year_either_side_of_today():
    school = factories.SchoolFactory()

    assert school_window(school, today=D(2026, 10, 15)) == (D(2025, 10, 15), D(2027, 10, 15))


@pytest.mark.django_db
def test_the_window_of_a_school_spans_its_terms_and_today_with_a_year_either_side():
    school = factories.SchoolFactory()
    factories.TermFactory(school=school, start_date=D(2024, 1, 8), end_date=D(2024, 3, 29))
    factories.TermFactory(school=school, start_date=D(2027, 1, 4), end_date=D(2027, 3, 26))

    assert school_window(school, today=D(2026, 10, 15)) == (D(2023, 1, 8), D(2028, 3, 26))


@pytest.mark.django_db
def test_timestamps_are_judged_by_their_date_at_the_school(time_machine):
    time_machine.move_to("2026-10-15 10:00:00+00:00", tick=False)
    apia = factories.SchoolFactory(timezone="Pacific/Apia")  # UTC+13: already 2026-10-15 23:00 there
    honolulu = factories.SchoolFactory(timezone="Pacific/Honolulu")  # UTC-10: 2026-10-15 00:00 there
    moment = datetime.datetime(2026, 10, 15, 11, 30, tzinfo=datetime.UTC)  # 00:30 on the 16th in Apia

    assert list(school_date_errors(apia, moments={"paid_at": moment}, past={"paid_at"})) == ["paid_at"]
    assert school_date_errors(honolulu, moments={"paid_at": moment}, past={"paid_at"}) == {}
    assert school_date_errors(apia, moments={"paid_at": moment}) == {}  # the future is fine where allowed


def test_term_rules():
    today = D(2026, 10, 15)

    assert term_date_errors(start_date=D(2026, 9, 7), end_date=D(2026, 12, 18), today=today) == {}
    assert list(term_date_errors(start_date=D(2026, 9, 7), end_date=D(2027, 9, 8), today=today)) == ["end_date"]
    assert term_date_errors(start_date=None, end_date=None, today=today) == {}


def test_plausible_ids():
    assert plausible_ids([1, ID_MAX, ID_MAX + 1, 0, -5, 2**64, "7", None]) == {1, ID_MAX}
