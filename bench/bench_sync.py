"""What a user runs: `syncaudit sync` (a subprocess, the CLI, a real index) against simulators.

    python -m bench.bench_sync [--scale 0.2] [--repeat 2] [--no-postgres]

Each simulator runs in a child process of its own. Per system, the same run times:
- `syncaudit --config … sync SYSTEM --full` into a fresh SQLite index (and PostgreSQL), wall
  clock of the process, and its peak RSS (`os.wait4` in a small launcher process: the child's
  own rusage, as `time -v` reports it);
- a bare HTTP loop in this process over the same simulator pages (Mailchimp: a replay of the
  requests the sync made; Graph: bench_msgraph's httpx loop), and the ratio of the two;
- an incremental `syncaudit sync` after 1% changed, against its minimum number of requests.
Runs alternate sync / bare and the best of `--repeat` is kept, so both see the same load.
`BENCH_SYNC_SCALE` (or --scale) shrinks every size for a quick run.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bench_msgraph
from bench.bench_core import _pg_schema
from bench.common import Remote, Row, print_rows, quiet, row

KEY_ENV = "SYNCAUDIT_BENCH_KEY"
MAILCHIMP_KEY_ENV = "SYNCAUDIT_BENCH_MAILCHIMP_KEY"
RATIO_GOAL = 1.25
RSS_GOAL_MIB = 150


def _toml(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))


def _config(workdir: Path, url: str, systems: list[dict[str, Any]]) -> Path:
    lines = [
        "[database]",
        f"url = {_toml(url)}",
        "[identity]",
        f'key_env = "{KEY_ENV}"',
        "[controller]",
        'name = "Bench Oy"',
        'business_id = "1234567-8"',
        'email = "privacy@bench.example"',
        "[service]",
        f"report_dir = {_toml(str(workdir / 'reports'))}",
    ]
    for table in systems:
        lines.append("\n[[systems]]")
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    path = workdir / "syncaudit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fresh_sqlite(workdir: Path) -> str:
    for name in ("index.db", "index.db-wal", "index.db-shm"):
        (workdir / name).unlink(missing_ok=True)
    return f"sqlite:///{workdir / 'index.db'}"


# A small launcher process runs the CLI and reports its wall time and rusage: a child forked
# straight from this (large) process would count the parent's pages in its peak RSS.
_LAUNCH = """
import os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - started
print(os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss, flush=True)
"""


def _cli(config: Path, env: dict[str, str], *args: str) -> tuple[float, float]:
    """Run `syncaudit --config CONFIG ARGS`: (wall seconds, peak RSS MiB of that process)."""
    exe = str(Path(sys.executable).with_name("syncaudit"))
    with tempfile.TemporaryFile() as err:
        done = subprocess.run(
            [sys.executable, "-c", _LAUNCH, exe, "--config", str(config), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            check=True,
        )
        code, wall, rss_kib = done.stdout.split()
        if int(code) != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-800:]
            raise RuntimeError(f"syncaudit {' '.join(args)} failed: {tail}")
    return float(wall), int(rss_kib) / 1024


def _mailchimp(
    workdir: Path, env: dict[str, str], members: int, repeat: int, pg_url: str | None
) -> list[Row]:
    import requests

    from bench.bench_mailchimp import _minimum_full

    rows: list[Row] = []
    sim = Remote("syncaudit_mailchimp.simulator:MailchimpSimulator")
    try:
        ids = sim.populate(members, audiences=2, archived=0.02)
        minimum = _minimum_full(sim, ids)  # type: ignore[arg-type]
        key = sim.attribute("api_key")
        table = {
            "name": "newsletter",
            "type": "mailchimp",
            "api_key_env": MAILCHIMP_KEY_ENV,
            "base_url": sim.attribute("url"),
            "country": "US",
            "transfer_mechanism": "DPF",
        }
        env = {**env, MAILCHIMP_KEY_ENV: key}
        root = sim.attribute("url").removesuffix("/3.0")

        def bare(log: list[Any]) -> float:
            session = requests.Session()
            session.auth = ("bench", key)
            started = time.perf_counter()
            for entry in log:
                response = session.get(root + entry.path, params=dict(entry.query), timeout=60)
                response.raise_for_status()
                response.json()
            elapsed = time.perf_counter() - started
            session.close()
            return elapsed

        def measure(url_of: Callable[[], str], label: str) -> None:
            best_sync = best_bare = math.inf
            peak = 0.0
            made = 0
            for _ in range(repeat):
                config = _config(workdir, url_of(), [table])
                sim.clear_log()
                wall, rss = _cli(config, env, "sync", "newsletter", "--full")
                log = sim.attribute("requests")
                made = len(log)
                best_sync, peak = min(best_sync, wall), max(peak, rss)
                best_bare = min(best_bare, bare(log))
            ratio = best_sync / best_bare
            rows.extend(
                [
                    row(
                        f"Mailchimp {members:,} members, {label}: syncaudit sync / bare loop",
                        f"{best_sync:.2f} s / {best_bare:.2f} s = {ratio:.2f}x",
                        f"<= {RATIO_GOAL}x",
                        ratio <= RATIO_GOAL,
                    ),
                    row(
                        f"Mailchimp, {label}: peak RSS of syncaudit sync",
                        round(peak, 1),
                        f"<= {RSS_GOAL_MIB} MiB",
                        peak <= RSS_GOAL_MIB,
                        "MiB",
                    ),
                    row(
                        f"Mailchimp, {label}: requests / minimum",
                        f"{made} / {minimum} = {made / minimum:.3f}x",
                        "<= 1.02x",
                        made / minimum <= 1.02,
                    ),
                ]
            )
            changed = sim.change_random(0.01)
            sim.clear_log()
            _cli(config, env, "sync", "newsletter")
            incremental = len(sim.attribute("requests"))
            floor = 1 + sum(max(1, math.ceil(changed / 2 / 1000)) + 1 for _ in ids)
            rows.append(
                row(
                    f"Mailchimp, {label}: incremental sync after 1% changed ({changed})",
                    f"{incremental} requests (minimum {floor})",
                    f"= {floor}",
                    incremental <= floor,
                )
            )

        measure(lambda: _fresh_sqlite(workdir), "SQLite")
        if pg_url:
            measure(lambda: _fresh_pg(pg_url), "PostgreSQL")
    finally:
        sim.close()
    return rows


def _fresh_pg(_: str) -> str:
    url = _pg_schema()
    assert url is not None
    return url


def _graph(
    workdir: Path, env: dict[str, str], contacts: int, events: int, repeat: int, pg: str | None
) -> list[Row]:
    rows: list[Row] = []
    mailboxes = list(bench_msgraph.MAILBOXES)
    sim = Remote("syncaudit_msgraph.simulator:GraphSimulator")
    try:
        sim.populate(mailboxes, contacts=contacts, events=events, seed=7, series=0)
        minimum, _ = bench_msgraph._minimum(sim)
        table = sim.settings(mailboxes, name="outlook")
        env = {**env, "SIM_GRAPH_SECRET": sim.attribute("client_secret")}

        def measure(url_of: Callable[[], str], label: str) -> None:
            best_sync = best_bare = math.inf
            peak = 0.0
            made = records = 0
            for _ in range(repeat):
                config = _config(workdir, url_of(), [table])
                sim.clear_log()
                wall, rss = _cli(config, env, "sync", "outlook", "--full")
                made = len(sim.graph_requests())
                best_sync, peak = min(best_sync, wall), max(peak, rss)
                started = time.perf_counter()
                records = bench_msgraph._bare_loop(sim)
                best_bare = min(best_bare, time.perf_counter() - started)
            ratio = best_sync / best_bare
            rows.extend(
                [
                    row(
                        f"Graph {contacts:,} contacts + {events:,} events ({records:,} items), "
                        f"{label}: syncaudit sync / bare loop",
                        f"{best_sync:.2f} s / {best_bare:.2f} s = {ratio:.2f}x",
                        f"<= {RATIO_GOAL}x",
                        ratio <= RATIO_GOAL,
                    ),
                    row(
                        f"Graph, {label}: peak RSS of syncaudit sync",
                        round(peak, 1),
                        f"<= {RSS_GOAL_MIB} MiB",
                        peak <= RSS_GOAL_MIB,
                        "MiB",
                    ),
                    row(
                        f"Graph, {label}: requests / minimum",
                        f"{made} / {minimum} = {made / minimum:.3f}x",
                        "<= 1.02x",
                        made / minimum <= 1.02,
                    ),
                ]
            )
            bench_msgraph._change(sim, 0.01, 11)
            _, floor = bench_msgraph._minimum(sim)
            sim.clear_log()
            _cli(config, env, "sync", "outlook")
            incremental = len(sim.graph_requests())
            rows.append(
                row(
                    f"Graph, {label}: incremental sync after 1% changed",
                    f"{incremental} requests (minimum {floor})",
                    f"= {floor}",
                    incremental <= floor,
                )
            )

        measure(lambda: _fresh_sqlite(workdir), "SQLite")
        if pg:
            measure(lambda: _fresh_pg(pg), "PostgreSQL")
    finally:
        sim.close()
    return rows


def run(scale: float | None = None, repeat: int = 2, postgres: bool = True) -> list[Row]:
    quiet()
    if scale is None:
        scale = float(os.environ.get("BENCH_SYNC_SCALE", "1"))
    from syncaudit.identity import generate_key

    env = {**os.environ, KEY_ENV: generate_key()}
    pg = _pg_schema() if postgres else None
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        rows = _mailchimp(workdir, env, int(100_000 * scale), repeat, pg)
        rows += _graph(workdir, env, int(20_000 * scale), int(20_000 * scale), repeat, pg)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if pg is None:
        rows.append(row("PostgreSQL", "skipped: not reachable or --no-postgres"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.scale, args.repeat, not args.no_postgres))
