"""The erasure worker: claims tasks with leases and carries each one to `verified`.

Every step commits before the next side effect, so a worker killed at any point resumes where it
was: outcomes already recorded are not repeated; the one in flight is repeated, and connectors make
that repeat harmless (`already_absent`). Retry decisions are stored on the task, never slept on.

Every write checks that this worker still holds the task's lease (on PostgreSQL with the row
locked): a worker whose lease ran out while a slow call was in flight, and whose task another
worker has claimed since, stops at its next write instead of overwriting the new owner's work.
A request whose last task was verified by a worker that died before completing it is completed
by the next `run_until_idle`. A system verified clean in which a later sync meets the person again
while the request is still open (a sign-up form, an import) has its task reopened, before the
request completes: the tombstone that makes a sync report resurrections exists only afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.context import Context
from syncaudit.contract import Capability, Correction, ErasureTarget, OutcomeStatus, RecordRef
from syncaudit.db import sqlite_path
from syncaudit.erasure import lifecycle, rectify_step
from syncaudit.erasure.locks import WorkerLock
from syncaudit.erasure.refs import (
    merge,
    outcome_to_json,
    ref_from_json,
    ref_key,
    ref_to_json,
)
from syncaudit.erasure.states import Origin, RequestState, TaskState
from syncaudit.errors import AuthError, PermanentError, SyncauditError, TransientError
from syncaudit.index import index_refs, mark_verified_absent
from syncaudit.models import ErasureRequest, ErasureTask
from syncaudit.retry import DEFAULT_POLICY

log = structlog.get_logger("syncaudit.erasure")
AUTH_RETRY = timedelta(minutes=15)
MAX_VERIFY_ROUNDS = 3


def _erases(request: ErasureRequest) -> bool:
    """Erasure requests act by address, or (a resurrection) by the records found; rectification
    requests by address (`rectify_step`); requests of other kinds, and those a legal hold's end
    opened, have only manual tasks."""
    if request.kind == "rectification":
        return request.email is not None
    if request.kind != "erasure":
        return False
    return request.email is not None or request.origin == Origin.RESURRECTION


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseLost(Exception):
    """This worker's lease on a task ran out and another worker claimed it: stop writing."""


class Worker:
    def __init__(self, app: Context, *, owner: str | None = None) -> None:
        self.app = app
        # Unique per Worker, not per process: two workers in one process must not share leases.
        self.owner = owner or f"{worker_id()}:{secrets.token_hex(3)}"
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
        lifecycle.reopen_reappeared(self.app)
        lifecycle.finish_ready_requests(self.app)
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
            if task is None or request is None or not _erases(request):
                return
            target = ErasureTarget(
                email=request.email or "",
                pseudonym=request.pseudonym,
                names=tuple(request.names or ()),
                pseudonymize=self.app.pseudo.of_normalized,
            )
            system, request_id = task.system, request.id
            changes = request.changes if request.kind == "rectification" else None
        correction = None
        if changes is not None:
            correction = Correction(name=changes.get("name"), email=changes.get("email"))
        bound = log.bind(request=request_id, system=system, task=task_id)
        try:
            self._attempt(task_id, target, system, request_id, correction)
        except LeaseLost:
            bound.warning("erasure.lease_lost", next_step="Raise [erasure].lease_seconds.")
            return
        bound.debug("erasure.task_stepped")
        lifecycle.finish_request_if_done(self.app, request_id)

    def _attempt(
        self,
        task_id: int,
        target: ErasureTarget,
        system: str,
        request_id: str,
        correction: Correction | None = None,
    ) -> None:
        try:
            if correction is not None:
                rectify_step.step(self, task_id, target, correction, system, request_id)
            else:
                self._step(task_id, target, system, request_id)
        except SyncauditError as exc:  # transient, auth, permanent, system no longer configured
            self._failed(task_id, exc, request_id, system)
        except SQLAlchemyError:
            raise  # our database, not the connector: the worker stops, the lease is released
        except Exception as exc:  # a connector's bug must not block every erasure behind it
            crashed = PermanentError(
                f"{system}: the connector failed unexpectedly ({type(exc).__name__})",
                next_step="Report it to the connector's maintainer; after a fix run "
                f"`syncaudit erasure retry {request_id} {system}`.",
            )
            self._failed(task_id, crashed, request_id, system)

    def _step(self, task_id: int, target: ErasureTarget, system: str, request_id: str) -> None:
        connector = self.app.connector(system)
        refs = self.planned_refs(task_id, target, system, request_id)
        again: set[str] = set()  # found again by verify: erase even if an outcome is recorded
        for _ in range(MAX_VERIFY_ROUNDS):
            manual = self._erase_each(task_id, target, refs, request_id, system, again=again)
            if manual:
                self.set_state(
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
            again = {ref_key(r) for r in remaining}
            self.save_refs(
                task_id,
                refs,
                request_id=request_id,
                system=system,
                target=target,
                event="task.verify_found_more",
                remaining=len(remaining),
            )
        else:
            raise TransientError(
                f"{system}: data still present after {MAX_VERIFY_ROUNDS} erase-and-verify rounds"
            )
        self.set_state(task_id, TaskState.VERIFIED, request_id, system, "task.verified")

    def planned_refs(
        self, task_id: int, target: ErasureTarget, system: str, request_id: str
    ) -> list[RecordRef]:
        with self.app.db.session() as s:
            task = s.get(ErasureTask, task_id)
            assert task is not None
            if task.refs is not None:
                return merge([ref_from_json(r) for r in task.refs])
            known = index_refs(s, target.pseudonym, system)
        connector = self.app.connector(system)
        refs = merge(connector.locate(target), known)
        self.save_refs(
            task_id,
            refs,
            request_id=request_id,
            system=system,
            target=target,
            event="task.planned",
            records=len(refs),
            kinds=sorted({str(r.kind) for r in refs}),
        )
        return refs

    def _erase_each(
        self,
        task_id: int,
        target: ErasureTarget,
        refs: list[RecordRef],
        request_id: str,
        system: str,
        *,
        again: set[str],
    ) -> str:
        """Erase every ref without a recorded outcome (or in `again`); returns manual
        instructions, if any."""
        connector = self.app.connector(system)
        with self.app.db.session() as s:
            task = s.get(ErasureTask, task_id)
            assert task is not None
            done = {o["key"]: o for o in task.outcomes or []}
        instructions = []
        for ref in refs:
            key = ref_key(ref)
            status = done[key]["status"] if key in done else None
            if status not in (None, OutcomeStatus.ALREADY_ABSENT.value) and key not in again:
                if done[key]["status"] == OutcomeStatus.AWAITING_MANUAL.value:
                    instructions.append(done[key]["detail"])
                continue
            outcome = connector.erase(ref, target)
            record = outcome_to_json(outcome)
            self.record_outcome(task_id, record, request_id, system, target)
            if outcome.status is OutcomeStatus.AWAITING_MANUAL:
                instructions.append(outcome.detail)
        return "\n".join(i for i in instructions if i)

    # -- state writes (each its own transaction, with its audit entry) -----------------------

    def _owned(self, s: Session, task_id: int) -> ErasureTask:
        """The task (row-locked on PostgreSQL) if this worker still holds its lease."""
        task = s.get(ErasureTask, task_id, with_for_update=not self.app.db.is_sqlite)
        if task is None or task.state != TaskState.RUNNING or task.lease_owner != self.owner:
            raise LeaseLost(task_id)
        return task

    def record_outcome(
        self,
        task_id: int,
        record: dict[str, object],
        request_id: str,
        system: str,
        target: ErasureTarget,
    ) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = self._owned(s, task_id)
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

    def save_refs(
        self,
        task_id: int,
        refs: list[RecordRef],
        *,
        request_id: str,
        system: str,
        target: ErasureTarget,
        event: str,
        **data: object,
    ) -> None:
        """Store the refs with their audit entry in one transaction (a crash keeps both or
        neither); the first plan also moves the request on."""
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = self._owned(s, task_id)
            task.refs = [ref_to_json(r) for r in refs]
            task.lease_expires_at = now + self.lease
            task.updated_at = now
            request = s.get(ErasureRequest, request_id)
            if request is not None and request.state == RequestState.RECEIVED:
                request.state = RequestState.IN_PROGRESS
            audit.append(
                s,
                event,
                at=now,
                subject=target.pseudonym,
                request_id=request_id,
                system=system,
                **data,
            )

    def set_state(
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
            task = self._owned(s, task_id)
            request = s.get(ErasureRequest, request_id)
            assert request is not None
            task.state = state
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            task.last_error = None
            if instructions is not None:
                task.instructions = instructions
            if state is TaskState.VERIFIED:
                task.finished_at = now
                mark_verified_absent(s, request.pseudonym, system, now)
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

    def _after_failure(
        self, exc: SyncauditError, attempts: int, now: datetime
    ) -> tuple[TaskState, datetime | None, str]:
        """The stored decision: when (if ever) to try again, and the event that says so."""
        if isinstance(exc, TransientError):
            job_attempts = self.app.settings.erasure.job_attempts
            decision = DEFAULT_POLICY.decide(attempts, exc, now, job_attempts=job_attempts)
            if decision.retry:
                return TaskState.PENDING, decision.at, "task.retry_scheduled"
        elif isinstance(exc, AuthError):  # nothing is marked done; the clock keeps running
            return TaskState.PENDING, now + AUTH_RETRY, "task.auth_failed"
        return TaskState.FAILED, None, "task.failed"

    def _failed(self, task_id: int, exc: SyncauditError, request_id: str, system: str) -> None:
        now = self.app.clock.now()
        with self.app.db.session() as s, s.begin():
            task = self._owned(s, task_id)
            task.attempts += 1
            task.state, task.next_attempt_at, event = self._after_failure(exc, task.attempts, now)
            transient = isinstance(exc, TransientError)
            task.last_error = f"{type(exc).__name__}: {exc}" + (
                "" if transient else f" — {exc.next_step}"
            )
            task.lease_owner = task.lease_expires_at = None
            task.updated_at = now
            retry_in = (task.next_attempt_at - now).total_seconds() if task.next_attempt_at else 0
            audit.append(
                s,
                event,
                at=now,
                request_id=request_id,
                system=system,
                attempts=task.attempts,
                error=type(exc).__name__,
                retry_in_seconds=round(retry_in, 1),
            )
            attempts = task.attempts
        names = {
            "task.retry_scheduled": "erasure.task_retry_scheduled",
            "task.auth_failed": "erasure.system_unhealthy",
            "task.failed": "erasure.task_failed",
        }
        emit = log.warning if transient else log.error
        emit(
            names[event],
            request=request_id,
            system=system,
            error=str(exc),
            attempts=attempts,
            next_step=exc.next_step,
        )


def release_stale_leases(app: Context) -> int:
    """On SQLite only one worker runs (the lock proves it): any lease left is a dead worker's."""
    with app.db.session() as s, s.begin():
        result = s.execute(
            update(ErasureTask)
            .where(ErasureTask.state == TaskState.RUNNING)
            .values(state=TaskState.PENDING, lease_owner=None, lease_expires_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


@contextlib.contextmanager
def worker_slot(app: Context) -> Iterator[Worker]:
    """A Worker allowed to run here: on SQLite it holds the database's worker lock."""
    path = sqlite_path(app.db.engine.url)
    if path is None:
        yield Worker(app)
        return
    with WorkerLock(path):
        released = release_stale_leases(app)
        if released:
            log.info("erasure.stale_leases_released", tasks=released)
        # A worker killed between a purge and its WAL checkpoint left erased bytes in the WAL.
        app.db.compact_after_purge()
        yield Worker(app)
