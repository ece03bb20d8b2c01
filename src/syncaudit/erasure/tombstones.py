"""Tombstones outside the database, so a restored backup cannot bring an erased person back.

A database backup taken *before* an erasure still holds the person's address and no tombstone.
The tombstone export (keyed hashes and request ids only: no plaintext) is small and can be
written far more often than a backup, e.g. hourly next to the backups. After a restore,
importing the newest export adds the missing tombstones and purges what the backup still held of
those people, exactly as the completed erasure did; the next pull then treats any of them met
again as a resurrection.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.forget import purge_subject
from syncaudit.errors import UsageError
from syncaudit.models import Subject, Tombstone

_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    read: int
    added: int  # tombstones the database lacked
    purged: int  # of those, people the database still held (now forgotten)


def export_tombstones(app: Context, path: Path) -> int:
    """Write every tombstone as one JSON line (mode 0600, replaced whole); returns the count."""
    with app.db.session() as s:
        rows = list(s.scalars(select(Tombstone).order_by(Tombstone.created_at)))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for row in rows:
            line = {
                "pseudonym": row.pseudonym,
                "request_id": row.request_id,
                "created_at": utc(row.created_at).isoformat(),
            }
            out.write(json.dumps(line) + "\n")
    os.replace(tmp, path)
    return len(rows)


def import_tombstones(app: Context, path: Path) -> ImportResult:
    """Add the tombstones this database lacks and forget those people again."""
    entries = _read(path)
    now = app.clock.now()
    added = purged = 0
    with app.db.session() as s, s.begin():
        for pseudonym, request_id, created in entries:
            if s.get(Tombstone, pseudonym) is not None:
                continue
            held = s.scalar(select(Subject.id).where(Subject.pseudonym == pseudonym)) is not None
            s.add(Tombstone(pseudonym=pseudonym, request_id=request_id, created_at=created))
            s.flush()
            purge_subject(s, pseudonym, request_id, now)
            audit.append(
                s,
                "tombstone.restored",
                at=now,
                subject=pseudonym,
                request_id=request_id,
                purged=held,
            )
            added += 1
            purged += held
    if purged:
        app.db.compact_after_purge()
    return ImportResult(read=len(entries), added=added, purged=purged)


def _read(path: Path) -> list[tuple[str, str, datetime]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror}", next_step="Give the tombstone export's path."
        ) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            pseudonym, request_id = str(data["pseudonym"]), str(data["request_id"])
            created = datetime.fromisoformat(str(data["created_at"]))
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"{path}:{number}: not a tombstone line",
                next_step="Use a file written by `syncaudit tombstones export`.",
            ) from None
        if not _PSEUDONYM.match(pseudonym):
            raise UsageError(
                f"{path}:{number}: not a pseudonym",
                next_step="Use a file written by `syncaudit tombstones export`.",
            )
        out.append((pseudonym, request_id, created))
    return out
