"""The one retry policy: named exceptions only, bounded attempts *and* time, Retry-After honoured.

Two uses of the same policy:
- `RetryPolicy.call(fn)` retries a *read* in place (a page of a pull), sleeping through the clock,
  so tests that pass a ManualClock never wait.
- `RetryPolicy.decide(...)` returns a stored decision for a *write* retried at the job level (the
  erasure engine keeps it with the task and never sleeps inside a lease).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog
import tenacity

from syncaudit.clock import Clock, SystemClock
from syncaudit.errors import TransientError

T = TypeVar("T")
log = structlog.get_logger("syncaudit.retry")


@dataclass(frozen=True, kw_only=True)
class RetryDecision:
    retry: bool
    at: datetime | None  # when to try again (None: give up)
    delay: float


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 6
    max_total_seconds: float = 300.0  # in-place retries never block longer than this
    base_seconds: float = 1.0
    cap_seconds: float = 600.0
    jitter: float = 0.25  # +/- fraction of the delay

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempt + 1` (attempt counts from 1). Never under Retry-After."""
        backoff = min(self.cap_seconds, self.base_seconds * 2.0 ** max(attempt - 1, 0))
        backoff *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            backoff = max(backoff, float(retry_after))
        return max(backoff, 0.0)

    def decide(
        self, attempt: int, error: BaseException, now: datetime, *, job_attempts: int = 12
    ) -> RetryDecision:
        """Job-level: retry transient errors up to `job_attempts` times (the deadline governs)."""
        if not isinstance(error, TransientError) or attempt >= job_attempts:
            return RetryDecision(retry=False, at=None, delay=0.0)
        wait = self.delay(attempt, error.retry_after)
        return RetryDecision(retry=True, at=now + timedelta(seconds=wait), delay=wait)

    def call(self, fn: Callable[[], T], *, clock: Clock | None = None, what: str = "call") -> T:
        """Run `fn`, retrying TransientError in place within the attempt and time bounds."""
        the_clock = clock or SystemClock()
        start = the_clock.now()

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            seconds: float = self.delay(state.attempt_number, retry_after)
            log.info("retry.scheduled", what=what, attempt=state.attempt_number, wait=seconds)
            return seconds

        policy = self

        class OutOfTime(tenacity.stop.stop_base):
            def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
                spent = (the_clock.now() - start).total_seconds()
                return spent >= policy.max_total_seconds

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError),
            stop=tenacity.stop_any(tenacity.stop_after_attempt(self.max_attempts), OutOfTime()),
            wait=wait,
            sleep=the_clock.sleep,
            reraise=True,
        )
        return retrying(fn)


DEFAULT_POLICY = RetryPolicy()
MAX_RETRY_AFTER = 3600.0


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from `now`, within
    0..MAX_RETRY_AFTER; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
