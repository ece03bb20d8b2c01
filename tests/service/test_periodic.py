"""Schedules and tick keying: a tick is claimed once, retried only when failed, never lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.models import PeriodicRun
from syncaudit.service import periodic
from syncaudit.service.periodic import IntervalSchedule, MonthlySchedule, month_before


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_interval_ticks_sit_on_a_grid_shared_by_every_instance() -> None:
    hourly = IntervalSchedule(timedelta(hours=1))
    assert hourly.latest(at("2026-03-02 09:59:59")) == at("2026-03-02 09:00")
    assert hourly.due(at("2026-03-02 09:10"), None) == [at("2026-03-02 09:00")]
    assert hourly.due(at("2026-03-02 09:10"), at("2026-03-02 09:00")) == []
    # down for five hours: one pull at start, not five
    assert hourly.due(at("2026-03-02 14:10"), at("2026-03-02 09:00")) == [at("2026-03-02 14:00")]
    assert hourly.next_after(at("2026-03-02 09:10")) == at("2026-03-02 10:00")
    assert IntervalSchedule(timedelta(seconds=2)).latest(at("2026-03-02 09:00:03.5")) == at(
        "2026-03-02 09:00:02"
    )


def test_monthly_ticks_catch_up_every_missed_month_oldest_first() -> None:
    monthly = MonthlySchedule(day=1, hour=6)
    assert monthly.latest(at("2026-03-01 05:59")) == at("2026-02-01 06:00")
    assert monthly.latest(at("2026-03-01 06:00")) == at("2026-03-01 06:00")
    assert monthly.due(at("2026-03-15 00:00"), None) == [at("2026-03-01 06:00")]
    assert monthly.due(at("2026-03-15 00:00"), at("2026-03-01 06:00")) == []
    assert monthly.due(at("2026-03-15 00:00"), at("2025-12-01 06:00")) == [
        at("2026-01-01 06:00"),
        at("2026-02-01 06:00"),
        at("2026-03-01 06:00"),
    ]
    assert len(monthly.due(at("2030-01-02 00:00"), at("2020-01-01 06:00"))) == periodic.CATCH_UP
    assert monthly.next_after(at("2026-12-05 00:00")) == at("2027-01-01 06:00")
    assert month_before(at("2026-01-01 06:00")) == "2025-12"
    assert month_before(at("2026-03-01 06:00")) == "2026-02"


def test_a_tick_is_claimed_once_and_a_failed_one_again_after_its_delay(
    make_app: Callable[..., App], clock: ManualClock
) -> None:
    app = make_app([])
    tick = at("2026-03-02 09:00")
    retry = timedelta(minutes=15)
    assert periodic.claim(app, "job", tick, owner="a", retry_failed=retry)
    periodic.finish(app, "job", tick, ok=False, detail="boom")
    assert periodic.last_tick(app, "job") is None  # a failed tick is still due
    assert not periodic.claim(app, "job", tick, owner="b", retry_failed=retry)
    clock.advance(retry)
    assert periodic.claim(app, "job", tick, owner="b", retry_failed=retry)
    periodic.finish(app, "job", tick, ok=True, detail="done")
    clock.advance(timedelta(days=1))
    assert not periodic.claim(app, "job", tick, owner="c", retry_failed=retry)
    assert periodic.last_tick(app, "job") == tick


def test_a_running_tick_of_a_dead_process_is_released_or_taken_over(
    make_app: Callable[..., App],
) -> None:
    app = make_app([])
    tick = at("2026-03-02 09:00")
    assert periodic.claim(app, "job", tick, owner="dead", retry_failed=None)
    # whoever holds the job's lock may take a `running` row over: its owner is gone
    assert periodic.claim(app, "job", tick, owner="alive", retry_failed=None)
    periodic.release(app, "job", tick)  # interrupted: it did not happen
    assert periodic.last_tick(app, "job") is None
    assert periodic.claim(app, "job", tick, owner="again", retry_failed=None)
    if app.db.is_sqlite:
        assert periodic.release_stale(app) == (1, 0)
        assert periodic.last_tick(app, "job") is None


def test_old_ticks_of_interval_jobs_are_pruned(
    make_app: Callable[..., App], clock: ManualClock
) -> None:
    app = make_app([])
    for days in (40, 20, 1):
        tick = clock.now() - timedelta(days=days)
        periodic.claim(app, "sync:x", tick, owner="a", retry_failed=None)
        periodic.finish(app, "sync:x", tick, ok=True, detail="")
    assert periodic.prune(app, "sync:x", timedelta(days=35)) == 1
    with app.db.session() as s:
        assert len(s.scalars(select(PeriodicRun)).all()) == 2


def test_a_job_runs_in_one_instance_at_a_time(make_app: Callable[..., App]) -> None:
    first, second = make_app([]), make_app([])
    if first.db.is_sqlite:  # one process per SQLite database (the worker lock): no job lock
        with periodic.job_lock(first, "monthly_report") as mine:
            assert mine
        return
    with periodic.job_lock(first, "monthly_report") as mine:
        assert mine
        with periodic.job_lock(second, "monthly_report") as theirs:
            assert not theirs
        with periodic.job_lock(second, "sync:outlook") as other_job:
            assert other_job
    with periodic.job_lock(second, "monthly_report") as now_mine:
        assert now_mine
