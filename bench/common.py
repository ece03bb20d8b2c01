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


class Remote:
    """A simulator in a child process, so it does not share the benchmark's interpreter lock:
    `remote.method(...)` runs `sim.method(...)` there, `remote.attribute("url")` reads one.
    `simulator` is "module:Class" of a context-manager simulator built with no arguments."""

    def __init__(self, simulator: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, simulator), daemon=True)
        self._process.start()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._pipe.send((name, args, kwargs))
            ok, value = self._pipe.recv()
            if not ok:
                raise RuntimeError(value)
            return value

        return call

    def close(self) -> None:
        self._pipe.send(("__stop__", (), {}))
        self._process.join(timeout=10)


def quiet() -> None:
    """Warnings and up only: a benchmark's figures, not the product's progress logs."""
    import logging
    import warnings

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _serve(pipe: Any, simulator: str) -> None:
    import importlib

    quiet()
    module, _, name = simulator.partition(":")
    with getattr(importlib.import_module(module), name)() as sim:
        while True:
            name, args, kwargs = pipe.recv()
            if name == "__stop__":
                return
            try:
                value = (
                    getattr(sim, args[0])
                    if name == "attribute"
                    else getattr(sim, name)(*args, **kwargs)
                )
                pipe.send((True, value))
            except Exception as exc:  # reported to the parent
                pipe.send((False, repr(exc)))
