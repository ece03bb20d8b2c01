"""Graph's `patternedRecurrence` (pattern + range) expanded to a series' original start times.

Documented (recurrencepattern.md, recurrencerange.md): pattern types daily, weekly,
absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly with `interval`, `daysOfWeek`,
`firstDayOfWeek`, `dayOfMonth`, `month`, `index`; range types endDate (inclusive), noEnd,
numbered (`numberOfOccurrences`), with `startDate` always. Assumed: times are UTC (the simulator
stores UTC; `recurrenceTimeZone` is kept but not applied), a day of month the month lacks (e.g.
31 in April) is skipped, and a relative pattern with several days counts the days of the month
that match any of them.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
MAX_PERIODS = 200_000  # a bound on the loop, far beyond any calendar window


def starts(recurrence: Mapping[str, Any], first: datetime, until: datetime) -> Iterator[datetime]:
    """Original starts in order, from the range's startDate, before `until` (exclusive). The time
    of day is that of `first`, the master's own start."""
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    begin = _date(span.get("startDate")) or first.date()
    last = _date(span.get("endDate")) if span.get("type") == "endDate" else None
    count = int(span.get("numberOfOccurrences") or 0) if span.get("type") == "numbered" else 0
    for made, day in enumerate(_days(pattern, begin)):
        when = datetime.combine(day, first.timetz())
        if when >= until or (last is not None and day > last) or (count and made >= count):
            return
        yield when


def _days(pattern: Mapping[str, Any], begin: date) -> Iterator[date]:
    kind = str(pattern.get("type") or "daily")
    interval = max(int(pattern.get("interval") or 1), 1)
    days = [WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or () if d]
    if kind == "daily":
        for n in range(MAX_PERIODS):
            yield begin + timedelta(days=n * interval)
    elif kind == "weekly":
        yield from _weekly(begin, interval, days or [begin.weekday()], pattern)
    elif kind in ("absoluteMonthly", "relativeMonthly"):
        for n in range(0, MAX_PERIODS, interval):
            year, month = divmod(begin.month - 1 + n, 12)
            day = _in_month(begin.year + year, month + 1, pattern, days, kind)
            if day is not None and day >= begin:
                yield day
    elif kind in ("absoluteYearly", "relativeYearly"):
        month = int(pattern.get("month") or begin.month)
        for n in range(0, MAX_PERIODS // 12, interval):
            day = _in_month(begin.year + n, month, pattern, days, kind)
            if day is not None and day >= begin:
                yield day
    else:
        raise ValueError(f"unknown recurrence pattern type {kind!r}")


def _weekly(
    begin: date, interval: int, days: list[int], pattern: Mapping[str, Any]
) -> Iterator[date]:
    first_day = WEEKDAYS.index(str(pattern.get("firstDayOfWeek") or "sunday").lower())
    week = begin - timedelta(days=(begin.weekday() - first_day) % 7)
    order = sorted(days, key=lambda d: (d - first_day) % 7)
    for n in range(0, MAX_PERIODS, interval):
        start = week + timedelta(weeks=n)
        for weekday in order:
            day = start + timedelta(days=(weekday - first_day) % 7)
            if day >= begin:
                yield day


def _in_month(
    year: int, month: int, pattern: Mapping[str, Any], days: list[int], kind: str
) -> date | None:
    length = monthrange(year, month)[1]
    if kind.startswith("absolute"):
        wanted = int(pattern.get("dayOfMonth") or 1)
        return date(year, month, wanted) if wanted <= length else None
    matching = [
        date(year, month, d) for d in range(1, length + 1) if date(year, month, d).weekday() in days
    ]
    index = INDEXES.get(str(pattern.get("index") or "first").lower(), 0)
    return matching[index] if matching and (index < 0 or index < len(matching)) else None


def _date(text: Any) -> date | None:
    if not text or str(text).startswith("0001-01-01"):
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None
