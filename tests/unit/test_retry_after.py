"""Retry-After as the one retry policy reads it: seconds or an HTTP date, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncaudit.retry import MAX_RETRY_AFTER, retry_after_seconds

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("999999", MAX_RETRY_AFTER),
        ("Mon, 02 Mar 2026 09:00:30 GMT", 30.0),
        ("Mon, 02 Mar 2026 08:59:00 GMT", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
    ],
)
def test_retry_after_is_read_and_bounded(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds
