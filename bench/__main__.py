"""Every benchmark in one table: `python -m bench` (or `make bench`).

Sizes are parameters of each module's `run()`; the defaults finish in a few minutes here. Each
figure that needs a baseline measures it in the same run (e.g. a bare HTTP loop over the same
simulator pages).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row, print_rows, row

MODULES = (
    "bench_core",
    "bench_sync",
    "bench_msgraph",
    "bench_mailchimp",
    "bench_accounting",
    "bench_procountor",
    "bench_erasure",
    "bench_reports",
    "bench_web",
)


def machine() -> str:
    return (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def collect(names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError as exc:
            rows.append(row(f"{name}", f"not available: {exc}"))
            continue
        start = time.perf_counter()
        try:
            part = module.run()
        except Exception as exc:  # a broken benchmark is a row, not the end of the table
            traceback.print_exc()
            rows.append(row(f"{name}", f"FAILED: {type(exc).__name__}: {exc}", ok=False))
            continue
        for r in part:
            r["figure"] = f"{name.removeprefix('bench_')}: {r['figure']}"
        rows.extend(part)
        print(f"  {name} done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=list(MODULES))
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    rows = collect(args.only)
    print(f"\nsyncaudit benchmarks — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}\n")
    print_rows(rows)
    if args.markdown:
        write_markdown(args.markdown, rows)
    return 1 if any(r.get("ok") is False for r in rows) else 0


def write_markdown(path: Path, rows: list[Row]) -> None:
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "| figure | value | goal | result |",
        "| --- | ---: | --- | --- |",
    ]
    for given in rows:
        r = {"unit": "", "goal": "", "ok": None, **given}
        value = r["value"]
        text = f"{value:,}" if isinstance(value, int | float) else str(value)
        verdict = "" if r["ok"] is None else ("pass" if r["ok"] else "FAIL")
        lines.append(f"| {r['figure']} | {text} {r['unit']} | {r['goal']} | {verdict} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
