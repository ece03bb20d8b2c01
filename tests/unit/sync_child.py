"""Child process for the crash test: a deterministic slow pull into an SQLite index."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping

from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.sync import run_sync
from syncaudit.testing import FakeConnector, FakeSystem

ITEMS = 3000


def fake_system() -> FakeSystem:
    system = FakeSystem()
    for i in range(ITEMS):
        people = [(f"Person.{i}@Example.fi", f"Person {i}")]
        if i % 7 == 0:
            people.append((f"shared{i % 50}@example.com", f"Shared {i % 50}"))
        system.put(f"item-{i:05d}", *people)
    return system


class SlowConnector(FakeConnector):
    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        for change in super().pull(cursors, full=full):
            if isinstance(change, Checkpoint):
                time.sleep(0.01)
            yield change


if __name__ == "__main__":
    db = Database(sys.argv[1])
    print("READY", flush=True)  # migrated: the test's kill timer starts here, whatever the load
    connector = SlowConnector("crm", fake_system(), page_size=50)
    run_sync(db, connector, pseudonymizer=Pseudonymizer(b"k" * 32), clock=SystemClock())
    print("DONE")
