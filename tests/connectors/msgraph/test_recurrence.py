"""The simulator's expansion of Graph recurrence patterns (recurrencepattern.md,
recurrencerange.md): the calendarView a series produces depends on it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from syncaudit_msgraph.simulator.recurrence import starts

FIRST = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)  # a Monday
UNTIL = datetime(2027, 12, 31, tzinfo=UTC)


def days(pattern: dict[str, object], span: dict[str, object] | None = None) -> list[date]:
    span = span or {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 4}
    return [s.date() for s in starts({"pattern": pattern, "range": span}, FIRST, UNTIL)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            {"type": "daily", "interval": 3},
            ["2026-01-05", "2026-01-08", "2026-01-11", "2026-01-14"],
        ),
        (
            {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"]},
            ["2026-01-05", "2026-01-08", "2026-01-19", "2026-01-22"],
        ),
        (
            {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"],  # months without a 31st
        ),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
            ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"],
        ),
        (
            {"type": "absoluteYearly", "interval": 1, "month": 2, "dayOfMonth": 14},
            ["2026-02-14", "2027-02-14"],
        ),
        (
            {
                "type": "relativeYearly",
                "interval": 1,
                "month": 6,
                "daysOfWeek": ["monday"],
                "index": "second",
            },
            ["2026-06-08", "2027-06-14"],
        ),
    ],
)
def test_patterns(pattern: dict[str, object], expected: list[str]) -> None:
    assert days(pattern) == [date.fromisoformat(d) for d in expected]


def test_ranges_and_the_time_of_day() -> None:
    weekly = {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}
    ending = {"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-01-26"}
    assert len(days(weekly, ending)) == 4  # the end date is inclusive
    endless = {"type": "noEnd", "startDate": "2026-01-05", "endDate": "0001-01-01"}
    assert len(days(weekly, endless)) == 104  # up to `until`
    first = next(starts({"pattern": weekly, "range": endless}, FIRST, UNTIL))
    assert first == FIRST
    with pytest.raises(ValueError, match="pattern type"):
        days({"type": "fortnightly"})
