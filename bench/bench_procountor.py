"""Benchmark: the Procountor connector (requests, real HTTP) against the simulator.

    .venv/bin/python bench/bench_procountor.py [--invoices 10000] [--partners 2500] [--change 0.01]

Figures (asserts nothing about time):
- requests of a full pull vs the API minimum at the maximum page size (one token; per listing
  every page, at least one, and one GET-by-ids per page);
- full-pull time vs a bare requests.Session loop replaying the same requests against the same
  simulator in the same run (best of `--repeat`), with the simulator in a process of its own
  (as Procountor is: the goal row) and, for reference, in this process (where it shares the
  GIL with the client, so the reader's overlap with the server's time cannot show); the
  connector's pace is lifted for this (at its default of 5 requests a second the pull would
  take requests / 5 seconds, also shown);
- requests of an incremental pull after `--change` of the invoices changed out of band.

`run(...)` returns rows {figure, value, goal, ok} for a `python -m bench` collector.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import multiprocessing
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import requests
import structlog

from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert
from syncaudit_procountor.connector import ProcountorConnector
from syncaudit_procountor.plugin import PLUGIN
from syncaudit_procountor.simulator import LogEntry, ProcountorSimulator

PAGE = 200


def _connector(sim: ProcountorSimulator) -> ProcountorConnector:
    return _connector_at(sim.url, (sim.client_id, sim.client_secret, sim.api_key))


def _connector_at(url: str, client: tuple[str, str, str], pace: int = 1000) -> ProcountorConnector:
    table = {
        "client_id": client[0],
        "client_secret_env": "S",
        "api_key_env": "K",
        "base_url": url,
        "max_requests_per_second": pace,
    }
    env = {"S": client[1], "K": client[2]}
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


Sent = tuple[str, str, dict[str, str]]  # method, url, query


def _sent(sim: ProcountorSimulator, log: list[LogEntry]) -> list[Sent]:
    root = sim.url.removesuffix("/api")
    return [(e.method, root + e.path, {k: v[-1] for k, v in e.query.items()}) for e in log]


def _replay(sent: list[Sent], client: tuple[str, str, str]) -> float:
    """A bare Session loop over exactly the requests the connector made."""
    session = requests.Session()
    client_id, secret, key = client
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "api_key": key,
    }
    started = time.perf_counter()
    token = ""
    for method, url, params in sent:
        if method == "POST":
            token = session.post(url, data=form, timeout=30).json()["access_token"]
            continue
        response = session.get(
            url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        response.raise_for_status()
        response.json()
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def _serve(pipe: Connection, invoices: int, partners: int) -> None:
    """The simulator in a process of its own (as Procountor is): sends its url and client."""
    offset = [timedelta(days=-2)]
    sim = ProcountorSimulator(clock=lambda: datetime.now(UTC) + offset[0]).start()
    sim.populate(invoices, partners=partners, seed=5)
    offset[0] = timedelta(0)
    gc.collect()
    gc.freeze()
    pipe.send((sim.url, (sim.client_id, sim.client_secret, sim.api_key)))
    pipe.recv()
    sim.stop()


def _recording(conn: ProcountorConnector) -> list[Sent]:
    """The requests the connector sends from now on, recorded on its side."""
    sent: list[Sent] = []
    session = conn._transport._session
    send = session.request

    def record(method: str, url: str, **kw: Any) -> Any:
        sent.append((method, url, dict(kw.get("params") or {})))
        return send(method, url, **kw)

    session.request = record  # type: ignore[method-assign,assignment]
    return sent


def _apart(invoices: int, partners: int, repeat: int) -> tuple[float, float]:
    """Best full-pull and bare-loop times with the simulator in another process."""
    mine, theirs = multiprocessing.Pipe()
    child = multiprocessing.Process(target=_serve, args=(theirs, invoices, partners))
    child.start()
    try:
        url, client = mine.recv()
        best_pull = best_bare = math.inf
        for _ in range(repeat):
            conn = _connector_at(url, client)
            sent = _recording(conn)
            started = time.perf_counter()
            _consume(conn.pull({}, full=True))
            best_pull = min(best_pull, time.perf_counter() - started)
            conn.close()
            best_bare = min(best_bare, _replay(sent, client))
    finally:
        mine.send("stop")
        child.join(timeout=30)
    return best_pull, best_bare


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
            client = (sim.client_id, sim.client_secret, sim.api_key)
            best_bare = min(best_bare, _replay(_sent(sim, log), client))
        ratio = made / minimum
        row(
            f"full pull requests vs minimum ({invoices} invoices, {partners} partners)",
            f"{made} / {minimum} = {ratio:.3f}x",
            "<= 1.02x",
            ratio <= 1.02,
        )
        speed = best_pull / best_bare
        apart_pull, apart_bare = _apart(invoices, partners, repeat)
        row(
            "full pull time vs bare Session loop (simulator in its own process)",
            f"{apart_pull:.2f} s / {apart_bare:.2f} s = {apart_pull / apart_bare:.2f}x",
            "<= 1.25x",
            apart_pull / apart_bare <= 1.25,
        )
        # No goal here: a simulator in this process serves every page with this interpreter's
        # lock, so nothing the reader overlaps with Procountor's time can overlap here.
        row(
            "  the same, simulator in this process (shares the GIL)",
            f"{best_pull:.2f} s / {best_bare:.2f} s = {speed:.2f}x",
            "",
            None,
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
