"""Percentages: exact, rounded half-up to two places (worked by hand, and against plain fractions)."""

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from analytics.definitions import mean_percentage, percentage


def test_percentages_by_hand():
    assert percentage(1, 3) == Decimal("33.33")
    assert percentage(2, 3) == Decimal("66.67")
    assert percentage(1, 8) == Decimal("12.50")
    assert percentage(1, 800) == Decimal("0.13")  # 0.125 rounds half up
    assert percentage(1, 1600) == Decimal("0.06")  # 0.0625
    assert percentage(0, 7) == Decimal("0.00")
    assert percentage(7, 7) == Decimal("100.00")
    assert percentage(3, 0) is None
    assert percentage(Decimal("10.50"), Decimal("42.00")) == Decimal("25.00")  # money: the exact path


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_whole_number_percentages_equal_the_fraction_rounding(part, whole):
    exact = Fraction(part * 100, whole)
    cents = int(exact * 100 + Fraction(1, 2))  # floor, as both are non-negative
    assert percentage(part, whole) == Decimal(cents) / 100


def test_mean_percentages_by_hand():
    assert mean_percentage([]) is None
    # 15/20 = 75%, 5/10 = 50%, 7/20 = 35%: mean 53.333... -> 53.33
    assert mean_percentage(
        [(Decimal("15"), Decimal("20")), (Decimal("5"), Decimal("10")), (Decimal("7"), Decimal("20"))]
    ) == Decimal("53.33")
    # 1/3 and 1/6: 33.333...% and 16.666...%, mean exactly 25
    assert mean_percentage([(Decimal("1"), Decimal("3")), (Decimal("1"), Decimal("6"))]) == Decimal("25.00")
    assert mean_percentage([(Decimal("0.5"), Decimal("8"))]) == Decimal("6.25")


scores = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(1, 10_000)).map(lambda pair: (min(pair), pair[1])), max_size=30
)


@given(scores)
def test_mean_percentages_equal_the_plain_mean_of_fractions(pairs):
    as_decimals = [(Decimal(score) / 100, Decimal(maximum) / 100) for score, maximum in pairs]
    if not pairs:
        assert mean_percentage(as_decimals) is None
        return
    mean = sum(Fraction(score, maximum) for score, maximum in pairs) * 100 / len(pairs)
    assert mean_percentage(as_decimals) == Decimal(int(mean * 100 + Fraction(1, 2))) / 100


decimals = st.decimals(min_value=-10_000, max_value=10_000, places=4, allow_nan=False, allow_infinity=False)


@given(decimals, decimals.filter(bool))
def test_decimal_percentages_equal_the_fraction_rounding(part, whole):
    """The exact path (decimals, as money and grades): the same as half-up rounding of the plain fraction."""
    exact = Fraction(part) * 100 / Fraction(whole)
    assert percentage(part, whole) == Decimal(math.floor(exact * 100 + Fraction(1, 2))) / 100
    assert percentage(Fraction(part), Fraction(whole)) == percentage(part, whole)
