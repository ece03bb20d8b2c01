"""Helpers shared by the Procountor tests."""

from __future__ import annotations

from collections.abc import Iterable

from syncaudit.contract import Change, Checkpoint, ItemUpsert
from syncaudit_procountor.simulator import LogEntry, ProcountorSimulator

SIZE = 200


def upserts(changes: Iterable[Change]) -> dict[str, ItemUpsert]:
    return {c.external_id: c for c in changes if isinstance(c, ItemUpsert)}


def cursors_of(changes: Iterable[Change]) -> dict[str, str]:
    return {c.stream: c.cursor for c in changes if isinstance(c, Checkpoint)}


def lists(sim: ProcountorSimulator) -> list[LogEntry]:
    """The search requests (GET /invoices, GET /businesspartners without ids)."""
    return [e for e in sim.requests if e.path in ("/api/invoices", "/api/businesspartners")]


def details(sim: ProcountorSimulator) -> list[LogEntry]:
    return [e for e in sim.requests if e.path.count("/") == 3 and "oauth" not in e.path]


def ids_asked(sim: ProcountorSimulator) -> list[int]:
    return [int(i) for e in details(sim) for i in e.path.rsplit("/", 1)[1].split(",")]


def minimum_requests(listing_sizes: Iterable[int], size: int = SIZE) -> int:
    """One token, then per listing its pages (at least one) and one detail call per page."""
    total = 1
    for n in listing_sizes:
        pages = -(-n // size)
        total += max(1, pages) + pages
    return total


class ProcountorFaults:
    """The contract suite's faults (syncaudit.testing.model.Faults) on the simulator."""

    hang_seconds = 1.6  # longer than the contract connector's timeout_seconds = 1

    def __init__(self, sim: ProcountorSimulator) -> None:
        self.sim = sim

    def fail(self, status: int, *, count: int = 1, retry_after: float | None = None) -> None:
        self.sim.inject(status=status, count=count, retry_after=retry_after, path_contains="/api/")

    def hang(self, *, count: int = 1) -> None:
        self.sim.inject(status=503, count=count, delay=self.hang_seconds, path_contains="/api/")

    def clear(self) -> None:
        self.sim.clear_faults()
