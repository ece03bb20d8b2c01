"""Benchmark: the Procountor connector (requests, real HTTP) against the simulator.

    .venv/bin/python bench/bench_procountor.py [--invoices 10000] [--partners 2500] [--change 0.01]

Figures (asserts nothing about time):
- requests of a full pull vs the API minimum at the maximum page size (one token; per listing
  every page, at least one, and one GET-by-ids per page);
- full-pull time vs a bare requests.Session loop replaying the same requests against the same
  simulator in the same run (best of `--repeat`); the connector's pace is lifted for this (at
  its default of 5 requests a second the pull would take requests / 5 seconds, also shown);
- requests of an incremental pull after `--change` of the invoices changed out of band.

`run(...)` returns rows {figure, value, goal, ok} for a `python -m bench` collector.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import structlog

from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert
from syncaudit_procountor.connector import ProcountorConnector
from syncaudit_procountor.plugin import PLUGIN
from syncaudit_procountor.simulator import LogEntry, ProcountorSimulator

PAGE = 200


def _connector(sim: ProcountorSimulator, pace: int = 1000) -> ProcountorConnector:
    table = {
        "client_id": sim.client_id,
        "client_secret_env": "S",
        "api_key_env": "K",
        "base_url": sim.url,
        "max_requests_per_second": pace,
    }
    env = {"S": sim.client_secret, "K": sim.api_key}
    settings = PLUGIN.parse_settings(table, path="bench", env=env)
    return ProcountorConnector(
        "bench", settings, PLUGIN.default_profile(settings), clock=SystemClock()
    )


def _consume(changes: Iterator[Change]) -> tuple[int, dict[str, str]]:
    """What the core does, minus the database: count upserts, keep the last cursors."""
    upserts = 0
    cursors: dict[str, str] = {}
    for change in changes:
        if isinstance(change, ItemUpsert):
            upserts += 1
        elif isinstance(change, Checkpoint):
            cursors[change.stream] = change.cursor
    return upserts, cursors


def _minimum_full(sim: ProcountorSimulator) -> int:
    """A token, then per listing its pages (at least one) and one GET-by-ids per page."""
    invoices = [sim.invoice(i) for i in sim.invoice_ids()]
    partners = [sim.partner(i) for i in sim.partner_ids()]
    sizes = [sum(1 for i in invoices if i and i["type"] == "SALES_INVOICE")]
    for kind in ("CUSTOMER", "PERSON"):
        for active in (True, False):
            sizes.append(
                sum(
                    1
                    for p in partners
                    if p and p["type"] == kind and p["registryInfo"]["active"] is active
                )
            )
    total = 1
    for n in sizes:
        pages = math.ceil(n / PAGE)
        total += max(1, pages) + pages
    return total


def _replay(sim: ProcountorSimulator, log: list[LogEntry]) -> float:
    """A bare Session loop over exactly the requests the connector made."""
    session = requests.Session()
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "api_key": sim.api_key,
    }
    started = time.perf_counter()
    token = ""
    for entry in log:
        url = sim.url.removesuffix("/api") + entry.path
        if entry.method == "POST":
            token = session.post(url, data=form, timeout=30).json()["access_token"]
            continue
        params = {k: v[-1] for k, v in entry.query.items()}
        response = session.get(
            url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        response.raise_for_status()
        response.json()
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def run(
    invoices: int = 10_000, partners: int = 2_500, change: float = 0.01, repeat: int = 2
) -> list[dict[str, Any]]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rows: list[dict[str, Any]] = []

    def row(figure: str, value: str, goal: str, ok: bool | None) -> None:
        rows.append({"figure": figure, "value": value, "goal": goal, "ok": ok})

    offset = [timedelta(days=-2)]  # the register was written before today's pulls
    with ProcountorSimulator(clock=lambda: datetime.now(UTC) + offset[0]) as sim:
        sim.populate(invoices, partners=partners, seed=5)
        offset[0] = timedelta(0)
        gc.collect()
        gc.freeze()  # the simulator shares this process: keep its state out of every collection
        minimum = _minimum_full(sim)
        best_pull = best_bare = math.inf
        made = upserts = 0
        for _ in range(repeat):
            conn = _connector(sim)
            sim.clear_log()
            started = time.perf_counter()
            upserts, _ = _consume(conn.pull({}, full=True))
            best_pull = min(best_pull, time.perf_counter() - started)
            conn.close()
            log = sim.requests
            made = len(log)
            best_bare = min(best_bare, _replay(sim, log))
        ratio = made / minimum
        row(
            f"full pull requests vs minimum ({invoices} invoices, {partners} partners)",
            f"{made} / {minimum} = {ratio:.3f}x",
            "<= 1.02x",
            ratio <= 1.02,
        )
        speed = best_pull / best_bare
        row(
            "full pull time vs bare Session loop",
            f"{best_pull:.2f} s / {best_bare:.2f} s = {speed:.2f}x",
            "<= 1.25x",
            speed <= 1.25,
        )
        row(
            "records/s (full pull, pace lifted)",
            f"{upserts / best_pull:,.0f} ({upserts})",
            "",
            None,
        )
        row(
            "full pull at the default pace (5 requests/s)",
            f">= {made / 5:.0f} s",
            "",
            None,
        )

        conn = _connector(sim)
        _, cursors = _consume(conn.pull({}, full=True))
        changed = sim.change_random(change)
        sim.clear_log()
        seen, _ = _consume(conn.pull(cursors))
        asked = len(sim.requests)
        floor = 5 + math.ceil(len(changed) / PAGE)  # one page per listing + the batch of changes
        row(
            f"incremental pull after {change:.0%} changed ({len(changed)} invoices)",
            f"{asked} requests (minimum {floor}), {seen} records",
            f"= {floor} requests",
            asked <= floor,
        )
        conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=2_500)
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.invoices, args.partners, args.change, args.repeat)
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        mark = "" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
        print(f"{r['figure']:<{width}}  {r['value']:<44} {r['goal']:<16} {mark}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
