"""Benchmark: the Mailchimp connector (real mailchimp-marketing client) against the simulator.

    .venv/bin/python bench/bench_mailchimp.py [--members 100000] [--audiences 2] [--change 0.01]

Figures (asserts nothing about time):
- requests of a full sync vs the API minimum (every page of every listing, archived included);
- full-sync time vs a bare requests.Session loop replaying the same requests against the same
  simulator in the same run (best of `--repeat`);
- with and without connection reuse (time, connections opened);
- peak memory of a full sync (tracemalloc: everything allocated while it runs, simulator thread
  included, so it is an upper bound);
- requests of an incremental sync after `--change` of the members changed out of band.

`run(...)` returns rows {figure, value, goal, ok} for a `python -m bench` collector.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import requests
import structlog

from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert, Secret
from syncaudit_mailchimp.connector import MailchimpConnector
from syncaudit_mailchimp.plugin import PLUGIN
from syncaudit_mailchimp.settings import MailchimpSettings
from syncaudit_mailchimp.simulator import LogEntry, MailchimpSimulator


def _connector(sim: MailchimpSimulator, *, reuse: bool = True) -> MailchimpConnector:
    settings = MailchimpSettings(
        api_key=Secret.of(sim.api_key), base_url=sim.url, reuse_connections=reuse
    )
    return MailchimpConnector(
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


def _minimum_full(sim: MailchimpSimulator, ids: list[str]) -> int:
    """/lists, then every page of the default and the archived listing of each audience."""
    total = 1
    for list_id in ids:
        counts = sim.status_counts(list_id)
        archived = counts["archived"]
        total += max(1, math.ceil((sum(counts.values()) - archived) / 1000))
        total += max(1, math.ceil(archived / 1000))
    return total


def _replay(sim: MailchimpSimulator, log: list[LogEntry]) -> float:
    """A bare Session loop over exactly the requests the connector made."""
    session = requests.Session()
    session.auth = ("bench", sim.api_key)
    root = sim.url.removesuffix("/3.0")
    started = time.perf_counter()
    for entry in log:
        response = session.get(root + entry.path, params=dict(entry.query), timeout=30)
        response.raise_for_status()
        response.json()
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def _timed_full(sim: MailchimpSimulator, *, reuse: bool) -> tuple[float, int, int, list[LogEntry]]:
    conn = _connector(sim, reuse=reuse)
    sim.clear_log()
    opened = sim.connections_opened
    started = time.perf_counter()
    upserts, _ = _consume(conn.pull({}, full=True))
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, upserts, sim.connections_opened - opened, sim.requests


def run(
    members: int = 100_000,
    audiences: int = 2,
    change: float = 0.01,
    archived: float = 0.02,
    repeat: int = 2,
) -> list[dict[str, Any]]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rows: list[dict[str, Any]] = []

    def row(figure: str, value: str, goal: str, ok: bool | None) -> None:
        rows.append({"figure": figure, "value": value, "goal": goal, "ok": ok})

    with MailchimpSimulator() as sim:
        ids = sim.populate(members, audiences=audiences, archived=archived)
        minimum = _minimum_full(sim, ids)

        best_sync = best_bare = math.inf
        requests_made = upserts = opened = 0
        for _ in range(repeat):
            elapsed, upserts, opened, log = _timed_full(sim, reuse=True)
            requests_made = len(log)
            best_sync = min(best_sync, elapsed)
            best_bare = min(best_bare, _replay(sim, log))
        no_reuse, _, opened_no_reuse, _ = _timed_full(sim, reuse=False)

        ratio = requests_made / minimum
        row(
            "full sync requests vs minimum",
            f"{requests_made} / {minimum} = {ratio:.3f}x",
            "<= 1.02x",
            ratio <= 1.02,
        )
        speed = best_sync / best_bare
        row(
            "full sync time vs bare Session loop",
            f"{best_sync:.2f} s / {best_bare:.2f} s = {speed:.2f}x",
            "<= 1.5x",
            speed <= 1.5,
        )
        row("records/s (full sync)", f"{upserts / best_sync:,.0f} ({upserts} records)", "", None)
        row(
            "connection reuse (keep-alive session vs one connection per call)",
            f"{best_sync:.2f} s, {opened} conn. vs {no_reuse:.2f} s, {opened_no_reuse} conn.",
            "reuse not slower",
            best_sync <= no_reuse * 1.05,
        )

        conn = _connector(sim)
        tracemalloc.start()
        _, cursors = _consume(conn.pull({}, full=True))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row("peak memory of a full sync", f"{peak / 2**20:.1f} MB", "< 150 MB", peak < 150 * 2**20)

        changed = sim.change_random(change)
        sim.clear_log()
        changed_seen, _ = _consume(conn.pull(cursors))
        incremental = len(sim.requests)
        floor = 1 + sum(
            max(1, math.ceil(changed / audiences / 1000)) + 1 for _ in ids
        )  # /lists + changed pages + the archived-changed page, per audience
        row(
            f"incremental sync after {change:.0%} changed ({changed} members)",
            f"{incremental} requests (minimum {floor}), {changed_seen} records",
            f"= {floor} requests",
            incremental <= floor and changed_seen >= changed,
        )
        conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--audiences", type=int, default=2)
    parser.add_argument("--change", type=float, default=0.01, help="fraction changed (0.01)")
    parser.add_argument("--archived", type=float, default=0.02, help="fraction archived")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions (best kept)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.members, args.audiences, args.change, args.archived, args.repeat)
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        mark = "" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
        print(f"{r['figure']:<{width}}  {r['value']:<48} {r['goal']:<18} {mark}")
    spent = time.perf_counter() - started
    print(f"({args.members} members, {args.audiences} audiences, {spent:.0f} s)")


if __name__ == "__main__":
    main()
