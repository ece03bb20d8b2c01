"""Verifying one range of the audit chain in a separate process (standard library only).

Spawned by `syncaudit.audit.verify` for large chains, so each of the machine's cores hashes its
share; it opens its own database connection and imports nothing heavy.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

QUERY = (
    "SELECT seq, at, event, subject, request_id, system, data, prev_hash, hash FROM audit_log "
    "WHERE seq BETWEEN {a} AND {b} ORDER BY seq"
)


def digest(  # noqa: PLR0917 -- positional: it runs once per entry
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


def stored_iso(value: str | datetime) -> str:
    """`at` as hashed (UTC isoformat). PostgreSQL hands back a datetime; SQLite its stored text,
    "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, rewritten here without parsing."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        clock = value[11:19] if value.endswith(".000000") else value[11:]
        return f"{value[:10]}T{clock}+00:00"
    return stored_iso(datetime.fromisoformat(value))


def check_rows(rows: Any, first_seq: int, prev: str | None) -> dict[str, Any]:
    """Walk rows from `first_seq`. `prev=None`: take the first row's prev_hash as given (the
    caller checks that link). Returns the range's summary, or where it broke."""
    expected, count = first_seq, 0
    first_prev: str | None = None
    link = prev or ""
    for seq, at, event, subject, request_id, system, data, prev_hash, row_hash in rows:
        count += 1
        if first_prev is None:
            first_prev = prev_hash
            link = prev_hash if prev is None else link
        if seq != expected:
            return _broken(count, link, expected, f"entry {expected} is missing", first_prev)
        if prev_hash != link:
            return _broken(count, link, seq, "does not follow the entry before it", first_prev)
        if digest(link, seq, stored_iso(at), event, subject, request_id, system, data) != (
            row_hash
        ):
            return _broken(
                count, link, seq, "its content was changed after it was written", first_prev
            )
        link, expected = row_hash, expected + 1
    return {
        "count": count,
        "last_hash": link if count else prev,
        "next_seq": expected,
        "first_prev": first_prev,
        "bad_seq": None,
        "problem": "",
    }


def _broken(
    count: int, prev: str | None, seq: int, problem: str, first_prev: str | None
) -> dict[str, Any]:
    return {
        "count": count,
        "last_hash": prev,
        "next_seq": seq,
        "first_prev": first_prev,
        "bad_seq": seq,
        "problem": problem,
    }


def check_range(backend: str, target: str, a: int, b: int) -> dict[str, Any]:
    """Open the database (`target`: SQLite path or PostgreSQL conninfo) and check seq a..b."""
    sql = QUERY.format(a=int(a), b=int(b))
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        try:
            return check_rows(conn.execute(sql), a, None)
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(target) as pg, pg.cursor(name="audit_range") as cursor:
        cursor.itersize = 10_000
        cursor.execute(sql)
        return check_rows(cursor, a, None)
