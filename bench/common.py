"""Helpers every benchmark shares: rows of (figure, value, goal, ok) and a peak-memory probe."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Row = dict[str, Any]


def row(
    figure: str, value: float | str, goal: str = "", ok: bool | None = None, unit: str = ""
) -> Row:
    return {"figure": figure, "value": value, "unit": unit, "goal": goal, "ok": ok}


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def print_rows(rows: list[Row], out: Any = sys.stdout) -> None:
    width = max([len(r["figure"]) for r in rows] + [6])
    print(f"{'figure':<{width}}  {'value':>14}  {'goal':<18} result", file=out)
    for given in rows:
        r = {"unit": "", "goal": "", "ok": None, **given}  # modules may omit the optional keys
        value = r["value"]
        text = (
            f"{value:,.3f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value)
        )
        verdict = "" if r["ok"] is None else ("pass" if r["ok"] else "FAIL")
        print(
            f"{r['figure']:<{width}}  {text + ' ' + r['unit']:>14}  {r['goal']:<18} {verdict}",
            file=out,
        )
