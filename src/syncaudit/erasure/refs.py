"""RecordRefs <-> JSON, and the refs the index already knows for a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit.contract import Outcome, RecordKind, RecordRef
from syncaudit.models import Record, Subject


def ref_key(ref: RecordRef) -> str:
    return f"{ref.kind}|{ref.stream}|{ref.external_id}"


def key_of_json(ref: dict[str, Any]) -> str:
    """The same key as ref_key, for a ref stored as JSON."""
    return f"{ref['kind']}|{ref.get('stream', '')}|{ref['external_id']}"


def ref_to_json(ref: RecordRef) -> dict[str, Any]:
    return {
        "system": ref.system,
        "kind": str(ref.kind),
        "external_id": ref.external_id,
        "stream": ref.stream,
        "locator": dict(ref.locator),
        "label": ref.label,
    }


def ref_from_json(data: dict[str, Any]) -> RecordRef:
    return RecordRef(
        system=data["system"],
        kind=RecordKind(data["kind"]),
        external_id=data["external_id"],
        stream=data.get("stream", ""),
        locator=dict(data.get("locator", {})),
        label=data.get("label", ""),
    )


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "key": ref_key(outcome.ref),
        "kind": str(outcome.ref.kind),
        "external_id": outcome.ref.external_id,
        "label": outcome.ref.label,
        "status": str(outcome.status),
        "detail": outcome.detail,
        "legal_basis": outcome.legal_basis,
        "retained_until": outcome.retained_until.isoformat() if outcome.retained_until else None,
    }


def index_refs(session: Session, pseudonym: str, system: str) -> list[RecordRef]:
    rows = session.scalars(
        select(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(Subject.pseudonym == pseudonym, Record.system == system, Record.removed_at.is_(None))
        .order_by(Record.id)
    )
    return [_ref_of(r) for r in rows]


def reappeared_refs(
    session: Session, pseudonym: str, system: str, after: datetime
) -> list[RecordRef]:
    """Records a sync saw after `after` (when the system was verified clean), legal holds aside:
    the person came back while their request was still open."""
    rows = session.scalars(
        select(Record)
        .join(Subject, Subject.id == Record.subject_id)
        .where(
            Subject.pseudonym == pseudonym,
            Record.system == system,
            Record.removed_at.is_(None),
            Record.legal_hold_until.is_(None),
            Record.last_seen > after,
        )
        .order_by(Record.id)
    )
    return [_ref_of(r) for r in rows]


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


def merge(*groups: list[RecordRef]) -> list[RecordRef]:
    seen: dict[str, RecordRef] = {}
    for group in groups:
        for ref in group:
            seen.setdefault(ref_key(ref), ref)
    return list(seen.values())
