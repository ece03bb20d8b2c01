"""Helpers shared by the accounting tests."""

from __future__ import annotations

from collections.abc import Iterable

from syncaudit.contract import Change, Checkpoint, ItemUpsert, RecordKind, StreamProblem
from syncaudit.identity import normalize_email


def people_by_item(
    changes: Iterable[Change],
) -> dict[tuple[str, str], frozenset[tuple[RecordKind, str, str | None]]]:
    """What the pull says: (stream, external_id) -> {(kind, normalised email, name)}."""
    out: dict[tuple[str, str], frozenset[tuple[RecordKind, str, str | None]]] = {}
    for change in changes:
        if isinstance(change, ItemUpsert):
            out[(change.stream, change.external_id)] = frozenset(
                (o.kind, normalize_email(o.email or ""), o.name) for o in change.observations
            )
    return out


def cursors_of(changes: Iterable[Change]) -> dict[str, str]:
    return {c.stream: c.cursor for c in changes if isinstance(c, Checkpoint)}


def problems_of(changes: Iterable[Change]) -> dict[str, str]:
    return {c.stream: c.message for c in changes if isinstance(c, StreamProblem)}
