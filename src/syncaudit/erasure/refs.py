"""RecordRefs <-> JSON as tasks store them, keys and merging."""

from __future__ import annotations

from typing import Any

from syncaudit.contract import Outcome, RecordKind, RecordRef


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


def merge(*groups: list[RecordRef]) -> list[RecordRef]:
    seen: dict[str, RecordRef] = {}
    for group in groups:
        for ref in group:
            seen.setdefault(ref_key(ref), ref)
    return list(seen.values())
