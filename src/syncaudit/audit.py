"""The evidence log: append-only, each entry hashing the previous one.

hash = SHA-256(prev_hash | seq | at | event | subject | request_id | system | data), with data
as canonical JSON. Entries name people by pseudonym only. `verify` recomputes the chain and names
the first entry that does not fit, so editing, deleting or reordering a row is detected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncaudit.clock import utc
from syncaudit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev: str,
    *,
    seq: int,
    at: datetime,
    event: str,
    subject: str | None,
    request_id: str | None,
    system: str | None,
    data: str,
) -> str:
    parts = [
        prev,
        str(seq),
        utc(at).isoformat(),
        event,
        subject or "",
        request_id or "",
        system or "",
        data,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def append(
    session: Session,
    event: str,
    *,
    at: datetime,
    subject: str | None = None,
    request_id: str | None = None,
    system: str | None = None,
    **data: Any,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits with the state it records)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    seq = head.seq + 1
    text = canonical(data)
    at = utc(at)
    digest = entry_hash(
        head.hash,
        seq=seq,
        at=at,
        event=event,
        subject=subject,
        request_id=request_id,
        system=system,
        data=text,
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        event=event,
        subject=subject,
        request_id=request_id,
        system=system,
        data=text,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(entry)
    head.seq, head.hash = seq, digest
    session.flush()
    return entry


@dataclass(frozen=True, kw_only=True)
class ChainCheck:
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    problem: str = ""


def verify(session: Session) -> ChainCheck:
    prev, expected_seq, count = GENESIS, 1, 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            return _bad(count, prev, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev:
            return _bad(count, prev, entry.seq, "does not follow the entry before it")
        digest = entry_hash(
            prev,
            seq=entry.seq,
            at=entry.at,
            event=entry.event,
            subject=entry.subject,
            request_id=entry.request_id,
            system=entry.system,
            data=entry.data,
        )
        if digest != entry.hash:
            return _bad(count, prev, entry.seq, "its content was changed after it was written")
        prev, expected_seq = entry.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev):
        return _bad(count, prev, expected_seq, "entries after this point were removed")
    return ChainCheck(ok=True, entries=count, head=prev)


def _bad(count: int, head: str, seq: int, problem: str) -> ChainCheck:
    return ChainCheck(ok=False, entries=count, head=head, first_bad_seq=seq, problem=problem)


def head(session: Session) -> tuple[int, str]:
    row = session.get(AuditHead, 1)
    return (row.seq, row.hash) if row else (0, GENESIS)


def count_between(session: Session, start: datetime, end: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.at >= start, AuditEntry.at < end)
        )
        or 0
    )
