from __future__ import annotations

import pytest

from syncaudit.clock import ManualClock
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_mailchimp.simulator import MailchimpSimulator

from .helpers import make_connector


class TestMailchimpContract(ConnectorContract):
    @pytest.fixture
    def contract_system(self, sim: MailchimpSimulator, clock: ManualClock) -> ContractSystem:
        news = sim.add_audience("Newsletter")
        customers = sim.add_audience("Customers")
        sim.add_member(news, "Anna.Virtanen@Example.FI", fname="Anna", lname="Virtanen")
        sim.add_member(customers, "anna.virtanen@example.fi", status="unsubscribed")
        sim.add_member(news, "bob@example.com", fname="Bob", lname="Berg")
        sim.add_member(customers, "carl@example.com")
        sim.archive_member(customers, "carl@example.com")
        return ContractSystem(
            connector=make_connector(sim, clock, page_size=1),
            present_email="Anna.Virtanen@Example.FI",
            present_name="Anna Virtanen",
        )
