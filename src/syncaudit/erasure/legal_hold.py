"""The legal-hold expiry job: when a retained record's statutory period ends, it must go.

Records an erasure answered `retained` (restricted, kept by law) carry `legal_hold_until`. Once
that date has passed, the job, in one transaction per person:
- removes the records from the index (syncaudit's own reference to them), and
- opens an erasure request (origin `ORIGIN`) with one `awaiting_manual` task per system, whose
  instructions ask the source to delete the records. A connector that can word that request
  (`SupportsDeletionNotice`, e.g. the accounting export's Art. 19 notice to the accounting firm)
  writes it; otherwise a generic instruction lists the records.
The operator sends the notice and confirms (`syncaudit erasure confirm ID SYSTEM`); the request
then completes like any other. The person's address is long gone: the request has none, and
names the person by pseudonym only. Running twice finds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable

import structlog
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.context import Context
from syncaudit.contract import Outcome, OutcomeStatus, RecordKind, RecordRef
from syncaudit.erasure.refs import outcome_to_json, ref_to_json
from syncaudit.erasure.requests import new_request_id
from syncaudit.erasure.states import Origin, RequestState, TaskState
from syncaudit.errors import SyncauditError
from syncaudit.models import ErasureRequest, ErasureTask, Record, Subject

log = structlog.get_logger("syncaudit.erasure.legal_hold")
# `legal_hold_expiry` would not fit erasure_requests.origin (String(16)); this does.
ORIGIN = Origin.LEGAL_HOLD_END
GENERIC = (
    "The statutory retention of the records below has ended. Ask the system's keeper to delete "
    "them at source (and from exports and backups), then confirm here."
)


@runtime_checkable
class SupportsDeletionNotice(Protocol):
    """A connector that words the request to delete records at source (e.g. Art. 19 notice)."""

    def deletion_notice(self, refs: Sequence[RecordRef], lang: str, *, sender: str = "") -> str: ...


@dataclass(frozen=True, kw_only=True)
class HoldEnded:
    request_id: str
    system: str
    records: int


def expire_holds(app: Context, *, today: date | None = None) -> list[HoldEnded]:
    """Open a manual deletion request per person whose retained records' hold has ended."""
    now = app.clock.now()
    day = today or now.astimezone(UTC).date()
    with app.db.session() as s:
        rows = s.execute(
            select(Subject.pseudonym, Record)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Record.legal_hold_until < day, Record.restricted_at.is_not(None))
            .order_by(Subject.pseudonym, Record.system, Record.id)
        ).all()
    people: dict[str, dict[str, list[Record]]] = {}
    for pseudonym, record in rows:
        people.setdefault(pseudonym, {}).setdefault(record.system, []).append(record)
    ended: list[HoldEnded] = []
    for pseudonym, systems in people.items():
        ended += _open_request(app, pseudonym, systems)
    return ended


def _open_request(
    app: Context, pseudonym: str, systems: dict[str, list[Record]]
) -> list[HoldEnded]:
    now = app.clock.now()
    request_id = new_request_id(now)
    deadline = now + timedelta(hours=app.settings.erasure.deadline_hours)
    texts = {name: _instructions(app, name, [_ref(r) for r in rs]) for name, rs in systems.items()}
    with app.db.session() as s, s.begin():
        s.add(
            ErasureRequest(
                id=request_id,
                kind="erasure",
                pseudonym=pseudonym,
                email=None,
                names=None,
                reason="statutory retention ended",
                origin=ORIGIN,
                received_at=now,
                deadline=deadline,
                created_at=now,
                state=RequestState.PLANNED,
            )
        )
        s.flush()
        audit.append(
            s,
            "request.received",
            at=now,
            subject=pseudonym,
            request_id=request_id,
            origin=ORIGIN,
            systems=sorted(systems),
            received_at=now.isoformat(),
            deadline=deadline.isoformat(),
        )
        for name, records in systems.items():
            _task(
                s,
                request_id=request_id,
                pseudonym=pseudonym,
                system=name,
                records=records,
                instructions=texts[name],
                now=now,
            )
    out = [HoldEnded(request_id=request_id, system=n, records=len(r)) for n, r in systems.items()]
    for item in out:
        log.info("legal_hold.ended", request=request_id, system=item.system, records=item.records)
    return out


def _task(
    s: Session,
    *,
    request_id: str,
    pseudonym: str,
    system: str,
    records: list[Record],
    instructions: str,
    now: datetime,
) -> None:
    refs = [_ref(r) for r in records]
    detail = "statutory retention ended: delete at source, then confirm"
    s.add(
        ErasureTask(
            request_id=request_id,
            system=system,
            state=TaskState.AWAITING_MANUAL,
            refs=[ref_to_json(r) for r in refs],
            outcomes=[
                outcome_to_json(Outcome(status=OutcomeStatus.AWAITING_MANUAL, ref=r, detail=detail))
                for r in refs
            ],
            instructions=instructions,
            created_at=now,
            updated_at=now,
        )
    )
    s.execute(delete(Record).where(Record.id.in_([r.id for r in records])))
    audit.append(
        s,
        "legal_hold.ended",
        at=now,
        subject=pseudonym,
        request_id=request_id,
        system=system,
        records=len(refs),
        held_until=sorted({r.legal_hold_until.isoformat() for r in records if r.legal_hold_until}),
    )
    audit.append(
        s, "task.awaiting_manual", at=now, subject=pseudonym, request_id=request_id, system=system
    )


def _ref(record: Record) -> RecordRef:
    invoice = (record.details or {}).get("invoice")
    return RecordRef(
        system=record.system,
        kind=RecordKind(record.kind),
        external_id=record.external_id,
        stream=record.stream,
        locator=dict(record.locator or {}),
        label=f"invoice {invoice}" if invoice else f"{record.kind} {record.external_id}",
    )


def _instructions(app: Context, system: str, refs: list[RecordRef]) -> str:
    lang = app.settings.controller.language
    try:
        connector = app.connector(system)
        if isinstance(connector, SupportsDeletionNotice):
            return connector.deletion_notice(refs, lang, sender=app.settings.controller.name)
    except SyncauditError as exc:  # system no longer configured, or its notice failed
        log.warning("legal_hold.generic_instructions", system=system, reason=str(exc))
    return "\n".join([GENERIC, "", *(f"- {r.label}" for r in refs)])
