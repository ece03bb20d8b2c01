"""The shared connector contract, run against the simulator with the real SDK."""

from __future__ import annotations

import pytest

from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, soon

pytestmark = SDK_WARNINGS
COACH, ASSISTANT = MAILBOXES


class TestMsGraphContract(ConnectorContract):
    @pytest.fixture
    def contract_system(
        self, sim: GraphSimulator, make_connector: ConnectorFactory
    ) -> ContractSystem:
        anna = ("Anna Virtanen", "Anna.Virtanen@Example.FI")
        clients = sim.add_folder(ASSISTANT, "Clients")
        sim.add_contact(COACH, name="Anna Virtanen", emails=[anna[1], "anna@home.example"])
        sim.add_contact(
            ASSISTANT, name="Anna V", emails=["anna.virtanen@example.fi"], folder=clients
        )
        sim.add_contact(COACH, name="Bob Berg", emails=["bob@example.com"])
        sim.add_event(COACH, subject="Coaching: Anna Virtanen", start=soon(-3), attendees=[anna])
        sim.add_event(
            ASSISTANT,
            subject="Planning",
            start=soon(2),
            organizer=("Bob Berg", "bob@example.com"),
            attendees=[("Assistant", ASSISTANT), anna],
        )
        return ContractSystem(
            connector=make_connector(),
            present_email="anna.virtanen@example.fi",
            present_name="Anna Virtanen",
        )
