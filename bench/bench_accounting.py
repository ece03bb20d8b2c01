"""Accounting exports: pull a generated 10,000-invoice folder (every Finvoice version, SOAP batches,
CSV variants); files and invoices per second, peak memory, and the same pull into the SQLite index.

    python -m bench.bench_accounting [--invoices 10000] [--seed 0]

`run()` returns rows {figure, value, unit, goal, ok}. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import tempfile
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Row, peak_rss_mb, print_rows, row, timed
from syncaudit.clock import ManualClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert, StreamProblem
from syncaudit.testing import target_for
from syncaudit_accounting import corpus
from syncaudit_accounting.connector import AccountingExportConnector
from syncaudit_accounting.plugin import PLUGIN

MB = 1024 * 1024
CLOCK_START = datetime(2026, 3, 2, tzinfo=UTC)


def _connector(folder: Path) -> AccountingExportConnector:
    settings = PLUGIN.parse_settings({"path": str(folder)}, path="bench", env={})
    conn = PLUGIN.create(
        "accounting", settings, PLUGIN.default_profile(settings), clock=ManualClock(CLOCK_START)
    )
    assert isinstance(conn, AccountingExportConnector)
    return conn


def _drain(changes: Iterator[Change]) -> dict[str, Any]:
    counts: dict[str, Any] = {"items": 0, "problems": 0, "checkpoints": 0, "cursors": {}}
    for change in changes:
        if isinstance(change, ItemUpsert):
            counts["items"] += 1
        elif isinstance(change, Checkpoint):
            counts["checkpoints"] += 1
            counts["cursors"][change.stream] = change.cursor
        elif isinstance(change, StreamProblem):
            counts["problems"] += 1
    return counts


def _into_index(conn: AccountingExportConnector, folder: Path) -> float:
    from syncaudit.db import Database
    from syncaudit.identity import Pseudonymizer
    from syncaudit.sync import run_sync

    database = Database(f"sqlite:///{folder / 'index.db'}")
    try:
        with timed() as elapsed:
            run_sync(
                database,
                conn,
                pseudonymizer=Pseudonymizer(b"bench-key-0123456789abcdef"),
                clock=ManualClock(CLOCK_START),
            )
        return elapsed()
    finally:
        database.dispose()


def run(invoices: int = 10_000, seed: int = 0, per_file: int = 50) -> list[Row]:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings only
    with tempfile.TemporaryDirectory(prefix="bench-accounting-") as tmp:
        folder = Path(tmp) / "exports"
        with timed() as gen_seconds:
            generated = corpus.generate(folder, invoices=invoices, seed=seed, per_file=per_file)
        files = len(generated.files)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        expected = generated.expected()
        conn = _connector(folder)
        with timed() as full_seconds:
            full = _drain(conn.pull({}))
        with timed() as again_seconds:
            again = _drain(conn.pull(full["cursors"]))
        tracemalloc.start()
        _drain(conn.pull({}, full=True))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        email = sorted(e for people in expected.values() for _, e, _ in people)[0]
        with timed() as locate_seconds:
            found = conn.locate(target_for(email))
        index_seconds = _into_index(conn, Path(tmp))
    seconds = full_seconds()
    return [
        row("corpus files (every variant)", files, f"{invoices:,} invoices"),
        row("corpus size", round(size / MB, 1), unit="MB"),
        row("corpus generation", round(gen_seconds(), 2), unit="s"),
        row("full pull", round(seconds, 2), "<= 60 s", seconds <= 60, "s"),
        row("files per second", round(files / seconds), ">= 200", files / seconds >= 200),
        row(
            "invoices per second", round(invoices / seconds), ">= 1000", invoices / seconds >= 1000
        ),
        row(
            "items yielded", full["items"], f"== {len(expected):,}", full["items"] == len(expected)
        ),
        row("stream problems", full["problems"], "== 0", full["problems"] == 0),
        row(
            "unchanged re-pull (hash only)",
            round(again_seconds(), 2),
            "0 changes",
            again["items"] == 0 and again["checkpoints"] == 0,
            "s",
        ),
        row(
            "peak traced memory, full pull", round(peak / MB, 1), "<= 32 MB", peak <= 32 * MB, "MB"
        ),
        row(
            "locate one address (live scan)",
            round(locate_seconds(), 2),
            ">= 1 ref",
            bool(found),
            "s",
        ),
        row("full pull into the SQLite index", round(index_seconds, 2), unit="s"),
        row("peak RSS of the process", round(peak_rss_mb()), unit="MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="accounting export pull benchmark")
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print_rows(run(args.invoices, args.seed))


if __name__ == "__main__":
    main()
