"""Retention ends 6 years after the end of the calendar year in which the financial year ended."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncaudit.bookkeeping import (
    financial_year_end_for,
    parse_year_end,
    retention_end,
    under_hold,
)


@pytest.mark.parametrize(
    ("invoice", "until"),
    [
        (date(2026, 3, 2), date(2032, 12, 31)),
        (date(2025, 1, 1), date(2031, 12, 31)),
        (date(2025, 12, 31), date(2031, 12, 31)),
        (date(2024, 2, 29), date(2030, 12, 31)),
    ],
)
def test_calendar_financial_year(invoice: date, until: date) -> None:
    assert retention_end(invoice) == until


@pytest.mark.parametrize(
    ("year_end", "invoice", "fy_end", "until"),
    [
        # The statute's own example: the year ends 30.4.2017 -> vouchers until 31.12.2023.
        ("04-30", date(2017, 4, 30), date(2017, 4, 30), date(2023, 12, 31)),
        ("04-30", date(2016, 5, 1), date(2017, 4, 30), date(2023, 12, 31)),
        ("04-30", date(2017, 5, 1), date(2018, 4, 30), date(2024, 12, 31)),
        ("06-30", date(2025, 12, 31), date(2026, 6, 30), date(2032, 12, 31)),
        ("09-30", date(2025, 10, 1), date(2026, 9, 30), date(2032, 12, 31)),
        # "02-29": the last day of February, whatever the year.
        ("02-29", date(2024, 2, 29), date(2024, 2, 29), date(2030, 12, 31)),
        ("02-29", date(2024, 3, 1), date(2025, 2, 28), date(2031, 12, 31)),
        ("02-29", date(2023, 2, 28), date(2023, 2, 28), date(2029, 12, 31)),
        ("02-29", date(2023, 3, 1), date(2024, 2, 29), date(2030, 12, 31)),
        # "02-28" literally: in a leap year 29 February opens the next financial year.
        ("02-28", date(2024, 2, 28), date(2024, 2, 28), date(2030, 12, 31)),
        ("02-28", date(2024, 2, 29), date(2025, 2, 28), date(2031, 12, 31)),
    ],
)
def test_non_calendar_financial_years_and_leap_days(
    year_end: str, invoice: date, fy_end: date, until: date
) -> None:
    assert financial_year_end_for(invoice, year_end) == fy_end
    assert retention_end(invoice, financial_year_end=year_end) == until


def test_the_period_is_configurable() -> None:
    assert retention_end(date(2026, 3, 2), years=10) == date(2036, 12, 31)


def test_the_hold_includes_its_last_day() -> None:
    until = date(2031, 12, 31)
    assert under_hold(until, until)
    assert not under_hold(until, until + timedelta(days=1))


@pytest.mark.parametrize("text", ["13-01", "00-10", "02-30", "04-31", "12/31", "1231", "", "12-3"])
def test_bad_year_ends_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"MM-DD|month|day"):
        parse_year_end(text)


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.sampled_from(["12-31", "01-31", "02-28", "02-29", "03-31", "04-30", "06-30", "08-31"]),
)
def test_properties(invoice: date, year_end: str) -> None:
    fy_end = financial_year_end_for(invoice, year_end)
    assert invoice <= fy_end < invoice + timedelta(days=366)
    until = retention_end(invoice, financial_year_end=year_end)
    assert (until.month, until.day) == (12, 31)
    assert until.year == fy_end.year + 6
    assert until >= invoice.replace(year=invoice.year + 6, day=1)
