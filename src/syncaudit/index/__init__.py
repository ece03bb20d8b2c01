"""The subject index: who appears where. Look-ups here; writes in `index.writer`.

subject_view(ctx, email)                 where a person appears (as `syncaudit subject`)
index_refs(session, pseudonym, system)   the records the index knows, as RecordRefs
reappeared_refs(...)                     records seen again after a system was verified
mark_verified_absent(...)                what a verification proved gone, marked removed
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import RecordKind, RecordRef
from syncaudit.models import Record, Subject, Tombstone


def subject_view(ctx: Context, email: str) -> dict[str, Any]:
    """Where a person appears: per system and record (from the index, no network)."""
    normalized, pseudonym = ctx.pseudonym_of(email)
    with ctx.db.session() as s:
        subject = s.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
        erased = s.get(Tombstone, pseudonym)
        view: dict[str, Any] = {
            "email": normalized,
            "pseudonym": ctx.pseudo.short(pseudonym),
            "found": subject is not None,
            "erased_by": erased.request_id if erased else None,
            "records": [],
        }
        if subject is None:
            return view
        view.update(
            display_name=subject.display_name,
            first_seen=_iso(subject.first_seen),
            last_seen=_iso(subject.last_seen),
        )
        rows = s.scalars(
            select(Record)
            .where(Record.subject_id == subject.id)
            .order_by(Record.system, Record.kind, Record.external_id)
        )
        view["records"] = [_record_view(r) for r in rows]
    return view


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


def _record_view(r: Record) -> dict[str, Any]:
    return {
        "system": r.system,
        "kind": r.kind,
        "external_id": r.external_id,
        "stream": r.stream,
        "name": r.name,
        "role": r.role,
        "date": _iso(r.record_date),
        "details": r.details,
        "first_seen": _iso(r.first_seen),
        "last_seen": _iso(r.last_seen),
        "removed_at": _iso(r.removed_at),
        "legal_hold_until": r.legal_hold_until.isoformat() if r.legal_hold_until else None,
        "legal_basis": r.legal_basis,
        "restricted": r.restricted_at is not None,
    }


def index_refs(session: Session, pseudonym: str, system: str) -> list[RecordRef]:
    rows = session.scalars(
        select(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Subject.pseudonym == pseudonym, Record.system == system, Record.removed_at.is_(None))
        .order_by(Record.id)
    )
    return [_ref_of(r) for r in rows]


def reappeared_refs(session: Session, pseudonym: str, system: str) -> list[RecordRef]:
    """Live records of a system verified clean (legal holds aside): verification marked the
    person's records there removed (`mark_verified_absent`), so a live one is one a sync saw
    again while the request was still open. No timestamps compared: a sighting at the very
    instant of verification counts, and the bulk writer's text timestamps on SQLite do not
    sort with the ORM's."""
    rows = session.scalars(
        select(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(
            Subject.pseudonym == pseudonym,
            Record.system == system,
            Record.removed_at.is_(None),
            Record.legal_hold_until.is_(None),
        )
        .order_by(Record.id)
    )
    return [_ref_of(r) for r in rows]


def mark_verified_absent(session: Session, pseudonym: str, system: str, now: datetime) -> int:
    """A system was verified clean of the person: its records (legal holds aside) are gone, so
    a live record of theirs there afterwards is one a sync saw again (`reappeared_refs`), even
    at the same instant. Returns the records marked."""
    subject_id = select(Subject.id).where(Subject.pseudonym == pseudonym).scalar_subquery()
    result = session.execute(
        update(Record)
        .where(
            Record.subject_id == subject_id,
            Record.system == system,
            Record.removed_at.is_(None),
            Record.legal_hold_until.is_(None),
        )
        .values(removed_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _ref_of(r: Record) -> RecordRef:
    return RecordRef(
        system=r.system,
        kind=RecordKind(r.kind),
        external_id=r.external_id,
        stream=r.stream,
        locator=dict(r.locator or {}),
        label=_label(r),
    )


def _label(record: Record) -> str:
    invoice = (record.details or {}).get("invoice")
    if invoice:
        return f"invoice {invoice}"
    when = record.record_date.date().isoformat() if record.record_date else ""
    return f"{record.kind.replace('_', ' ')} {when}".strip()
