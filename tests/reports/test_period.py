"""Months are local: the boundaries follow the report's time zone, summer time included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncaudit.errors import UsageError
from syncaudit.reports.period import current_month, month_period, previous_month


def test_a_helsinki_month_in_utc() -> None:
    march = month_period("2026-03", "Europe/Helsinki")
    assert march.start == datetime(2026, 2, 28, 22, tzinfo=UTC)  # UTC+2 in winter
    assert march.end == datetime(2026, 3, 31, 21, tzinfo=UTC)  # UTC+3 from 29 March
    assert (march.first_day.isoformat(), march.last_day.isoformat()) == ("2026-03-01", "2026-03-31")
    assert march.previous().month == "2026-02"
    assert month_period("2026-01", "UTC").previous().month == "2025-12"
    assert month_period("2025-12", "UTC").end == datetime(2026, 1, 1, tzinfo=UTC)


def test_default_months() -> None:
    # 1 April 02:30 in Helsinki is still 31 March in UTC.
    now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert current_month(now, "Europe/Helsinki") == "2026-04"
    assert previous_month(now, "Europe/Helsinki") == "2026-03"
    assert previous_month(datetime(2026, 1, 5, tzinfo=UTC), "UTC") == "2025-12"


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "March", "2026-03-01", ""])
def test_a_bad_month_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as info:
        month_period(text, "UTC")
    assert "YYYY-MM" in info.value.next_step
