"""The month a report covers: local calendar boundaries (the controller's time zone) in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from syncaudit.errors import UsageError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, kw_only=True)
class Period:
    """[start, end) in UTC; `month` is "YYYY-MM" in the report's time zone."""

    month: str
    timezone: str
    start: datetime
    end: datetime

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.zone).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()

    def previous(self) -> Period:
        return month_period(_shift(self.first_day, -1).strftime("%Y-%m"), self.timezone)

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(month: str, timezone: str) -> Period:
    """Parse "YYYY-MM"; a bad value is a usage error naming the expected form."""
    match = _MONTH.match(month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"{month!r} is not a month", next_step="Give it as YYYY-MM, e.g. 2026-03.")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    zone = ZoneInfo(timezone)
    following = _shift(first, 1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
    return Period(month=first.strftime("%Y-%m"), timezone=timezone, start=start, end=end)


def previous_month(now: datetime, timezone: str) -> str:
    """The month before the one `now` falls in, locally: the default for a monthly report."""
    local = now.astimezone(ZoneInfo(timezone)).date().replace(day=1)
    return _shift(local, -1).strftime("%Y-%m")


def current_month(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")
