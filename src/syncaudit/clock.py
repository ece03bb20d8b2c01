"""The one clock: everything that asks for "now" or waits goes through a Clock; tests move it."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told; `sleep` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> None:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))


class OffsetClock(SystemClock):
    """Real time shifted by a fixed offset: lets subprocess tests start "in the future"."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return super().now() + self._offset


def default_clock() -> Clock:
    """System time, shifted by SYNCAUDIT_CLOCK_OFFSET_SECONDS when set (subprocess tests)."""
    offset = os.environ.get("SYNCAUDIT_CLOCK_OFFSET_SECONDS")
    if offset:
        return OffsetClock(timedelta(seconds=float(offset)))
    return SystemClock()


def utc(dt: datetime) -> datetime:
    """Databases (SQLite) hand back naive datetimes; everything here is UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
