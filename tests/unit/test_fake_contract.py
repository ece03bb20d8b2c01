"""The in-memory fake passes the connector contract too (the state machine relies on it)."""

from __future__ import annotations

import pytest

from syncaudit.testing import ContractSystem, FakeConnector, FakeSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit.testing.model import Crash, ModelIndex


class TestFakeConnectorContract(ConnectorContract):
    supports_faults = False  # it raises what it is handed; tests/stateful drives that

    @pytest.fixture
    def contract_system(self) -> ContractSystem:
        system = FakeSystem()
        system.put("1", ("Anna.Virtanen@Example.FI", "Anna Virtanen"))
        system.put("2", ("bob@example.com", "Bob Berg"), ("anna.virtanen@example.fi", "Anna"))
        return ContractSystem(
            connector=FakeConnector("fake", system, page_size=1),
            present_email="anna.virtanen@example.fi",
            present_name="Anna Virtanen",
            remove_person=lambda: [system.delete(i) for i in ("1", "2")],
            add_person=lambda email, name: system.put("3", (email, name)),
        )


def test_an_interrupted_incremental_pull_loses_no_removal() -> None:
    """Found by the state machine: the fake yielded removals after every page of upserts, so a
    pull stopped after its first page committed a cursor past removals it never reported."""
    system = FakeSystem()
    system.put("a", ("anna@example.fi", "Anna"))
    system.put("b", ("bob@example.com", "Bob"))
    fake = FakeConnector("fake", system, page_size=1)
    index = ModelIndex().apply(fake.pull({}, full=True))
    system.delete("a")
    system.put("c", ("cleo@example.com", "Cleo"))
    with pytest.raises(Crash):
        index.apply(fake.pull(index.cursors), crash_after=1)
    index.apply(fake.pull(index.cursors))
    assert index.emails() == {"bob@example.com", "cleo@example.com"}
