"""The evidence log: append-only, each entry hashing the previous one.

hash = SHA-256(prev_hash | seq | at | event | subject | request_id | system | data), with data
as canonical JSON. Entries name people by pseudonym only. `verify` recomputes the chain and names
the first entry that does not fit, so editing, deleting or reordering a row is detected.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from syncaudit._audit_range import check_range, check_rows, digest
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


_digest = digest  # one implementation, shared with the range checker in _chain


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


PARALLEL_MIN = 200_000  # entries from which the chain is checked by several processes


def verify(session: Session, *, parallel_min: int = PARALLEL_MIN) -> ChainCheck:
    """Recompute the whole chain; a large chain is split over the machine's cores.

    The head row stays locked until the caller's transaction ends, so no entry is appended while
    the chain is read (an append would otherwise look like a removal at the end)."""
    head_row = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    total = head_row.seq if head_row else 0
    workers = min(2, os.cpu_count() or 1)
    target = _range_target(session)
    if total >= parallel_min and workers > 1 and target is not None:
        return _verify_parallel(session, target, total, workers)
    return _verify_sequential(session)


def _verify_sequential(session: Session) -> ChainCheck:
    """Rows are streamed as plain columns, not ORM objects, and the time is read as stored
    (SQLite keeps text), so a million entries take seconds, not minutes."""
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
        result = check_rows(rows, 1, GENESIS)
    if result["bad_seq"] is not None:
        return _bad(result["count"], result["last_hash"], result["bad_seq"], result["problem"])
    return _against_head(session, result["count"], result["last_hash"], result["next_seq"])


def _against_head(session: Session, count: int, prev: str, next_seq: int) -> ChainCheck:
    """Rows all fit; the head row says whether entries after the last one were removed."""
    head_row = session.get(AuditHead, 1)
    if head_row is not None and (head_row.seq, head_row.hash) != (next_seq - 1, prev):
        return _bad(count, prev, next_seq, "entries after this point were removed")
    return ChainCheck(ok=True, entries=count, head=prev)


def _range_target(session: Session) -> tuple[str, str] | None:
    """(backend, what a child process connects to), or None where children cannot connect."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite":
        return ("sqlite", url.database) if url.database and url.database != ":memory:" else None
    if url.get_backend_name() == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _verify_parallel(
    session: Session, target: tuple[str, str], total: int, workers: int
) -> ChainCheck:
    """Each process checks its range's rows and inner links; here the ranges are joined in the
    order the sequential walk would meet them, so both report the same first broken entry."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-total // workers)
    starts = [1 + i * size for i in range(workers)]
    ends = [start + size - 1 for start in starts[:-1]] + [2**62]  # the last reads to the end
    # Children read what is committed; appends wait for our lock on the head row (PostgreSQL)
    # or our write transaction (SQLite, whose WAL readers a writer does not block).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        parts = list(
            pool.map(check_range, [target[0]] * workers, [target[1]] * workers, starts, ends)
        )
    prev, count = GENESIS, 0
    for start, end, part in zip(starts, ends, parts, strict=True):
        if part["bad_seq"] == start:  # this range's first row is already wrong (e.g. missing)
            return _bad(count + part["count"], prev, start, part["problem"])
        if part["count"] and part["first_prev"] != prev:
            return _bad(count + 1, prev, start, "does not follow the entry before it")
        if part["bad_seq"] is not None:
            return _bad(count + part["count"], part["last_hash"], part["bad_seq"], part["problem"])
        count += part["count"]
        prev = part["last_hash"] or prev
        if end != 2**62 and part["next_seq"] != end + 1:  # ended early: the next entry is gone
            return _bad(count + 1, prev, part["next_seq"], f"entry {part['next_seq']} is missing")
    return _against_head(
        session, count, prev, parts[-1]["next_seq"] if parts[-1]["count"] else starts[-1]
    )


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
