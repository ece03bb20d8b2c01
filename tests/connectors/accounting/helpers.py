"""Helpers shared by the accounting tests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

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


def replace_address(folder: Path, old: str, new: str, *, copy: bool = False) -> None:
    """Rewrite every export file holding `old` with `new` in its place (as if the firm sent a
    corrected export); with `copy`, as a new file beside it (a new export naming `new`)."""
    pattern = re.compile(re.escape(old.encode("ascii")), re.IGNORECASE)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if pattern.search(data):
            target = path.with_name("new-" + path.name) if copy else path
            target.write_bytes(pattern.sub(new.encode("ascii"), data))
