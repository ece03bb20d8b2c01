"""The erasure loop: claims tasks until none is due, runs the deadline watch, notifies, waits."""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from sqlalchemy import func, select

from syncaudit.app import App
from syncaudit.clock import utc
from syncaudit.erasure.deadlines import DeadlineEvent
from syncaudit.erasure.states import TaskState
from syncaudit.erasure.worker import Worker
from syncaudit.models import ErasureRequest, ErasureTask
from syncaudit.service import periodic
from syncaudit.service.notify import Notifier
from syncaudit.service.scheduler import Health

log = structlog.get_logger("syncaudit.service")

PROBE_SECONDS = 1.0  # how often an idle erasure loop looks for new tasks


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
