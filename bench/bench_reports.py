"""Reports: the monthly report over a big register (100,000 people, 1,000,000 audit entries).

    python -m bench.bench_reports [--subjects 100000] [--audit 1000000] [--postgres]

The data is written straight into the tables (a valid hash chain included, so verification does
real work); a year of audit entries, so about a twelfth falls in the reported month. `run()`
returns rows {figure, value, unit, goal, ok}. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert

from bench.common import Row, peak_rss_mb, print_rows, row
from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.db import Database
from syncaudit.models import (
    AuditEntry,
    AuditHead,
    ErasureRequest,
    ErasureTask,
    Record,
    Resurrection,
    Subject,
    SyncRun,
)
from syncaudit.testing import make_settings

POSTGRES = os.environ.get(
    "SYNCAUDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MONTH = "2026-03"
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
YEAR_START = datetime(2025, 4, 1, tzinfo=UTC)
SYSTEMS = [
    {"name": "outlook", "type": "fake", "country": "IE", "transfer_mechanism": "EEA"},
    {"name": "newsletter", "type": "fake", "country": "US", "transfer_mechanism": "DPF",
     "transfer_checked": "2026-01-10"},
    {"name": "books", "type": "fake", "mode": "legal_hold", "country": "FI"},
    {"name": "forms", "type": "fake", "country": "US"},
]  # fmt: skip
CHUNK = 20_000


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(db: Database, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    target: Table = table.__table__
    with db.engine.begin() as conn:
        for batch in _chunks(rows):
            conn.execute(insert(target), batch)


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def _subjects(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for i in range(1, count + 1):
        first = _at(rng, datetime(2018, 1, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
        activity = _at(rng, datetime(2015, 1, 1, tzinfo=UTC), first) if i % 7 == 0 else first
        yield {
            "id": i,
            "pseudonym": hashlib.sha256(f"p{i}".encode()).hexdigest(),
            "email": f"person{i}@example.fi",
            "display_name": None,
            "first_seen": first,
            "last_seen": NOW - timedelta(days=1),
            "last_activity": activity,
        }


def _records(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    rid = 0
    for i in range(1, count + 1):
        first = _at(rng, datetime(2018, 1, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
        systems = (
            ["outlook"] + (["newsletter"] if i % 2 else []) + (["forms"] if i % 9 == 0 else [])
        )
        held = i % 10 == 0
        if held:
            systems.append("books")
        for system in systems:
            rid += 1
            is_book = system == "books"
            yield {
                "id": rid, "subject_id": i, "system": system, "stream": "s",
                "external_id": f"{system}-{i}", "kind": "contact", "name": None, "role": None,
                "record_date": None, "details": {}, "locator": {}, "first_seen": first,
                "last_seen": NOW, "seen_round": 0,
                "removed_at": NOW - timedelta(days=40) if i % 97 == 0 else None,
                "legal_hold_until": date(2026 + i % 8, 12, 31) if is_book else None,
                "legal_basis": "Accounting Act 2:10" if is_book else None,
                "restricted_at": datetime(2026, 3, 5, tzinfo=UTC) if is_book and i % 40 == 0
                else None,
            }  # fmt: skip


def _requests(count: int, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    requests, tasks = [], []
    for i in range(count):
        received = _at(rng, YEAR_START, datetime(2026, 3, 31, tzinfo=UTC))
        done = received + timedelta(hours=rng.choice([1, 3, 20, 40, 60]))
        request_id = f"E-{received:%Y%m%d}-{i:06x}"
        requests.append(
            {
                "id": request_id, "kind": ("erasure", "erasure", "access", "objection")[i % 4],
                "pseudonym": hashlib.sha256(f"r{i}".encode()).hexdigest(), "email": None,
                "names": None, "reason": None, "origin": "operator", "received_at": received,
                "deadline": received + timedelta(hours=48), "created_at": received,
                "state": "completed", "completed_at": done, "breached_at": None,
                "warned_half_at": None, "warned_three_quarters_at": None, "purged_at": done,
            }
        )  # fmt: skip
        for system in ("outlook", "newsletter", "books", "forms"):
            status = "retained" if system == "books" else "erased"
            tasks.append(
                {
                    "request_id": request_id, "system": system, "state": "verified",
                    "refs": [], "attempts": 1, "created_at": received, "updated_at": done,
                    "finished_at": done, "outcomes": [{"key": "k", "status": status,
                    "legal_basis": "Accounting Act 2:10" if status == "retained" else None,
                    "retained_until": "2031-12-31" if status == "retained" else None}],
                }
            )  # fmt: skip
    return requests, tasks


def _sync_runs() -> Iterator[dict[str, Any]]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    while at < NOW:
        for index, system in enumerate(s["name"] for s in SYSTEMS):
            failed = (at.hour + index) % 50 == 0
            yield {
                "system": system, "full": False, "started_at": at,
                "finished_at": at + timedelta(minutes=1), "status": "failed" if failed else "ok",
                "upserts": 10, "removals": 0, "problems": 0, "error": None,
            }  # fmt: skip
        at += timedelta(hours=1)


def _audit(count: int) -> Iterator[dict[str, Any]]:
    prev = audit.GENESIS
    step = (NOW - timedelta(hours=1) - YEAR_START) / count
    for seq in range(1, count + 1):
        at = YEAR_START + step * seq
        subject = hashlib.sha256(f"p{seq % 100_000}".encode()).hexdigest()
        data = audit.canonical({"kind": "contact", "label": f"item {seq}"})
        digest = audit.entry_hash(
            prev, seq=seq, at=at, event="record.erased", subject=subject,
            request_id=None, system="outlook", data=data,
        )  # fmt: skip
        yield {
            "seq": seq, "at": at, "event": "record.erased", "subject": subject,
            "request_id": None, "system": "outlook", "data": data, "prev_hash": prev,
            "hash": digest,
        }  # fmt: skip
        prev = digest
    _audit.head = (count, prev)  # type: ignore[attr-defined]


def populate(db: Database, subjects: int, entries: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    _insert(db, Subject, _subjects(subjects, rng))
    _insert(db, Record, _records(subjects, rng))
    requests, tasks = _requests(max(subjects // 20, 10), rng)
    _insert(db, ErasureRequest, iter(requests))
    _insert(db, ErasureTask, iter(tasks))
    _insert(db, SyncRun, _sync_runs())
    resurrections = (
        {"pseudonym": hashlib.sha256(f"x{i}".encode()).hexdigest(), "system": "forms",
         "stream": "s", "external_id": f"f{i}",
         "seen_at": datetime(2026, 3, 10 + i % 15, tzinfo=UTC),
         "action": "erase", "request_id": None}
        for i in range(25)
    )  # fmt: skip
    _insert(db, Resurrection, resurrections)
    _insert(db, AuditEntry, _audit(entries))
    seq, digest = _audit.head  # type: ignore[attr-defined]
    _insert(db, AuditHead, iter([{"id": 1, "seq": seq, "hash": digest}]))


def measure(url: str, subjects: int, entries: int, label: str) -> list[Row]:
    from syncaudit.reports.monthly import build_monthly
    from syncaudit.reports.render import render_monthly

    db = Database(url)
    start = time.perf_counter()
    populate(db, subjects, entries)
    db.dispose()
    rows = [row(f"{label}: data written", round(time.perf_counter() - start, 1), "", None, "s")]
    app = App(make_settings(url, SYSTEMS), clock=ManualClock(NOW))
    try:
        for fmt in ("html", "json"):
            wall, cpu = time.perf_counter(), time.process_time()
            report = build_monthly(app, MONTH, lang="fi")
            content = render_monthly(report, fmt)
            elapsed = time.perf_counter() - wall
            rows.append(
                row(
                    f"{label}: monthly report, {fmt} ({len(content) // 1024} KiB)",
                    round(elapsed, 2), "< 5 s", elapsed < 5, "s",
                )
            )  # fmt: skip
            rows.append(
                row(f"{label}:   of which CPU", round(time.process_time() - cpu, 2), "", None, "s")
            )
        wall = time.perf_counter()
        with app.db.session() as s:
            check = audit.verify(s)
        rows.append(
            row(f"{label}: audit verify alone ({check.entries:,} entries, ok={check.ok})",
                round(time.perf_counter() - wall, 2), "", None, "s")
        )  # fmt: skip
        figures = report["requests"]["erasure"]
        rows.append(row(f"{label}: erasures in the month (sanity)", figures["received"]))
    finally:
        app.close()
    return rows


def _pg_schema() -> str | None:
    try:
        import psycopg

        dsn = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP SCHEMA IF EXISTS bench_reports CASCADE")
            conn.execute("CREATE SCHEMA bench_reports")
        return f"{POSTGRES}?options=-csearch_path%3Dbench_reports"
    except Exception:
        return None


def run(subjects: int = 100_000, entries: int = 1_000_000, postgres: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(f"sqlite:///{tmp}/bench.db", subjects, entries, "SQLite")
    if postgres:
        url = _pg_schema()
        rows += (
            measure(url, subjects, entries, "PostgreSQL")
            if url
            else [row("PostgreSQL", "skipped: not reachable")]
        )
    rows.append(row("peak memory (whole benchmark)", round(peak_rss_mb(), 1), "", None, "MB"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.subjects, args.audit, args.postgres))
