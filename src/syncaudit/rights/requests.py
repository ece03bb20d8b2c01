"""Access and objection requests: rows of `erasure_requests` with kind "access" / "objection".

They share the erasure deadline clock (received_at + [erasure].deadline_hours, watched by
`erasure.deadlines.watch`) and the listing. Per-system results are `erasure_tasks` rows that are
never pending or running, so the erasure worker never claims them; and the request holds no
address (`email` stays NULL), so nothing can erase from it. A manual step (awaiting_manual) is
confirmed with `syncaudit erasure confirm ID SYSTEM`; the erasure worker then closes the request
through `erasure.lifecycle.close_request`, which forgets nobody.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import ErasureTarget
from syncaudit.erasure.lifecycle import close_request
from syncaudit.erasure.requests import list_requests
from syncaudit.erasure.states import OPEN_REQUEST_STATES, RequestState, TaskState
from syncaudit.models import ErasureRequest, ErasureTask

ACCESS = "access"
OBJECTION = "objection"
_PREFIX = {ACCESS: "A", OBJECTION: "O"}


def new_request_id(kind: str, now: datetime) -> str:
    return f"{_PREFIX[kind]}-{now:%Y%m%d}-{secrets.token_hex(3)}"


def year_before(when: datetime) -> datetime:
    """The same moment twelve months earlier (29 February falls back to the 28th)."""
    try:
        return when.replace(year=when.year - 1)
    except ValueError:
        return when.replace(year=when.year - 1, day=28)


def open_request(session: Session, kind: str, pseudonym: str) -> ErasureRequest | None:
    """The person's unfinished request of this kind: running the command again resumes it."""
    return session.scalar(
        select(ErasureRequest)
        .where(
            ErasureRequest.kind == kind,
            ErasureRequest.pseudonym == pseudonym,
            ErasureRequest.state.in_([str(s) for s in OPEN_REQUEST_STATES]),
        )
        .order_by(ErasureRequest.received_at.desc())
        .limit(1)
    )


def earlier_requests(session: Session, request: ErasureRequest) -> list[str]:
    """Requests of the same kind by the same person in the twelve months before this one."""
    received = utc(request.received_at)
    rows = session.execute(
        select(ErasureRequest.id, ErasureRequest.received_at).where(
            ErasureRequest.kind == request.kind,
            ErasureRequest.pseudonym == request.pseudonym,
            ErasureRequest.id != request.id,
        )
    )
    return sorted(rid for rid, at in rows if year_before(received) < utc(at) <= received)


def create_request(
    app: Context,
    session: Session,
    kind: str,
    target: ErasureTarget,
    *,
    received: datetime,
    systems: list[str],
) -> ErasureRequest:
    now = app.clock.now()
    request = ErasureRequest(
        id=new_request_id(kind, now),
        kind=kind,
        pseudonym=target.pseudonym,
        email=None,  # never stored for these kinds: the operator gives the address each run
        names=None,
        reason=None,
        origin="operator",
        received_at=received,
        deadline=received + timedelta(hours=app.settings.erasure.deadline_hours),
        created_at=now,
        state=RequestState.RECEIVED,
    )
    session.add(request)
    session.flush()
    earlier = earlier_requests(session, request)
    audit.append(
        session,
        "request.received",
        at=now,
        subject=target.pseudonym,
        request_id=request.id,
        kind=kind,
        origin="operator",
        systems=systems,
        received_at=received.isoformat(),
        deadline=utc(request.deadline).isoformat(),
        earlier_within_year=earlier,
    )
    return request


def set_task(
    session: Session,
    request: ErasureRequest,
    system: str,
    state: TaskState,
    now: datetime,
    *,
    outcomes: list[dict[str, Any]] | None = None,
    instructions: str | None = None,
    error: str | None = None,
) -> ErasureTask:
    """Create or update the request's task for `system` (verified, awaiting_manual or failed)."""
    assert state in (TaskState.VERIFIED, TaskState.AWAITING_MANUAL, TaskState.FAILED)
    task = session.scalar(
        select(ErasureTask).where(
            ErasureTask.request_id == request.id, ErasureTask.system == system
        )
    )
    if task is None:
        task = ErasureTask(
            request_id=request.id, system=system, refs=[], outcomes=[], created_at=now
        )
        session.add(task)
    task.state = state
    task.attempts = (task.attempts or 0) + 1
    task.outcomes = outcomes or []
    task.instructions = instructions
    task.last_error = error
    task.updated_at = now
    task.finished_at = now if state is TaskState.VERIFIED else None
    if request.state == RequestState.RECEIVED:
        request.state = RequestState.IN_PROGRESS
    session.flush()
    return task


def task_of(session: Session, request_id: str, system: str) -> ErasureTask | None:
    return session.scalar(
        select(ErasureTask).where(
            ErasureTask.request_id == request_id, ErasureTask.system == system
        )
    )


def finish_if_done(session: Session, request: ErasureRequest, now: datetime) -> bool:
    states = set(
        session.scalars(select(ErasureTask.state).where(ErasureTask.request_id == request.id))
    )
    if states and states != {TaskState.VERIFIED}:
        return False
    close_request(session, request, now)
    return True


# -- the listing of every kind -------------------------------------------------------------------


def list_all(app: Context, *, open_only: bool = False) -> list[dict[str, Any]]:
    """Every request (erasure, access, objection) with its deadline, state and per-system
    results; access requests say whether an earlier one fell within twelve months."""
    rows = list_requests(app, open_only=open_only)
    with app.db.session() as s:
        requests = {
            r.id: r
            for r in s.scalars(
                select(ErasureRequest).where(ErasureRequest.id.in_([v["id"] for v in rows]))
            )
        }
        for view in rows:
            request = requests[view["id"]]
            view["subject"] = app.pseudo.short(request.pseudonym)
            view["earlier_within_year"] = (
                earlier_requests(s, request) if request.kind == ACCESS else []
            )
            for task in view["tasks"]:
                task["result"] = task_word(request.kind, task)
    return rows


def task_word(kind: str, task: dict[str, Any]) -> str:
    """One word (or two) per system for the listing."""
    if kind not in (ACCESS, OBJECTION) or task["state"] != TaskState.VERIFIED:
        return str(task["result"])
    statuses = [str(o.get("status")) for o in task.get("outcomes") or []]
    if "confirmed" in statuses:
        return "confirmed"
    if kind == ACCESS:
        count = sum(int(o.get("records") or 0) for o in task.get("outcomes") or [])
        return f"exported {count}" if count else "nothing found"
    if "unsubscribed" in statuses:
        return "unsubscribed"
    return "no marketing" if statuses else "nothing found"
