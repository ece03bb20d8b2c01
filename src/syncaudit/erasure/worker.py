"""The erasure worker: claims tasks with leases and carries each one to `verified`.

Every step commits before the next side effect, so a worker killed at any point resumes where it
was: outcomes already recorded are not repeated; the one in flight is repeated, and connectors make
that repeat harmless (`already_absent`). Retry decisions are stored on the task, never slept on.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.contract import Capability, ErasureTarget, OutcomeStatus, RecordRef
from syncaudit.erasure.forget import purge_subject
from syncaudit.erasure.refs import (
    index_refs,
    key_of_json,
    merge,
    outcome_to_json,
    ref_from_json,
    ref_key,
    ref_to_json,
)
from syncaudit.erasure.states import RequestState, TaskState
from syncaudit.errors import AuthError, ConnectorError, PermanentError, TransientError
from syncaudit.models import ErasureRequest, ErasureTask
from syncaudit.retry import DEFAULT_POLICY

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.erasure")
AUTH_RETRY = timedelta(minutes=15)
MAX_VERIFY_ROUNDS = 3


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, app: App, *, owner: str | None = None) -> None:
        self.app = app
        self.owner = owner or worker_id()
        self.lease = timedelta(seconds=app.settings.erasure.lease_seconds)
        self.stopping: Callable[[], bool] = lambda: False

    # -- claiming ---------------------------------------------------------------------------

    def claim(self) -> int | None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            query = (
                select(ErasureTask.id)
                .where(
                    or_(
                        (ErasureTask.state == TaskState.PENDING)
                        & (
                            ErasureTask.next_attempt_at.is_(None)
                            | (ErasureTask.next_attempt_at <= now)
                        ),
                        (ErasureTask.state == TaskState.RUNNING)
                        & (ErasureTask.lease_expires_at < now),
                    )
                )
                .order_by(
                    ErasureTask.next_attempt_at.is_not(None),
                    ErasureTask.next_attempt_at,
                    ErasureTask.id,
                )
                .limit(1)
            )
            if not self.app.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            task_id = s.scalar(query)
            if task_id is None:
                return None
            s.execute(
                update(ErasureTask)
                .where(ErasureTask.id == task_id)
                .values(
                    state=TaskState.RUNNING,
                    lease_owner=self.owner,
                    lease_expires_at=now + self.lease,
                    updated_at=now,
                )
            )
            return task_id

    def run_until_idle(self, *, limit: int | None = None) -> int:
        """Claim and execute until nothing is claimable now; returns tasks executed."""
        done = 0
        while not self.stopping() and (limit is None or done < limit):
            task_id = self.claim()
            if task_id is None:
                break
            self.execute(task_id)
            done += 1
        return done

    # -- executing --------------------------------------------------------------------------

    def execute(self, task_id: int) -> None:
        with self.app.db.session() as s:
            task = s.get(ErasureTask, task_id)
            request = s.get(ErasureRequest, task.request_id) if task else None
            if task is None or request is None or request.email is None:
                return
            target = ErasureTarget(
                email=request.email, pseudonym=request.pseudonym, names=tuple(request.names or ())
            )
            system, request_id = task.system, request.id
        bound = log.bind(request=request_id, system=system, task=task_id)
        try:
            self._step(task_id, target, system, request_id)
        except TransientError as exc:
            self._retry_later(task_id, exc, request_id, system)
        except AuthError as exc:
            self._auth_failed(task_id, exc, request_id, system)
        except PermanentError as exc:
            self._give_up(task_id, exc, request_id, system)
        except ConnectorError as exc:
            self._give_up(task_id, exc, request_id, system)
        bound.debug("erasure.task_stepped")
        finish_request_if_done(self.app, request_id)

    def _step(self, task_id: int, target: ErasureTarget, system: str, request_id: str) -> None:
        connector = self.app.connector(system)
        refs = self._planned_refs(task_id, target, system, request_id)
        for _ in range(MAX_VERIFY_ROUNDS):
            manual = self._erase_each(task_id, target, refs, request_id, system)
            if manual:
                self._set_state(
                    task_id,
                    TaskState.AWAITING_MANUAL,
                    request_id,
                    system,
                    "task.awaiting_manual",
                    instructions=manual,
                )
                return
            if Capability.MANUAL in connector.capabilities:
                break
            remaining = connector.verify(target, refs)
            if not remaining:
                break
            refs = merge(refs, remaining)
            self._save_refs(task_id, refs)
            self._audit(
                request_id, system, "task.verify_found_more", target, remaining=len(remaining)
            )
        else:
            raise TransientError(
                f"{system}: data still present after {MAX_VERIFY_ROUNDS} erase-and-verify rounds"
            )
        self._set_state(task_id, TaskState.VERIFIED, request_id, system, "task.verified")

    def _planned_refs(
        self, task_id: int, target: ErasureTarget, system: str, request_id: str
    ) -> list[RecordRef]:
        with self.app.db.session() as s:
            task = s.get(ErasureTask, task_id)
            assert task is not None
            if task.refs is not None:
                return [ref_from_json(r) for r in task.refs]
            known = index_refs(s, target.pseudonym, system)
        connector = self.app.connector(system)
        refs = merge(connector.locate(target), known)
        self._save_refs(task_id, refs)
        self._audit(
            request_id,
            system,
            "task.planned",
            target,
            records=len(refs),
            kinds=sorted({str(r.kind) for r in refs}),
        )
        self._mark_request(request_id)
        return refs

    def _erase_each(
        self,
        task_id: int,
        target: ErasureTarget,
        refs: list[RecordRef],
        request_id: str,
        system: str,
    ) -> str:
        """Erase every ref without a recorded outcome; returns manual instructions, if any."""
        connector = self.app.connector(system)
        with self.app.db.session() as s:
            task = s.get(ErasureTask, task_id)
            assert task is not None
            done = {o["key"]: o for o in task.outcomes or []}
        instructions = []
        for ref in refs:
            key = ref_key(ref)
            if key in done and done[key]["status"] != OutcomeStatus.ALREADY_ABSENT.value:
                if done[key]["status"] == OutcomeStatus.AWAITING_MANUAL.value:
                    instructions.append(done[key]["detail"])
                continue
            outcome = connector.erase(ref, target)
            record = outcome_to_json(outcome)
            self._record_outcome(task_id, record, request_id, system, target)
            if outcome.status is OutcomeStatus.AWAITING_MANUAL:
                instructions.append(outcome.detail)
        return "\n".join(i for i in instructions if i)

    # -- state writes (each its own transaction, with its audit entry) -----------------------

    def _record_outcome(
        self,
        task_id: int,
        record: dict[str, object],
        request_id: str,
        system: str,
        target: ErasureTarget,
    ) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            assert task is not None
            outcomes = [o for o in task.outcomes or [] if o["key"] != record["key"]]
            task.outcomes = [*outcomes, record]
            task.lease_expires_at = now + self.lease
            task.updated_at = now
            audit.append(
                s,
                f"record.{record['status']}",
                at=now,
                subject=target.pseudonym,
                request_id=request_id,
                system=system,
                kind=record["kind"],
                label=record["label"],
                legal_basis=record["legal_basis"],
                retained_until=record["retained_until"],
            )

    def _save_refs(self, task_id: int, refs: list[RecordRef]) -> None:
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            assert task is not None
            task.refs = [ref_to_json(r) for r in refs]
            task.updated_at = self.app.clock.now()

    def _set_state(
        self,
        task_id: int,
        state: TaskState,
        request_id: str,
        system: str,
        event: str,
        *,
        instructions: str | None = None,
    ) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            request = s.get(ErasureRequest, request_id)
            assert task is not None
            assert request is not None
            task.state = state
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            task.last_error = None
            if instructions is not None:
                task.instructions = instructions
            if state is TaskState.VERIFIED:
                task.finished_at = now
            audit.append(
                s,
                event,
                at=now,
                subject=request.pseudonym,
                request_id=request_id,
                system=system,
                attempts=task.attempts,
            )
        log.info(event.replace("task.", "erasure.task_"), request=request_id, system=system)

    def _audit(
        self, request_id: str, system: str, event: str, target: ErasureTarget, **data: object
    ) -> None:
        with self.app.db.session() as s, s.begin():
            audit.append(
                s,
                event,
                at=self.app.clock.now(),
                subject=target.pseudonym,
                request_id=request_id,
                system=system,
                **data,
            )

    def _mark_request(self, request_id: str) -> None:
        with self.app.db.session() as s, s.begin():
            request = s.get(ErasureRequest, request_id)
            if request is not None and request.state == RequestState.RECEIVED:
                request.state = RequestState.IN_PROGRESS

    def _retry_later(self, task_id: int, exc: TransientError, request_id: str, system: str) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            assert task is not None
            task.attempts += 1
            decision = DEFAULT_POLICY.decide(
                task.attempts, exc, now, job_attempts=self.app.settings.erasure.job_attempts
            )
            task.last_error = f"{type(exc).__name__}: {exc}"
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            if decision.retry:
                task.state, task.next_attempt_at = TaskState.PENDING, decision.at
                event = "task.retry_scheduled"
            else:
                task.state, task.next_attempt_at = TaskState.FAILED, None
                event = "task.failed"
            audit.append(
                s,
                event,
                at=now,
                request_id=request_id,
                system=system,
                attempts=task.attempts,
                error=type(exc).__name__,
                retry_in_seconds=round(decision.delay, 1),
            )
        log.warning(
            event.replace("task.", "erasure.task_"),
            request=request_id,
            system=system,
            error=str(exc),
            attempts=task.attempts,
        )

    def _auth_failed(self, task_id: int, exc: AuthError, request_id: str, system: str) -> None:
        """Credentials rejected: nothing is marked done; try again later, the clock runs."""
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            assert task is not None
            task.attempts += 1
            task.state, task.next_attempt_at = TaskState.PENDING, now + AUTH_RETRY
            task.last_error = f"AuthError: {exc} — {exc.next_step}"
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            audit.append(
                s,
                "task.auth_failed",
                at=now,
                request_id=request_id,
                system=system,
                attempts=task.attempts,
            )
        log.error(
            "erasure.system_unhealthy",
            system=system,
            request=request_id,
            error=str(exc),
            next_step=exc.next_step,
        )

    def _give_up(self, task_id: int, exc: ConnectorError, request_id: str, system: str) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = s.get(ErasureTask, task_id)
            assert task is not None
            task.attempts += 1
            task.state, task.next_attempt_at = TaskState.FAILED, None
            task.last_error = f"{type(exc).__name__}: {exc} — {exc.next_step}"
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            audit.append(
                s,
                "task.failed",
                at=now,
                request_id=request_id,
                system=system,
                attempts=task.attempts,
                error=type(exc).__name__,
            )
        log.error(
            "erasure.task_failed",
            request=request_id,
            system=system,
            error=str(exc),
            next_step=exc.next_step,
        )


def release_stale_leases(app: App) -> int:
    """On SQLite only one worker runs (the lock proves it): any lease left is a dead worker's."""
    with app.db.session() as s, s.begin():
        result = s.execute(
            update(ErasureTask)
            .where(ErasureTask.state == TaskState.RUNNING)
            .values(state=TaskState.PENDING, lease_owner=None, lease_expires_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def finish_request_if_done(app: App, request_id: str) -> bool:
    """When every task is verified: complete, forget the person, keep the tombstone."""
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = s.get(ErasureRequest, request_id, with_for_update=not app.db.is_sqlite)
        if request is None or request.state == RequestState.COMPLETED:
            return False
        states = set(
            s.scalars(select(ErasureTask.state).where(ErasureTask.request_id == request_id))
        )
        if states != {TaskState.VERIFIED}:
            return False
        complete_request(s, request, now)
    app.db.compact_after_purge()
    log.info("erasure.request_completed", request=request_id)
    return True


def complete_request(s: Session, request: ErasureRequest, now: datetime) -> None:
    tasks = list(s.scalars(select(ErasureTask).where(ErasureTask.request_id == request.id)))
    retained = purge_subject(s, request.pseudonym, request.id, now)
    for task in tasks:
        keep = [o for o in task.outcomes or [] if o.get("status") == "retained"]
        task.outcomes = [
            o if o.get("status") == "retained" else {**o, "external_id": None}
            for o in task.outcomes or []
        ]
        kept_keys = {o["key"] for o in keep}
        task.refs = [r for r in task.refs or [] if key_of_json(r) in kept_keys]
    request.state = RequestState.COMPLETED
    request.completed_at = now
    request.email = None
    request.names = None
    request.purged_at = now
    within = now <= utc(request.deadline)
    audit.append(
        s,
        "request.completed",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        within_deadline=within,
        retained_records=retained,
    )


@contextlib.contextmanager
def worker_slot(app: App) -> Iterator[Worker]:
    """A Worker allowed to run here: on SQLite it holds the database's worker lock."""
    from syncaudit.db import sqlite_path
    from syncaudit.locks import WorkerLock

    path = sqlite_path(app.db.engine.url)
    if path is None:
        yield Worker(app)
        return
    with WorkerLock(path):
        released = release_stale_leases(app)
        if released:
            log.info("erasure.stale_leases_released", tasks=released)
        yield Worker(app)
