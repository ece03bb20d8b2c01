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

from sqlalchemy import String, func, select, type_coerce
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
    return _digest(prev, seq, utc(at).isoformat(), event, subject, request_id, system, data)


def _digest(  # noqa: PLR0917 -- positional: it runs once per entry in verify
    prev: str,
    seq: int,
    at_iso: str,
    event: str,
    subject: str | None,
    request_id: str | None,
    system: str | None,
    data: str,
) -> str:
    parts = (prev, str(seq), at_iso, event, subject or "", request_id or "", system or "", data)
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
    """Recompute the whole chain. Rows are streamed as plain columns, not ORM objects, and the
    time is read as stored (SQLite keeps text), so a million entries take seconds, not minutes."""
    prev, expected_seq, count = GENESIS, 1, 0
    query = (
        select(
            AuditEntry.seq,
            type_coerce(AuditEntry.at, String),
            AuditEntry.event,
            AuditEntry.subject,
            AuditEntry.request_id,
            AuditEntry.system,
            AuditEntry.data,
            AuditEntry.prev_hash,
            AuditEntry.hash,
        )
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=10_000)
    )
    rows = session.connection().execute(query)  # Core rows: the ORM layer would triple the time
    with rows:  # a bad entry returns early: close the (server-side, on PostgreSQL) cursor
        for seq, at, event, subject, request_id, system, data, prev_hash, digest in rows:
            count += 1
            if seq != expected_seq:
                return _bad(count, prev, expected_seq, f"entry {expected_seq} is missing")
            if prev_hash != prev:
                return _bad(count, prev, seq, "does not follow the entry before it")
            stored = _stored_iso(at)
            if _digest(prev, seq, stored, event, subject, request_id, system, data) != digest:
                return _bad(count, prev, seq, "its content was changed after it was written")
            prev, expected_seq = digest, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev):
        return _bad(count, prev, expected_seq, "entries after this point were removed")
    return ChainCheck(ok=True, entries=count, head=prev)


def _stored_iso(value: str | datetime) -> str:
    """`at` as hashed (`utc(at).isoformat()`). PostgreSQL hands back a datetime; SQLite its
    stored text, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, rewritten here without parsing."""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        clock = value[11:19] if value.endswith(".000000") else value[11:]
        return f"{value[:10]}T{clock}+00:00"
    return utc(datetime.fromisoformat(value)).isoformat()


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
