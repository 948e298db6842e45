"""Calendar months as every rule counts them (warranty cover, reminder intervals, report
periods): the same day of the month, or the month's last day where it is shorter."""
from __future__ import annotations

from datetime import date

import pytest

from services.common.clock import add_months


@pytest.mark.parametrize("day,months,expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 3, 31), 1, date(2024, 4, 30)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2023, 11, 30), 36, date(2026, 11, 30)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
    (date(2026, 1, 15), -1, date(2025, 12, 15)),
])
def test_a_month_later_is_the_same_day_or_the_last_day_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


def test_the_29th_of_february_becomes_the_28th_in_a_year_without_one_and_stays_in_a_leap_year():
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2024, 2, 29), 1) == date(2024, 3, 29)


def test_month_ends_do_not_carry_over_a_shortened_day():
    # Each step counts from the original day, not from the shortened one before it.
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)
    assert add_months(add_months(date(2024, 1, 31), 1), 1) == date(2024, 3, 29)
