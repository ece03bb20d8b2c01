"""Periodic jobs keyed by (job, scheduled time) in `periodic_runs`: a tick never runs twice.

- A schedule names its ticks. `IntervalSchedule`: every N on a grid aligned to the Unix epoch, so
  every instance (and every restart) agrees on the tick times. `MonthlySchedule`: a day and hour
  of each month, in UTC.
- Only the newest due tick of an interval job runs: a sync missed while the service was down runs
  once at start, not once per missed interval. A monthly job catches up every month missed since
  its last tick (at most `CATCH_UP`), so a report is never skipped.
- Claiming a tick writes its row (`running`) and commits *before* the job runs; finishing sets
  `ok` or `failed`. An `ok` tick never runs again; a `failed` one runs again after the job's retry
  delay while it is still due; a `running` row whose process died is released at start (SQLite:
  the worker lock proves nobody else runs) or taken over by whoever holds the job's lock
  (PostgreSQL: an advisory lock per job, held while the job runs, so several daemons never run
  the same job at once).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text, update

from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.models import PeriodicRun, SyncRun

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CATCH_UP = 12  # missed monthly ticks run after a long stop, oldest first
RUNNING, OK, FAILED = "running", "ok", "failed"


@dataclass(frozen=True)
class IntervalSchedule:
    every: timedelta

    def latest(self, now: datetime) -> datetime:
        return EPOCH + ((utc(now) - EPOCH) // self.every) * self.every

    def due(self, now: datetime, last: datetime | None) -> list[datetime]:
        tick = self.latest(now)
        return [] if last is not None and utc(last) >= tick else [tick]

    def next_after(self, now: datetime) -> datetime:
        return self.latest(now) + self.every

    def describe(self) -> str:
        return f"every {_seconds(self.every)}"


@dataclass(frozen=True)
class MonthlySchedule:
    day: int  # 1..28 (config guarantees every month has it)
    hour: int  # 0..23, UTC

    def _tick(self, year: int, month: int) -> datetime:
        return datetime(year, month, self.day, self.hour, tzinfo=UTC)

    def _previous(self, tick: datetime) -> datetime:
        year, month = (tick.year, tick.month - 1) if tick.month > 1 else (tick.year - 1, 12)
        return self._tick(year, month)

    def latest(self, now: datetime) -> datetime:
        now = utc(now)
        tick = self._tick(now.year, now.month)
        return tick if tick <= now else self._previous(tick)

    def due(self, now: datetime, last: datetime | None) -> list[datetime]:
        tick, out = self.latest(now), list[datetime]()
        while len(out) < CATCH_UP and (not out if last is None else tick > utc(last)):
            out.append(tick)
            tick = self._previous(tick)
        return sorted(out)

    def next_after(self, now: datetime) -> datetime:
        tick = self.latest(now)
        year, month = (tick.year, tick.month + 1) if tick.month < 12 else (tick.year + 1, 1)
        return self._tick(year, month)

    def describe(self) -> str:
        return f"monthly on day {self.day} at {self.hour:02d}:00 UTC"


Schedule = IntervalSchedule | MonthlySchedule


def month_before(tick: datetime) -> str:
    """The month a report made at `tick` covers: the calendar month before it, as YYYY-MM."""
    year, month = (tick.year, tick.month - 1) if tick.month > 1 else (tick.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _seconds(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# -- the ticks in the database ------------------------------------------------------------------


def last_tick(app: Context, job: str) -> datetime | None:
    """The newest tick that ran or runs (a failed tick does not count: it is still due)."""
    with app.db.session() as s:
        value = s.scalar(
            select(func.max(PeriodicRun.scheduled_for)).where(
                PeriodicRun.job == job, PeriodicRun.status != FAILED
            )
        )
    return utc(value) if value else None


def claim(
    app: Context, job: str, tick: datetime, *, owner: str, retry_failed: timedelta | None
) -> bool:
    """Take the tick if nobody has done it; the caller holds the job's lock (`job_lock`)."""
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        row = s.get(PeriodicRun, (job, tick))
        if row is None:
            s.add(
                PeriodicRun(
                    job=job, scheduled_for=tick, started_at=now, status=RUNNING, detail=owner
                )
            )
            return True
        if row.status == OK:
            return False
        if row.status == FAILED:
            ended = utc(row.finished_at or row.started_at)
            if retry_failed is None or ended + retry_failed > now:
                return False
        # FAILED and due again, or RUNNING left by a process that is gone (we hold the lock).
        row.status, row.started_at, row.finished_at, row.detail = RUNNING, now, None, owner
        return True


def finish(app: Context, job: str, tick: datetime, *, ok: bool, detail: str) -> None:
    with app.db.session() as s, s.begin():
        row = s.get(PeriodicRun, (job, tick))
        if row is not None:
            row.status = OK if ok else FAILED
            row.finished_at = app.clock.now()
            row.detail = detail[:2000]


def release(app: Context, job: str, tick: datetime) -> None:
    """An interrupted tick did not happen: remove its row so the next start runs it."""
    with app.db.session() as s, s.begin():
        s.execute(
            delete(PeriodicRun).where(
                PeriodicRun.job == job,
                PeriodicRun.scheduled_for == tick,
                PeriodicRun.status == RUNNING,
            )
        )


def release_stale(app: Context) -> tuple[int, int]:
    """SQLite only, under the worker lock: whatever is `running` belongs to a dead process.

    Returns (ticks released, sync runs closed)."""
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        ticks = s.execute(delete(PeriodicRun).where(PeriodicRun.status == RUNNING))
        runs = s.execute(
            update(SyncRun)
            .where(SyncRun.status == RUNNING)
            .values(status=FAILED, finished_at=now, error="interrupted (the process ended)")
        )
    return _count(ticks), _count(runs)


def prune(app: Context, job: str, keep: timedelta) -> int:
    """Interval jobs leave a row per tick; rows older than `keep` have served their purpose."""
    cutoff = app.clock.now() - keep
    with app.db.session() as s, s.begin():
        result = s.execute(
            delete(PeriodicRun).where(
                PeriodicRun.job == job,
                PeriodicRun.scheduled_for < cutoff,
                PeriodicRun.status != RUNNING,
            )
        )
    return _count(result)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@contextlib.contextmanager
def job_lock(app: Context, name: str) -> Iterator[bool]:
    """True when this process may run `name` now. SQLite: always (one process holds the worker
    lock). PostgreSQL: a session advisory lock, held on its own autocommit connection while the
    job runs, so no transaction stays open and a dead process's lock goes with its connection."""
    if app.db.is_sqlite:
        yield True
        return
    digest = hashlib.sha256(f"{app.settings.database_url}|{name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    engine = app.db.engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
