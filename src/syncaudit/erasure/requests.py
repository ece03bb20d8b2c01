"""Creating erasure requests, the dry-run plan, listings and manual confirmation."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import Capability, ErasureTarget, PlannedAction, RecordRef
from syncaudit.erasure import lifecycle
from syncaudit.erasure.refs import merge, ref_to_json
from syncaudit.erasure.states import OPEN_REQUEST_STATES, Origin, RequestState, TaskState
from syncaudit.errors import ConnectorError, UsageError
from syncaudit.index import index_refs, mark_verified_absent
from syncaudit.models import AuditEntry, ErasureRequest, ErasureTask, Record, Subject


def new_request_id(now: datetime) -> str:
    return f"E-{now:%Y%m%d}-{secrets.token_hex(3)}"


def target_for(app: Context, email: str, session: Session | None = None) -> ErasureTarget:
    """The person to erase, with every name the index knows (for redaction). Pass the caller's
    session when inside a transaction: a second one would wait for the first's lock."""
    normalized, pseudonym = app.pseudonym_of(email)
    if session is not None:
        names = _known_names(session, pseudonym)
    else:
        with app.db.session() as s:
            names = _known_names(s, pseudonym)
    return ErasureTarget(
        email=normalized,
        pseudonym=pseudonym,
        names=tuple(names),
        pseudonymize=app.pseudo.of_normalized,
    )


def _known_names(session: Session, pseudonym: str) -> list[str]:
    subject = session.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
    if subject is None:
        return []
    names = {subject.display_name} if subject.display_name else set()
    names.update(
        n
        for n in session.scalars(
            select(Record.name).where(Record.subject_id == subject.id, Record.name.is_not(None))
        )
        if n
    )
    return sorted(names, key=lambda n: (-len(n), n))


# -- the dry run ------------------------------------------------------------------------------


@dataclass
class SystemPlan:
    system: str
    actions: list[PlannedAction] = field(default_factory=list)
    error: str | None = None
    manual: bool = False


def plan(app: Context, email: str) -> list[SystemPlan]:
    """What an erasure would do, from a live look-up in every system plus the index."""
    target = target_for(app, email)
    plans = []
    for system in app.systems():
        entry = SystemPlan(system=system.name)
        try:
            connector = app.connector(system.name)
            entry.manual = Capability.MANUAL in connector.capabilities
            with app.db.session() as s:
                known = index_refs(s, target.pseudonym, system.name)
            refs = merge(connector.locate(target), known)
            entry.actions = [connector.preview(ref, target) for ref in refs]
        except ConnectorError as exc:
            entry.error = f"{exc} — {exc.next_step}"
        plans.append(entry)
    return plans


# -- submitting -------------------------------------------------------------------------------


def received_time(app: Context, received_at: datetime | None) -> datetime:
    """When the person asked: the clock of every request kind runs from it, never the future."""
    now = app.clock.now()
    received = utc(received_at) if received_at else now
    if received > now + timedelta(minutes=5):
        raise UsageError(
            "--received-at is in the future",
            next_step="Give the time the person asked, e.g. 2026-03-01T14:30+02:00.",
        )
    return received


def submit(
    app: Context,
    email: str,
    *,
    reason: str | None = None,
    received_at: datetime | None = None,
    origin: str = Origin.OPERATOR,
    systems: list[str] | None = None,
    session: Session | None = None,
) -> str:
    """Store the request and one pending task per system; the worker plans and acts."""
    target = target_for(app, email, session)
    names = systems or [s.name for s in app.systems()]
    request = NewRequest(
        pseudonym=target.pseudonym,
        email=target.email,
        names=target.names,
        reason=reason,
        origin=origin,
        received=received_time(app, received_at),
        tasks=dict.fromkeys(names),
    )
    if session is not None:
        return write_request(app, session, request)
    with app.db.session() as s, s.begin():
        return write_request(app, s, request)


def submit_found(
    app: Context,
    session: Session,
    pseudonym: str,
    refs: dict[str, list[RecordRef]],
    *,
    reason: str,
    origin: str = Origin.RESURRECTION,
) -> str:
    """A request that holds no address: the records to erase (per system) are already known, e.g.
    a tombstoned person met again by a sync. The worker erases and verifies exactly those."""
    request = NewRequest(
        pseudonym=pseudonym,
        email=None,
        names=(),
        reason=reason,
        origin=origin,
        received=app.clock.now(),
        tasks={system: found for system, found in refs.items()},
    )
    return write_request(app, session, request)


@dataclass(frozen=True, kw_only=True)
class NewRequest:
    """A request on the erasure queue: erasure, or another kind its worker runs (rectification)."""

    pseudonym: str
    email: str | None
    names: tuple[str, ...]
    reason: str | None
    origin: str
    received: datetime
    tasks: dict[str, list[RecordRef] | None]  # system -> refs known already (None: locate)
    kind: str = "erasure"
    new_id: Callable[[datetime], str] | None = None  # None: new_request_id (E-…)
    changes: dict[str, str | None] | None = None  # a rectification's corrections
    evidence: Mapping[str, Any] = field(default_factory=dict)  # more of `request.received`


def write_request(app: Context, s: Session, new: NewRequest) -> str:
    """Store the request and one pending task per system, with its `request.received` entry."""
    now = app.clock.now()
    deadline = new.received + timedelta(hours=app.settings.erasure.deadline_hours)
    draw = new.new_id or new_request_id
    request_id = draw(now)
    while s.get(ErasureRequest, request_id) is not None:  # 24 random bits a day: may repeat
        request_id = draw(now)
    s.add(
        ErasureRequest(
            id=request_id,
            kind=new.kind,
            pseudonym=new.pseudonym,
            email=new.email,
            names=list(new.names),
            reason=new.reason,
            origin=str(new.origin),
            received_at=new.received,
            deadline=deadline,
            created_at=now,
            state=RequestState.RECEIVED,
            changes=new.changes,
        )
    )
    for name, refs in new.tasks.items():
        s.add(
            ErasureTask(
                request_id=request_id,
                system=name,
                state=TaskState.PENDING,
                refs=None if refs is None else [ref_to_json(r) for r in refs],
                outcomes=[],
                created_at=now,
                updated_at=now,
            )
        )
    s.flush()
    audit.append(
        s,
        "request.received",
        at=now,
        subject=new.pseudonym,
        request_id=request_id,
        origin=str(new.origin),
        systems=list(new.tasks),
        received_at=new.received.isoformat(),
        deadline=deadline.isoformat(),
        **new.evidence,
    )
    for name, refs in new.tasks.items():
        if refs is not None:  # known already: planned now, as the worker records its own plans
            audit.append(
                s,
                "task.planned",
                at=now,
                subject=new.pseudonym,
                request_id=request_id,
                system=name,
                records=len(refs),
                kinds=sorted({str(r.kind) for r in refs}),
            )
    return request_id


def open_request_for(session: Session, pseudonym: str) -> ErasureRequest | None:
    """The person's open erasure request that can still erase (by address or by found records)."""
    return session.scalar(
        select(ErasureRequest)
        .where(
            ErasureRequest.pseudonym == pseudonym,
            ErasureRequest.kind == "erasure",
            ErasureRequest.state.in_([str(s) for s in OPEN_REQUEST_STATES]),
            # a request opened when a legal hold ended holds manual tasks only
            ErasureRequest.origin != str(Origin.LEGAL_HOLD_END),
        )
        .order_by(ErasureRequest.created_at)
        .limit(1)
    )


# -- manual confirmation ------------------------------------------------------------------------


def confirm(app: Context, request_id: str, system: str, note: str | None = None) -> None:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        task = s.scalar(
            select(ErasureTask).where(
                ErasureTask.request_id == request_id, ErasureTask.system == system
            )
        )
        if task is None:
            raise UsageError(
                f"no task for system {system!r} in request {request_id}",
                next_step="See `syncaudit erasure show ID` for its systems.",
            )
        if task.state != TaskState.AWAITING_MANUAL:
            raise UsageError(
                f"task {system} of {request_id} is {task.state}, not awaiting manual confirmation",
                next_step="Nothing to confirm.",
            )
        task.state = TaskState.VERIFIED
        task.confirmed_note = note
        task.finished_at = task.updated_at = now
        task.outcomes = [{**o, "status": "confirmed"} for o in task.outcomes or []]
        request = s.get(ErasureRequest, request_id)
        assert request is not None
        if request.kind == "erasure":  # the operator says the data is gone there
            mark_verified_absent(s, request.pseudonym, system, now)
        audit.append(
            s,
            "task.confirmed",
            at=now,
            subject=request.pseudonym,
            request_id=request_id,
            system=system,
            note=note or "",
        )
    lifecycle.finish_request_if_done(app, request_id)


def retry(app: Context, request_id: str, system: str | None = None) -> int:
    """Put failed tasks back in the queue (after the operator fixed the cause)."""
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = s.get(ErasureRequest, request_id)
        if request is not None and request.kind not in ("erasure", "rectification"):
            raise UsageError(
                f"{request_id} is an {request.kind} request, not an erasure",
                next_step="Run `syncaudit access` / `syncaudit object` for the person again.",
            )
        query = select(ErasureTask).where(
            ErasureTask.request_id == request_id, ErasureTask.state == TaskState.FAILED
        )
        if system:
            query = query.where(ErasureTask.system == system)
        tasks = list(s.scalars(query))
        for task in tasks:
            task.state, task.attempts, task.next_attempt_at = TaskState.PENDING, 0, None
            task.updated_at = now
            audit.append(
                s, "task.retry_requested", at=now, request_id=request_id, system=task.system
            )
        return len(tasks)


# -- listings --------------------------------------------------------------------------------


def summary(request: ErasureRequest, tasks: list[ErasureTask], now: datetime) -> dict[str, Any]:
    deadline = utc(request.deadline)
    completed = utc(request.completed_at) if request.completed_at else None
    return {
        "id": request.id,
        "kind": request.kind,
        "state": request.state,
        "origin": request.origin,
        "received_at": utc(request.received_at).isoformat(),
        "deadline": deadline.isoformat(),
        "hours_left": None if completed else round((deadline - now).total_seconds() / 3600, 1),
        "completed_at": completed.isoformat() if completed else None,
        "within_deadline": None if completed is None else completed <= deadline,
        "breached_at": utc(request.breached_at).isoformat() if request.breached_at else None,
        "tasks": [
            {
                "system": t.system,
                "state": t.state,
                "attempts": t.attempts,
                "result": task_result(t),
                "last_error": t.last_error,
                "next_attempt_at": utc(t.next_attempt_at).isoformat()
                if t.next_attempt_at
                else None,
                "outcomes": t.outcomes,
                "instructions": t.instructions,
                "finished_at": utc(t.finished_at).isoformat() if t.finished_at else None,
            }
            for t in tasks
        ],
    }


def task_result(task: ErasureTask) -> str:
    """One word per system: erased, already_absent, retained, confirmed, or the state."""
    if task.state != TaskState.VERIFIED:
        return str(task.state)
    statuses = {o.get("status") for o in task.outcomes or []}
    for word in ("confirmed", "retained", "erased", "rectified", "already_correct"):
        if word in statuses:
            return word
    return "already_absent"


def list_requests(
    app: Context, *, open_only: bool = False, kind: str | None = None
) -> list[dict[str, Any]]:
    now = app.clock.now()
    with app.db.session() as s:
        query = select(ErasureRequest).order_by(ErasureRequest.received_at)
        if open_only:
            query = query.where(ErasureRequest.state.in_([str(x) for x in OPEN_REQUEST_STATES]))
        if kind:
            query = query.where(ErasureRequest.kind == kind)
        out = []
        for request in s.scalars(query):
            tasks = list(
                s.scalars(
                    select(ErasureTask)
                    .where(ErasureTask.request_id == request.id)
                    .order_by(ErasureTask.system)
                )
            )
            out.append(summary(request, tasks, now))
        return out


def show(app: Context, request_id: str) -> dict[str, Any]:
    with app.db.session() as s:
        request = s.get(ErasureRequest, request_id)
        if request is None:
            raise UsageError(f"no request {request_id}", next_step="See `syncaudit erasures`.")
        tasks = list(
            s.scalars(
                select(ErasureTask)
                .where(ErasureTask.request_id == request_id)
                .order_by(ErasureTask.system)
            )
        )
        view = summary(request, tasks, app.clock.now())
        view["timeline"] = [
            {"at": utc(e.at).isoformat(), "event": e.event, "system": e.system, "seq": e.seq}
            for e in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.request_id == request_id)
                .order_by(AuditEntry.seq)
            )
        ]
        return view
