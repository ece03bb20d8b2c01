"""The shared connector contract, run against the simulator with the real SDK."""

from __future__ import annotations

import pytest

from syncaudit.clock import ManualClock
from syncaudit.retry import RetryPolicy
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_mailchimp.simulator import MailchimpSimulator

from .helpers import MailchimpFaults, make_connector

ANNA = "Anna.Virtanen@Example.FI"


class TestMailchimpContract(ConnectorContract):
    supports_incremental_removal = False  # deleted members show at the next reconcile

    @pytest.fixture
    def contract_system(self, sim: MailchimpSimulator, clock: ManualClock) -> ContractSystem:
        news = sim.add_audience("Newsletter")
        customers = sim.add_audience("Customers")
        sim.add_member(news, ANNA, fname="Anna", lname="Virtanen")
        sim.add_member(customers, ANNA.lower(), status="unsubscribed")
        sim.add_member(news, "bob@example.com", fname="Bob", lname="Berg")
        sim.add_member(customers, "carl@example.com")
        sim.archive_member(customers, "carl@example.com")
        policy = RetryPolicy(max_attempts=2, jitter=0.0, base_seconds=0.5)
        return ContractSystem(
            connector=make_connector(sim, clock, page_size=1, policy=policy, timeout_seconds=1),
            present_email=ANNA,
            present_name="Anna Virtanen",
            faults=MailchimpFaults(sim),
            remove_person=lambda: [sim.delete_permanent(a, ANNA) for a in (news, customers)],
            add_person=lambda email, name: sim.add_member(news, email, fname=name),
        )
