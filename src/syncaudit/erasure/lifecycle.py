"""How a request ends: reopened when the person reappears, completed when every task is verified.

An erasure request completes by forgetting the person (purge, tombstone); a rectification by
the index following the corrections (`rectified`); an access or objection request closes
without forgetting anyone. The worker, manual confirmation (`erasure.requests`)
and the rights area all end requests here, so there is one lifecycle for the one table.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure import rectified
from syncaudit.erasure.forget import purge_subject
from syncaudit.erasure.refs import key_of_json, ref_key, ref_to_json
from syncaudit.erasure.states import OPEN_REQUEST_STATES, RequestState, TaskState
from syncaudit.index import reappeared_refs
from syncaudit.models import ErasureRequest, ErasureTask, Resurrection

log = structlog.get_logger("syncaudit.erasure")


def reopen_reappeared(app: Context) -> int:
    """Reopen verified tasks of open erasure requests whose system showed the person again."""
    with app.db.session() as s:
        open_ids = list(
            s.scalars(
                select(ErasureRequest.id)
                .join(ErasureTask, ErasureTask.request_id == ErasureRequest.id)
                .where(
                    ErasureRequest.kind == "erasure",
                    ErasureRequest.state.in_([str(x) for x in OPEN_REQUEST_STATES]),
                    ErasureTask.state == TaskState.VERIFIED,
                )
                .distinct()
            )
        )
    reopened = 0
    for request_id in open_ids:
        with app.db.session() as s, s.begin():
            request = s.get(ErasureRequest, request_id, with_for_update=not app.db.is_sqlite)
            if request is not None and request.state in OPEN_REQUEST_STATES:
                reopened += _reopen_tasks(s, request, app.clock.now())
    return reopened


def _reopen_tasks(s: Session, request: ErasureRequest, now: datetime) -> int:
    """Verified tasks whose records a sync saw after verification go back to pending with
    those records; each is recorded as a resurrection (row and audit entry)."""
    tasks = s.scalars(
        select(ErasureTask).where(
            ErasureTask.request_id == request.id,
            ErasureTask.state == TaskState.VERIFIED,
            ErasureTask.finished_at.is_not(None),
        )
    )
    reopened = 0
    for task in tasks:
        refs = reappeared_refs(s, request.pseudonym, task.system)
        if not refs:
            continue
        keys = {ref_key(r) for r in refs}
        kept = [r for r in task.refs or [] if key_of_json(r) not in keys]
        task.refs = kept + [ref_to_json(r) for r in refs]
        task.outcomes = [o for o in task.outcomes or [] if o["key"] not in keys]
        task.state, task.next_attempt_at, task.finished_at = TaskState.PENDING, None, None
        task.updated_at = now
        for ref in refs:
            s.add(
                Resurrection(
                    pseudonym=request.pseudonym,
                    system=task.system,
                    stream=ref.stream,
                    external_id=ref.external_id,
                    seen_at=now,
                    action="erase",
                    request_id=request.id,
                )
            )
            audit.append(
                s,
                "resurrection.detected",
                at=now,
                subject=request.pseudonym,
                request_id=request.id,
                system=task.system,
                kind=str(ref.kind),
                action="erase",
            )
        log.warning("erasure.resurrection", system=task.system, request=request.id)
        reopened += 1
    return reopened


def finish_ready_requests(app: Context) -> int:
    """Complete open erasure requests whose tasks are all verified: a worker that died between
    verifying the last task and completing its request leaves such a request behind."""
    with app.db.session() as s:
        unfinished = select(ErasureTask.request_id).where(ErasureTask.state != TaskState.VERIFIED)
        ready = list(
            s.scalars(
                select(ErasureRequest.id).where(
                    ErasureRequest.kind.in_(["erasure", "rectification"]),
                    ErasureRequest.state.in_([str(x) for x in OPEN_REQUEST_STATES]),
                    ErasureRequest.id.not_in(unfinished),
                )
            )
        )
    return sum(finish_request_if_done(app, request_id) for request_id in ready)


def finish_request_if_done(app: Context, request_id: str) -> bool:
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
        if request.kind == "rectification":  # the index follows; the old address goes
            rectified.complete(s, request, now, app.pseudo.of_normalized)
            return True
        if request.kind != "erasure":  # access / objection: nothing to forget
            close_request(s, request, now)
            return True
        if _reopen_tasks(s, request, now):  # the person came back somewhere meanwhile
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


def close_request(session: Session, request: ErasureRequest, now: datetime) -> None:
    """Complete an access or objection request: nothing is purged, nobody is forgotten."""
    request.state = RequestState.COMPLETED
    request.completed_at = now
    audit.append(
        session,
        "request.completed",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        kind=request.kind,
        within_deadline=now <= utc(request.deadline),
    )
