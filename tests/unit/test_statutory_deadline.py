"""GDPR Art. 12(3): one calendar month from receipt, extendable once by two further months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from syncaudit.erasure.deadlines import statutory_deadline

HELSINKI = ZoneInfo("Europe/Helsinki")


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HELSINKI)  # type: ignore[misc]


def _last_day(deadline: datetime) -> str:
    return deadline.astimezone(HELSINKI).date().isoformat()


@pytest.mark.parametrize(
    ("received", "last_day"),
    [
        (_local(2026, 3, 15, 10, 0), "2026-04-15"),
        (_local(2026, 1, 31, 9, 0), "2026-02-28"),  # no 31 February: the month's last day
        (_local(2028, 1, 31, 9, 0), "2028-02-29"),  # a leap year
        (_local(2026, 3, 31, 9, 0), "2026-04-30"),
        (_local(2026, 12, 20, 9, 0), "2027-01-20"),  # across the year
        (_local(2026, 2, 28, 9, 0), "2026-03-28"),  # a calendar month, not "end of month"
    ],
)
def test_one_calendar_month_from_receipt(received: datetime, last_day: str) -> None:
    assert _last_day(statutory_deadline(received)) == last_day


def test_the_deadline_is_the_end_of_the_local_day() -> None:
    deadline = statutory_deadline(_local(2026, 3, 15, 10, 0))
    assert deadline.tzinfo == UTC
    assert deadline.astimezone(HELSINKI).time().isoformat() == "23:59:59.999999"
    assert (deadline + timedelta(microseconds=1)).astimezone(HELSINKI).hour == 0


def test_receipt_counts_in_local_time_not_utc() -> None:
    # 1 February 00:30 in Helsinki is still 31 January in UTC.
    received = _local(2026, 2, 1, 0, 30).astimezone(UTC)
    assert received.day == 31
    assert _last_day(statutory_deadline(received)) == "2026-03-01"
    assert statutory_deadline(received, "UTC").date().isoformat() == "2026-02-28"


def test_the_extension_adds_two_further_months() -> None:
    assert _last_day(statutory_deadline(_local(2026, 1, 31, 9, 0), extended=True)) == "2026-04-30"
    assert _last_day(statutory_deadline(_local(2026, 11, 30, 9, 0), extended=True)) == "2027-02-28"
