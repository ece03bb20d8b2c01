"""The shared connector contract, run against the simulator with the real SDK."""

from __future__ import annotations

import pytest

from syncaudit.retry import RetryPolicy
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, GraphFaults, GraphPeople, soon

pytestmark = SDK_WARNINGS
COACH, ASSISTANT = MAILBOXES


class TestMsGraphContract(ConnectorContract):
    @pytest.fixture
    def contract_system(
        self, sim: GraphSimulator, make_connector: ConnectorFactory
    ) -> ContractSystem:
        anna, bob = ("Anna Virtanen", "Anna.Virtanen@Example.FI"), ("Bob Berg", "bob@example.com")
        people = GraphPeople(sim)
        clients = sim.add_folder(ASSISTANT, "Clients")
        people.contact(COACH, "Anna Virtanen", [anna[1], "anna@home.example"])
        people.contact(ASSISTANT, "Anna V", ["anna.virtanen@example.fi"], folder=clients)
        sim.add_contact(COACH, name=bob[0], emails=[bob[1]])
        people.event(COACH, subject="Coaching: Anna Virtanen", start=soon(-3), attendees=[anna])
        people.event(ASSISTANT, subject="Plan", start=soon(2), organizer=bob, attendees=[anna])
        return ContractSystem(
            connector=make_connector(retry=RetryPolicy(max_attempts=2), timeout_seconds=1),
            present_email="anna.virtanen@example.fi",
            present_name="Anna Virtanen",
            faults=GraphFaults(sim),
            remove_person=people.remove,
            add_person=people.add,
        )
