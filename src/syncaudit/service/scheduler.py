"""The scheduler: periodic jobs (pulls, legal-hold expiry, the monthly report), each tick
keyed in the database (see periodic.py) so that a tick never runs twice."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import structlog
from sqlalchemy import or_, select

from syncaudit.app import App
from syncaudit.contract import Capability
from syncaudit.erasure.deadlines import DeadlineEvent
from syncaudit.erasure.worker import worker_id
from syncaudit.errors import ConnectorError
from syncaudit.models import SyncRun
from syncaudit.reports.monthly import write_monthly_report
from syncaudit.service import periodic
from syncaudit.service.notify import Notifier
from syncaudit.service.periodic import IntervalSchedule, MonthlySchedule, Schedule

log = structlog.get_logger("syncaudit.service")

MAX_WAIT = 30.0  # the scheduler re-reads the clock at least this often
HOLD_CHECK = timedelta(days=1)
REPORT_RETRY = timedelta(hours=1)


# -- the jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Job:
    name: str  # periodic_runs key: "sync:<system>", "intake", "legal_hold_expiry", "monthly_report"
    schedule: Schedule
    retry_failed: timedelta | None  # a failed tick runs again after this, while still due
    keep: timedelta | None  # rows of older ticks are pruned (None: kept for good)
    system: str | None = None


def plan_jobs(app: App) -> list[Job]:
    """The service's periodic jobs, in the order one pass runs them."""
    service = app.settings.service
    jobs = []
    for system in app.systems():
        if Capability.PULL not in app.capabilities(system.name):
            continue
        every = system.sync_interval or service.sync_interval
        jobs.append(
            Job(
                name=f"sync:{system.name}",
                schedule=IntervalSchedule(every),
                retry_failed=min(every, timedelta(minutes=15)),
                keep=max(timedelta(days=35), every * 10),
                system=system.name,
            )
        )
    if app.settings.intake is not None:
        every = app.settings.intake.interval
        jobs.append(
            Job(
                name="intake",
                schedule=IntervalSchedule(every),
                retry_failed=min(every, timedelta(minutes=15)),
                keep=max(timedelta(days=35), every * 10),
            )
        )
    jobs.append(
        Job(
            name="legal_hold_expiry",
            schedule=IntervalSchedule(HOLD_CHECK),
            retry_failed=timedelta(hours=1),
            keep=timedelta(days=400),
        )
    )
    jobs.append(
        Job(
            name="monthly_report",
            schedule=MonthlySchedule(service.report_day, service.report_hour),
            retry_failed=REPORT_RETRY,
            keep=None,
        )
    )
    return jobs


class Interrupted(Exception):
    """Raised inside a job when the service stops; the tick is released, not marked done."""


@dataclass(frozen=True, kw_only=True)
class TickOutcome:
    job: str
    tick: datetime
    status: str  # ok | failed | interrupted
    detail: str


@dataclass
class RunSummary:
    ticks: list[TickOutcome] = field(default_factory=list)
    tasks: int = 0
    deadline_events: list[DeadlineEvent] = field(default_factory=list)
    notifications: int = 0

    @property
    def ok(self) -> bool:
        return all(t.status == "ok" for t in self.ticks)


# -- the monthly report -----------------------------------------------------------------------


class MonthlyWriter(Protocol):
    def __call__(
        self, app: App, month: str, out_dir: Path, *, lang: str, fmt: str = "html"
    ) -> Path: ...


def write_report(app: App, month: str, writer: MonthlyWriter = write_monthly_report) -> Path:
    """The monthly report for `month` (YYYY-MM) in report_dir, in every [reports] format; the
    first format's path is returned. Tests pass a stand-in `writer`."""
    out_dir = app.settings.service.report_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = app.settings.reports.formats
    lang = app.settings.controller.language
    paths = [writer(app, month, out_dir, lang=lang, fmt=fmt) for fmt in formats]
    return paths[0]


# -- failure transitions, told once -----------------------------------------------------------


class Health:
    """Which systems fail; the notifier hears of a failure once, and of the recovery."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._failing: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def failing(self, what: str, system: str, error: str, next_step: str) -> None:
        with self._lock:
            new = (what, system) not in self._failing
            self._failing[(what, system)] = error
        if new:
            self.notifier.system_failing(system, what, error, next_step)

    def ok(self, what: str, system: str) -> None:
        with self._lock:
            was = self._failing.pop((what, system), None)
        if was is not None:
            self.notifier.system_recovered(system, what)

    def failing_systems(self, what: str) -> set[str]:
        with self._lock:
            return {s for (w, s) in self._failing if w == what}


# -- the scheduler ----------------------------------------------------------------------------


class Scheduler:
    def __init__(
        self,
        app: App,
        notifier: Notifier,
        *,
        stop: threading.Event,
        wake_worker: threading.Event,
        monthly: MonthlyWriter = write_monthly_report,
    ) -> None:
        self.app = app
        self.notifier = notifier
        self.monthly = monthly
        self.stop = stop
        self.wake_worker = wake_worker
        self.jobs = plan_jobs(app)
        self.owner = f"owner {worker_id()}"
        self.current: tuple[Job, datetime] | None = None

    def loop(self) -> None:
        first = True
        while not self.stop.is_set():
            try:
                self.run_due()
            except Exception:
                log.exception("service.scheduler_error")
            if first:
                log.info("service.ready")  # every job due at start has run once
                first = False
            self.stop.wait(self.seconds_to_next())

    def seconds_to_next(self) -> float:
        now = self.app.clock.now()
        soonest = min((j.schedule.next_after(now) for j in self.jobs), default=None)
        if soonest is None:
            return MAX_WAIT
        return min(max((soonest - now).total_seconds(), 0.05), MAX_WAIT)

    def run_due(self) -> list[TickOutcome]:
        outcomes: list[TickOutcome] = []
        for job in self.jobs:
            last = periodic.last_tick(self.app, job.name)
            for tick in job.schedule.due(self.app.clock.now(), last):
                if self.stop.is_set():
                    return outcomes
                outcome = self._run_tick(job, tick)
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _run_tick(self, job: Job, tick: datetime) -> TickOutcome | None:
        with periodic.job_lock(self.app, job.name) as mine:
            if not mine or not periodic.claim(
                self.app, job.name, tick, owner=self.owner, retry_failed=job.retry_failed
            ):
                return None
            self.current = (job, tick)
            try:
                return self._execute(job, tick)
            finally:
                self.current = None
                if job.keep is not None:
                    periodic.prune(self.app, job.name, job.keep)

    def _execute(self, job: Job, tick: datetime) -> TickOutcome:
        log.info("service.job_started", job=job.name, tick=tick.isoformat())
        ok, detail = False, ""
        try:
            detail = self._body(job, tick)
            ok = True
        except Interrupted:
            periodic.release(self.app, job.name, tick)
            log.info("service.job_interrupted", job=job.name, tick=tick.isoformat())
            return TickOutcome(job=job.name, tick=tick, status="interrupted", detail="")
        except ConnectorError as exc:
            detail = self.notifier.redact(f"{type(exc).__name__}: {exc}")
            if job.system:
                self._tell_pull_health(job.system, detail, exc.next_step)
        except Exception as exc:  # a bug in one job must not stop the others
            detail = self.notifier.redact(f"{type(exc).__name__}: {exc}")
            log.exception("service.job_crashed", job=job.name)
        periodic.finish(self.app, job.name, tick, ok=ok, detail=detail)
        status = "ok" if ok else "failed"
        event = "service.job_finished" if ok else "service.job_failed"
        (log.info if ok else log.warning)(event, job=job.name, tick=tick.isoformat(), detail=detail)
        return TickOutcome(job=job.name, tick=tick, status=status, detail=detail)

    def _body(self, job: Job, tick: datetime) -> str:
        if job.system is not None:
            return self._pull(job.system)
        if job.name == "legal_hold_expiry":
            return self._holds()
        if job.name == "intake":
            return self._intake()
        return self._report(tick)

    def _pull(self, system: str) -> str:
        def check(_system: str, _count: int) -> None:
            if self.stop.is_set():
                raise Interrupted

        report = self.app.sync([system], progress=check)[0]
        self._tell_pull_health(system)
        self.wake_worker.set()  # a resurrection may have queued an erasure
        return (
            f"{report.status}: {report.items} items, {report.removals} removed, "
            f"{report.resurrections} resurrections, {len(report.problems)} problems"
        )

    def _tell_pull_health(self, system: str, error: str = "", next_step: str = "") -> None:
        """Tell a change only: the first failed pull after a good one, the first good one after
        a failure. Read from sync_runs, so a restart (or `run --once` from cron) neither
        repeats nor misses it."""
        with self.app.db.session() as s:
            statuses = s.scalars(
                select(SyncRun.status)
                .where(
                    SyncRun.system == system,
                    SyncRun.status != "running",
                    or_(SyncRun.error.is_(None), ~SyncRun.error.like("interrupted%")),
                )
                .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
                .limit(2)
            ).all()
        now_failed = bool(statuses) and statuses[0] == "failed"
        was_failed = len(statuses) > 1 and statuses[1] == "failed"
        if now_failed and not was_failed:
            self.notifier.system_failing(system, "pull", error, next_step)
        elif was_failed and not now_failed:
            self.notifier.system_recovered(system, "pull")

    def _intake(self) -> str:
        """Requests by mail: new ones made pending, replies verified, letters sent (including
        completion letters of requests the worker finished)."""
        from syncaudit.requester.intake import run_intake

        report = run_intake(self.app)
        return (
            f"{report.read} read, {len(report.created)} new, {len(report.joined)} joined, "
            f"{len(report.verified)} verified, {report.letters_sent} letters, "
            f"{len(report.closed)} answered"
        )

    def _holds(self) -> str:
        from syncaudit.erasure.legal_hold import expire_holds

        ended = expire_holds(self.app)
        for item in ended:
            self.notifier.hold_ended(item.request_id, item.system, item.records)
        return f"{len(ended)} manual deletion task(s) opened"

    def _report(self, tick: datetime) -> str:
        month = periodic.month_before(tick)
        path = write_report(self.app, month, self.monthly)
        log.info("service.report_written", month=month, path=str(path))
        self.notifier.monthly_report(month, str(path))
        return str(path)
