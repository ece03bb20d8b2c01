"""Objection to direct marketing (Art. 21): unsubscribe everywhere, delete nothing, keep watch.

`object_to_marketing` unsubscribes the person in every marketing system: systems whose connector
can (capability OBJECT, e.g. Mailchimp: status `unsubscribed`), and the manual systems named in
[retention].marketing_systems, where it opens a task the operator confirms
(`syncaudit erasure confirm ID SYSTEM`). Running it again for the same person resumes the open
request (failed systems are tried again).

`check_after_sync` is the hook after a sync: an audience member of an objector that a sync saw
`subscribed` after the objection was carried out (a sign-up form, an import) raises an alert,
recorded once per record as the audit entry `objection.resubscribed` plus a log event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import (
    Capability,
    ErasureTarget,
    Outcome,
    OutcomeStatus,
    RecordKind,
    SupportsObjection,
)
from syncaudit.erasure.refs import merge, outcome_to_json
from syncaudit.erasure.requests import received_time, target_for
from syncaudit.erasure.states import TaskState
from syncaudit.errors import ConnectorError, UsageError
from syncaudit.index import index_refs
from syncaudit.models import AuditEntry, ErasureRequest, ErasureTask, Record, Subject
from syncaudit.rights import requests as rq

log = structlog.get_logger("syncaudit.rights")
SUBSCRIBED = frozenset({"subscribed"})  # audience statuses that mean marketing is sent
ALERT_EVENT = "objection.resubscribed"


@dataclass(frozen=True, kw_only=True)
class SystemObjection:
    system: str
    state: str  # verified | awaiting_manual | failed
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    instructions: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ObjectionResult:
    request_id: str
    state: str
    resumed: bool
    systems: list[SystemObjection]


@dataclass(frozen=True, kw_only=True)
class ResubscriptionAlert:
    request_id: str  # the objection
    pseudonym: str
    short: str
    system: str
    record_id: int  # the index row (the member's id is an unkeyed hash of the address)
    status: str
    seen_at: datetime


def marketing_systems(app: Context) -> list[str]:
    """Enabled systems that can unsubscribe, plus the configured manual marketing systems."""
    listed = set(app.settings.retention.marketing_systems)
    out = []
    for system in app.systems():
        if Capability.OBJECT in app.capabilities(system.name) or system.name in listed:
            out.append(system.name)
    return out


def object_to_marketing(
    app: Context, email: str, *, received_at: datetime | None = None
) -> ObjectionResult:
    target = target_for(app, email)
    received = received_time(app, received_at)
    systems = marketing_systems(app)
    if not systems:
        raise UsageError(
            "no marketing system is configured",
            next_step="Add a Mailchimp system, or name manual ones in "
            "[retention].marketing_systems.",
        )
    with app.db.session() as s, s.begin():
        request = rq.open_request(s, rq.OBJECTION, target.pseudonym)
        resumed = request is not None
        if request is None:
            request = rq.create_request(
                app, s, rq.OBJECTION, target, received=received, systems=systems
            )
        request_id = request.id
        done = {
            t.system
            for t in s.scalars(select(ErasureTask).where(ErasureTask.request_id == request_id))
            if t.state == TaskState.VERIFIED
        }
    results = [_system(app, request_id, name, target) for name in systems if name not in done]
    with app.db.session() as s, s.begin():
        request = s.get(ErasureRequest, request_id)
        assert request is not None
        rq.finish_if_done(s, request, app.clock.now())
        state = str(request.state)
    log.info("rights.objection", request=request_id, state=state, systems=len(results))
    return ObjectionResult(request_id=request_id, state=state, resumed=resumed, systems=results)


def _system(app: Context, request_id: str, name: str, target: ErasureTarget) -> SystemObjection:
    connector = app.connector(name)
    if not (
        Capability.OBJECT in connector.capabilities and isinstance(connector, SupportsObjection)
    ):
        instructions = (
            f"In {name}, unsubscribe the person from all marketing without deleting anything "
            "(the address was given with `syncaudit object`), then confirm."
        )
        manual = SystemObjection(
            system=name,
            state=TaskState.AWAITING_MANUAL,
            outcomes=[{"status": "manual"}],
            instructions=instructions,
        )
        return _store(app, request_id, target, manual)
    try:
        with app.db.session() as s:
            known = index_refs(s, target.pseudonym, name)
        refs = [
            r
            for r in merge(connector.locate(target), known)
            if r.kind is RecordKind.AUDIENCE_MEMBER
        ]
        outcomes = [_outcome(connector.unsubscribe(ref, target)) for ref in refs]
    except ConnectorError as exc:
        log.warning("rights.objection_failed", system=name, error=type(exc).__name__)
        error = f"{type(exc).__name__}: {exc} — {exc.next_step}"
        failed = SystemObjection(system=name, state=TaskState.FAILED, error=error)
        return _store(app, request_id, target, failed)
    done = SystemObjection(system=name, state=TaskState.VERIFIED, outcomes=outcomes)
    return _store(app, request_id, target, done)


def _outcome(outcome: Outcome) -> dict[str, Any]:
    """Stored without the member id (Mailchimp's is the MD5 of the address)."""
    record = outcome_to_json(outcome)
    record["external_id"] = None
    record["key"] = None
    record["status"] = "unsubscribed" if outcome.status is OutcomeStatus.ERASED else "no_marketing"
    return record


def _store(
    app: Context, request_id: str, target: ErasureTarget, result: SystemObjection
) -> SystemObjection:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = s.get(ErasureRequest, request_id)
        assert request is not None
        rq.set_task(
            s,
            request,
            result.system,
            TaskState(result.state),
            now,
            outcomes=result.outcomes,
            instructions=result.instructions,
            error=result.error,
        )
        audit.append(
            s,
            f"objection.{result.state}",
            at=now,
            subject=target.pseudonym,
            request_id=request_id,
            system=result.system,
            unsubscribed=sum(o["status"] == "unsubscribed" for o in result.outcomes),
            already=sum(o["status"] == "no_marketing" for o in result.outcomes),
            error=result.error.split(":")[0] if result.error else None,
        )
    return result


# -- the watch after a sync ----------------------------------------------------------------------


def check_after_sync(app: Context) -> list[ResubscriptionAlert]:
    """Call after `App.sync`: alerts for objectors a sync has seen subscribed again since their
    objection was carried out; each alert is recorded once (audit entry + log event)."""
    now = app.clock.now()
    alerts: list[ResubscriptionAlert] = []
    with app.db.session() as s, s.begin():
        objections = _latest_objections(s)
        if not objections:
            return []
        alerted = _alerted(s, [r.id for r in objections.values()])
        for row, pseudonym in _subscribed_records(s, list(objections)):
            request = objections[pseudonym]
            since = _acted_at(s, request, row.system)
            if since is None or utc(row.last_seen) <= since:
                continue
            if (request.id, row.id) in alerted:
                continue
            alert = ResubscriptionAlert(
                request_id=request.id,
                pseudonym=pseudonym,
                short=app.pseudo.short(pseudonym),
                system=row.system,
                record_id=row.id,
                status=str(row.role),
                seen_at=utc(row.last_seen),
            )
            audit.append(
                s,
                ALERT_EVENT,
                at=now,
                subject=pseudonym,
                request_id=request.id,
                system=row.system,
                record=row.id,
                status=alert.status,
                seen_at=alert.seen_at.isoformat(),
            )
            log.warning(
                "rights.objection_resubscribed",
                subject=alert.short,
                system=row.system,
                request=request.id,
                next_step="The person objected to marketing: unsubscribe them again "
                "(`syncaudit object`) unless they signed up again themselves.",
            )
            alerts.append(alert)
    return alerts


def _latest_objections(s: Session) -> dict[str, ErasureRequest]:
    out: dict[str, ErasureRequest] = {}
    for request in s.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.kind == rq.OBJECTION)
        .order_by(ErasureRequest.created_at)
    ):
        out[request.pseudonym] = request
    return out


def _subscribed_records(s: Session, pseudonyms: list[str]) -> list[tuple[Record, str]]:
    out: list[tuple[Record, str]] = []
    for start in range(0, len(pseudonyms), 500):
        for row, pseudonym in s.execute(
            select(Record, Subject.pseudonym)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Subject.pseudonym.in_(pseudonyms[start : start + 500]),
                Record.kind == RecordKind.AUDIENCE_MEMBER.value,
                Record.removed_at.is_(None),
                Record.role.in_(sorted(SUBSCRIBED)),
            )
        ):
            out.append((row, pseudonym))
    return out


def _acted_at(s: Session, request: ErasureRequest, system: str) -> datetime | None:
    """When the objection took effect in `system`: its task's finish, or the request's creation
    for a system the request did not cover; None while the system's part is still open."""
    task = rq.task_of(s, request.id, system)
    if task is None:
        return utc(request.created_at)
    if task.state != TaskState.VERIFIED or task.finished_at is None:
        return None
    return utc(task.finished_at)


def _alerted(s: Session, request_ids: list[str]) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for start in range(0, len(request_ids), 500):
        for request_id, data in s.execute(
            select(AuditEntry.request_id, AuditEntry.data).where(
                AuditEntry.event == ALERT_EVENT,
                AuditEntry.request_id.in_(request_ids[start : start + 500]),
            )
        ):
            record = json.loads(data).get("record")
            if request_id and isinstance(record, int):
                out.add((request_id, record))
    return out
