"""Core figures: `syncaudit --help` wall time; index upsert throughput (SQLite, PostgreSQL).

python -m bench.bench_core [--records 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from bench.common import Row, peak_rss_mb, print_rows, row
from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert, Observation, RecordKind, RoundStart
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.sync import run_sync
from syncaudit.testing import FakeConnector, FakeSystem

POSTGRES = os.environ.get(
    "SYNCAUDIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def help_time(runs: int = 7) -> float:
    exe = Path(sys.executable).with_name("syncaudit")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Synthetic(FakeConnector):
    """Pages of 1,000 contacts with one address each, generated on the fly (no network)."""

    def __init__(self, total: int) -> None:
        super().__init__("bench", FakeSystem())
        self.total = total

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        yield RoundStart(stream="contacts")
        for start in range(0, self.total, 1000):
            for i in range(start, min(start + 1000, self.total)):
                yield ItemUpsert(
                    stream="contacts",
                    external_id=f"c{i}",
                    observations=(
                        Observation(
                            kind=RecordKind.CONTACT,
                            email=f"person{i}@example.fi",
                            name=f"Person Number{i}",
                        ),
                    ),
                )
            yield Checkpoint(stream="contacts", cursor=str(start))
        yield Checkpoint(stream="contacts", cursor="end", round_complete=True)


def upsert_rate(url: str, total: int) -> tuple[float, float]:
    db = Database(url)
    pseudo = Pseudonymizer(b"b" * 32)
    start = time.perf_counter()
    run_sync(db, Synthetic(total), pseudonymizer=pseudo, clock=SystemClock())
    first = total / (time.perf_counter() - start)
    start = time.perf_counter()
    run_sync(db, Synthetic(total), pseudonymizer=pseudo, clock=SystemClock())  # all updates
    again = total / (time.perf_counter() - start)
    db.dispose()
    return first, again


def floor_rate(url: str, total: int) -> float:
    """The same subjects and records written by the index writer's own statements (`Store`:
    executemany on SQLite, COPY on PostgreSQL) in transactions of the runner's size, with every
    value prepared beforehand: what the database alone costs, the floor under `upsert_rate`."""
    from syncaudit.index._store import Store
    from syncaudit.sync import COMMIT_ITEMS

    db = Database(url)
    pseudo = Pseudonymizer(b"b" * 32)
    emails = [f"person{i}@example.fi" for i in range(total)]
    pseudonyms = [pseudo.of_normalized(e) for e in emails]
    with db.engine.connect() as conn:
        stamp = Store(conn).codec.when(SystemClock().now())
        started = time.perf_counter()
        for first in range(0, total, COMMIT_ITEMS):
            span = range(first, min(first + COMMIT_ITEMS, total))
            with conn.begin():
                store = Store(conn)
                ids = store.insert_subjects(
                    [
                        (pseudonyms[i], emails[i], f"Person Number{i}", stamp, stamp, None)
                        for i in span
                    ]
                )
                store.insert_records(
                    [
                        (sid, "bench", "contacts", f"c{i}", "contact", stamp, stamp, 1,
                         f"Person Number{i}", None, None, "{}", "{}", None, None)
                        for (sid, _), i in zip(ids, span, strict=True)
                    ]
                )  # fmt: skip
        rate = total / (time.perf_counter() - started)
    db.dispose()
    return rate


def _pg_schema() -> str | None:
    try:
        import psycopg

        dsn = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP SCHEMA IF EXISTS bench_core CASCADE")
            conn.execute("CREATE SCHEMA bench_core")
        return f"{POSTGRES}?options=-csearch_path%3Dbench_core"
    except Exception:
        return None


def run(records: int = 200_000) -> list[Row]:
    rows = [row("syncaudit --help wall time", round(help_time(), 3), "< 0.3 s", None, "s")]
    rows[0]["ok"] = rows[0]["value"] < 0.3
    with tempfile.TemporaryDirectory() as tmp:
        first, again = upsert_rate(f"sqlite:///{tmp}/bench.db", records)
    rows.append(
        row(
            f"index insert, SQLite ({records:,} records)",
            round(first),
            ">= 50,000/s",
            first >= 50_000,
            "rec/s",
        )
    )
    rows.append(row("index re-sync (all updates), SQLite", round(again), "", None, "rec/s"))
    with tempfile.TemporaryDirectory() as tmp:
        floor = floor_rate(f"sqlite:///{tmp}/floor.db", records)
    rows.append(
        row(
            "  floor: the same rows, prepared, by the writer's statements, SQLite",
            round(floor),
            "",
            None,
            "rec/s",
        )
    )
    url = _pg_schema()
    if url:
        first, again = upsert_rate(url, records)
        rows.append(row(f"index insert, PostgreSQL ({records:,})", round(first), "", None, "rec/s"))
        rows.append(row("index re-sync (all updates), PostgreSQL", round(again), "", None, "rec/s"))
        floor = floor_rate(_pg_schema() or url, records)
        rows.append(
            row(
                "  floor: the same rows, prepared, PostgreSQL (COPY)",
                round(floor),
                "",
                None,
                "rec/s",
            )
        )
    else:
        rows.append(row("index insert, PostgreSQL", "skipped: not reachable"))
    rows.append(row("peak memory (whole benchmark)", round(peak_rss_mb(), 1), "", None, "MB"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    print_rows(run(parser.parse_args().records))
