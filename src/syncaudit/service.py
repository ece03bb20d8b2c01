"""`syncaudit run`: the long-running service (and `run --once` for cron and systemd timers).

Two threads do the work; the main thread only supervises and handles signals:
- the *scheduler* runs periodic jobs, each tick keyed in the database (see periodic.py): a pull
  per system on its interval (connectors plan their own reconcile rounds inside a pull, e.g.
  Mailchimp's `reconcile_days`), the legal-hold expiry once a day, the monthly report;
- the *erasure loop* claims erasure tasks until none is due, runs the deadline watch, sends
  notifications, then waits `worker_poll_seconds`, or less: until the next retry is due, or at
  once when a new task appears (a cheap probe of the task table every second) or the scheduler
  says a pull met a resurrected person.
Each thread has its own App (own connectors and connections), so a pull and an erasure in the
same system never share a client.

Stopping: SIGTERM/SIGINT stop claiming and stop a pull at its next page; the current task or job
has `grace` seconds to finish, after which its lease or tick is released and the process exits 0.
A second signal exits at once. On SQLite a second instance is refused (the worker lock); on
PostgreSQL instances share the queue (SKIP LOCKED) and the jobs (an advisory lock per job).
"""

from __future__ import annotations

import functools
import importlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy import func, or_, select, update

from syncaudit import periodic
from syncaudit.clock import utc
from syncaudit.contract import Capability
from syncaudit.erasure.states import TaskState
from syncaudit.erasure.worker import Worker, worker_id, worker_slot
from syncaudit.errors import ConnectorError
from syncaudit.models import ErasureRequest, ErasureTask, SyncRun
from syncaudit.notify import Notifier, build_notifier
from syncaudit.periodic import IntervalSchedule, MonthlySchedule, Schedule
from syncaudit.signals import stop_on_signals

if TYPE_CHECKING:
    from syncaudit.app import App
    from syncaudit.erasure.deadlines import DeadlineEvent

log = structlog.get_logger("syncaudit.service")

PROBE_SECONDS = 1.0  # how often an idle erasure loop looks for new tasks
SUPERVISE_SECONDS = 0.1  # how often the main thread looks at signals and the work threads
MAX_WAIT = 30.0  # the scheduler re-reads the clock at least this often
HOLD_CHECK = timedelta(days=1)
REPORT_RETRY = timedelta(hours=1)
DEFAULT_GRACE = 8.0  # fits `docker stop`'s default 10 s; systemd's unit allows more


# -- the jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Job:
    name: str  # key in periodic_runs: "sync:<system>", "legal_hold_expiry", "monthly_report"
    schedule: Schedule
    retry_failed: timedelta | None  # a failed tick runs again after this, while still due
    keep: timedelta | None  # rows of older ticks are pruned (None: kept for good)
    system: str | None = None


def plan_jobs(app: App) -> list[Job]:
    """The service's periodic jobs, in the order one pass runs them."""
    service = app.settings.service
    jobs = []
    for system in app.systems():
        if Capability.PULL not in app.connector(system.name).capabilities:
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


def write_report(app: App, month: str) -> Path:
    """The monthly report for `month` (YYYY-MM) in report_dir, in every [reports] format; the
    first format's path is returned. Imported through sys.modules so tests can stand one in."""
    out_dir = app.settings.service.report_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module("syncaudit.reports.monthly")
    writer: MonthlyWriter = module.write_monthly_report
    formats = getattr(app.settings.reports, "formats", None) or ("html",)
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
    ) -> None:
        self.app = app
        self.notifier = notifier
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

    def _holds(self) -> str:
        from syncaudit.legal_hold import expire_holds

        ended = expire_holds(self.app)
        for item in ended:
            self.notifier.hold_ended(item.request_id, item.system, item.records)
        return f"{len(ended)} manual deletion task(s) opened"

    def _report(self, tick: datetime) -> str:
        month = periodic.month_before(tick)
        path = write_report(self.app, month)
        log.info("service.report_written", month=month, path=str(path))
        self.notifier.monthly_report(month, str(path))
        return str(path)


# -- the erasure loop -------------------------------------------------------------------------


class TrackedWorker(Worker):
    """A Worker that says which task it is executing, so a stop past the grace can release it."""

    current: int | None = None

    def execute(self, task_id: int) -> None:
        self.current = task_id
        try:
            super().execute(task_id)
        finally:
            self.current = None


class ErasureLoop:
    def __init__(
        self,
        app: App,
        notifier: Notifier,
        health: Health,
        *,
        stop: threading.Event,
        wake: threading.Event,
    ) -> None:
        self.app = app
        self.worker = TrackedWorker(app)
        self.notifier = notifier
        self.health = health
        self.stop = stop
        self.wake = wake
        self.poll = app.settings.service.worker_poll_seconds
        self.started = app.clock.now()
        self._told_failed: set[tuple[str, str]] = set()
        self.worker.stopping = stop.is_set

    def loop(self) -> None:
        while not self.stop.is_set():
            try:
                self.run_pass()
            except Exception:
                log.exception("service.worker_error")
            self._wait()

    def run_pass(self) -> tuple[int, list[DeadlineEvent]]:
        done = self.worker.run_until_idle()
        events = self._watch()
        self._tell_failures()
        return done, events

    def _watch(self) -> list[DeadlineEvent]:
        from syncaudit.erasure.deadlines import watch

        with periodic.job_lock(self.app, "deadline_watch") as mine:
            events = watch(self.app) if mine else []
        if events:
            with self.app.db.session() as s:
                ids = [e.request_id for e in events]
                who = dict(
                    s.execute(
                        select(ErasureRequest.id, ErasureRequest.pseudonym).where(
                            ErasureRequest.id.in_(ids)
                        )
                    ).all()
                )
            for event in events:
                self.notifier.deadline(event, self.app.pseudo.short(who.get(event.request_id, "")))
        return events

    def _tell_failures(self) -> None:
        """Tasks that gave up (since this start), and systems refusing our credentials."""
        with self.app.db.session() as s:
            failed = s.execute(
                select(ErasureTask.request_id, ErasureTask.system, ErasureTask.last_error).where(
                    ErasureTask.state == TaskState.FAILED, ErasureTask.updated_at >= self.started
                )
            ).all()
            auth = dict(
                s.execute(
                    select(ErasureTask.system, ErasureTask.last_error).where(
                        ErasureTask.state == TaskState.PENDING,
                        ErasureTask.last_error.like("AuthError%"),
                    )
                ).all()
            )
        for request_id, system, error in failed:  # told outside the session: it may be slow
            if (request_id, system) not in self._told_failed:
                self._told_failed.add((request_id, system))
                self.notifier.task_failed(request_id, system, error or "")
        for system, error in auth.items():
            text, _, step = (error or "").partition(" — ")
            self.health.failing("erasure", system, text, step)
        for system in self.health.failing_systems("erasure") - set(auth):
            self.health.ok("erasure", system)

    def _seconds_to_wait(self) -> float:
        now = self.app.clock.now()
        with self.app.db.session() as s:
            soonest = s.scalar(
                select(func.min(ErasureTask.next_attempt_at)).where(
                    ErasureTask.state == TaskState.PENDING
                )
            )
            lease = s.scalar(
                select(func.min(ErasureTask.lease_expires_at)).where(
                    ErasureTask.state == TaskState.RUNNING
                )
            )
        wait = self.poll
        for when in (soonest, lease):
            if when is not None:
                wait = min(wait, max((utc(when) - now).total_seconds(), 0.2))
        return wait

    def _probe(self) -> tuple[Any, ...]:
        with self.app.db.session() as s:
            row = s.execute(select(func.max(ErasureTask.id), func.max(ErasureTask.updated_at)))
            return tuple(row.one())

    def _wait(self) -> None:
        try:
            end = time.monotonic() + self._seconds_to_wait()
            seen = self._probe()
        except Exception:
            log.exception("service.worker_error")
            self.stop.wait(self.poll)
            return
        while not self.stop.is_set():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            if self.wake.wait(min(PROBE_SECONDS, remaining)):
                self.wake.clear()
                return
            try:
                if self._probe() != seen:
                    return
            except Exception:
                log.exception("service.worker_error")


# -- the service ------------------------------------------------------------------------------


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.scheduler: Scheduler | None = None
        self.erasure: ErasureLoop | None = None

    def request_stop(self, reason: str) -> None:
        if not self.stop.is_set():
            log.info("service.stopping", reason=reason)
        self.stop.set()
        self.wake.set()

    def run(
        self,
        *,
        once: bool = False,
        grace: float = DEFAULT_GRACE,
        companions: Sequence[Callable[[threading.Event], None]] = (),
    ) -> RunSummary:
        """Run until stopped (or, with `once`, until every due job ran once). `companions` run
        in their own threads beside the jobs until the stop event is set (the web console)."""
        from syncaudit.app import App

        notifier, owned = build_notifier(self.app)
        summary = RunSummary()
        try:
            with worker_slot(self.app):  # on SQLite: the lock; a second instance is refused
                if self.app.db.is_sqlite:
                    ticks, runs = periodic.release_stale(self.app)
                    if ticks or runs:
                        log.info("service.stale_released", ticks=ticks, sync_runs=runs)
                with App(self.app.settings, clock=self.app.clock) as scheduler_app:
                    health = Health(notifier)
                    self.scheduler = Scheduler(
                        scheduler_app, notifier, stop=self.stop, wake_worker=self.wake
                    )
                    self.erasure = ErasureLoop(
                        self.app, notifier, health, stop=self.stop, wake=self.wake
                    )
                    if once:
                        self._supervise([lambda: self._once(summary)], grace)
                    else:
                        extra = [functools.partial(c, self.stop) for c in companions]
                        self._supervise([self.scheduler.loop, self.erasure.loop, *extra], grace)
        finally:
            if owned is not None:
                owned.close()
        summary.notifications = len(notifier.sent)
        return summary

    def _once(self, summary: RunSummary) -> None:
        assert self.scheduler is not None
        assert self.erasure is not None
        summary.ticks = self.scheduler.run_due()
        summary.tasks, summary.deadline_events = self.erasure.run_pass()

    def _supervise(self, targets: list[Callable[[], None]], grace: float) -> None:
        errors: list[BaseException] = []

        def guarded(target: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    target()
                except BaseException as exc:  # re-raised in the main thread below
                    errors.append(exc)

            return run

        threads = [
            threading.Thread(target=guarded(t), name=f"syncaudit-{i}", daemon=True)
            for i, t in enumerate(targets)
        ]
        with stop_on_signals() as signalled:
            for thread in threads:
                thread.start()
            log.info("service.started", pid=os.getpid(), jobs=self._job_names())
            sd_notify("READY=1")
            while any(t.is_alive() for t in threads) and signalled.signal is None:
                time.sleep(SUPERVISE_SECONDS)
            if signalled.signal is not None:
                self.request_stop(signalled.signal)
                sd_notify("STOPPING=1")
                end = time.monotonic() + grace
                while any(t.is_alive() for t in threads) and time.monotonic() < end:
                    time.sleep(SUPERVISE_SECONDS)
                if any(t.is_alive() for t in threads):
                    self._abandon()
                    log.warning("service.stopped", after_grace=True)
                    sys.stderr.flush()
                    os._exit(0)  # the current step is released; nothing half-done is kept
            for thread in threads:
                thread.join()
        log.info("service.stopped", after_grace=False)
        if errors:
            raise errors[0]

    def _job_names(self) -> list[str]:
        return [j.name for j in self.scheduler.jobs] if self.scheduler else []

    def _abandon(self) -> None:
        """Grace is over: give the current task and tick back so a restart picks them up."""
        now = self.app.clock.now()
        worker = self.erasure.worker if self.erasure else None
        task_id = worker.current if worker else None
        if task_id is not None and worker is not None:
            with self.app.db.session() as s, s.begin():
                s.execute(
                    update(ErasureTask)
                    .where(
                        ErasureTask.id == task_id,
                        ErasureTask.state == TaskState.RUNNING,
                        ErasureTask.lease_owner == worker.owner,
                    )
                    .values(
                        state=TaskState.PENDING,
                        lease_owner=None,
                        lease_expires_at=None,
                        updated_at=now,
                    )
                )
            log.info("service.task_released", task=task_id)
        current = self.scheduler.current if self.scheduler else None
        if current is not None:
            job, tick = current
            periodic.release(self.app, job.name, tick)
            if job.system is not None:
                with self.app.db.session() as s, s.begin():
                    s.execute(
                        update(SyncRun)
                        .where(SyncRun.system == job.system, SyncRun.status == "running")
                        .values(status="failed", finished_at=now, error="interrupted (stopped)")
                    )
            log.info("service.job_released", job=job.name, tick=tick.isoformat())


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) we are ready or stopping; nothing without $NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("service.sd_notify_failed", error=str(exc))


__all__ = [
    "Interrupted",
    "Job",
    "RunSummary",
    "Service",
    "TickOutcome",
    "plan_jobs",
    "write_report",
]
