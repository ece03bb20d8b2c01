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
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence

import structlog
from sqlalchemy import update

from syncaudit.app import App
from syncaudit.erasure.states import TaskState
from syncaudit.erasure.worker import worker_slot
from syncaudit.models import ErasureTask, SyncRun
from syncaudit.reports.monthly import write_monthly_report
from syncaudit.service import periodic
from syncaudit.service.erasure_loop import ErasureLoop
from syncaudit.service.notify import build_notifier
from syncaudit.service.scheduler import (
    Health,
    Interrupted,
    Job,
    MonthlyWriter,
    RunSummary,
    Scheduler,
    TickOutcome,
    plan_jobs,
    write_report,
)
from syncaudit.service.signals import stop_on_signals

log = structlog.get_logger("syncaudit.service")

SUPERVISE_SECONDS = 0.1  # how often the main thread looks at signals and the work threads
DEFAULT_GRACE = 8.0  # fits `docker stop`'s default 10 s; systemd's unit allows more


# -- the service ------------------------------------------------------------------------------


class Service:
    def __init__(self, app: App, *, monthly: MonthlyWriter = write_monthly_report) -> None:
        self.app = app
        self.monthly = monthly
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
                        scheduler_app,
                        notifier,
                        stop=self.stop,
                        wake_worker=self.wake,
                        monthly=self.monthly,
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
    "MonthlyWriter",
    "RunSummary",
    "Service",
    "TickOutcome",
    "plan_jobs",
    "write_report",
]
