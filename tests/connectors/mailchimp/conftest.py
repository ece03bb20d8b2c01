from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncaudit.clock import ManualClock
from syncaudit_mailchimp.simulator import MailchimpSimulator

from .helpers import START


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[MailchimpSimulator]:
    with MailchimpSimulator(clock=clock.now) as simulator:
        yield simulator


@pytest.fixture
def two_audiences(sim: MailchimpSimulator) -> tuple[str, str]:
    """Two audiences sharing Anna (different letter case) and Bob; one archived member each."""
    news = sim.add_audience("Newsletter")
    customers = sim.add_audience("Customers")
    sim.add_member(news, "Anna.Virtanen@Example.FI", fname="Anna", lname="Virtanen")
    sim.add_member(customers, "anna.virtanen@example.fi", fname="Anna", lname="Virtanen")
    sim.add_member(news, "bob@example.com", fname="Bob", lname="Berg", status="unsubscribed")
    sim.add_member(customers, "BOB@EXAMPLE.COM", fname="Bob", lname="Berg", status="pending")
    sim.add_member(news, "cleo@example.com", status="cleaned", fname="Cleo")
    sim.add_member(customers, "tero@example.com", status="transactional", lname="Tero")
    sim.add_member(news, "old.news@example.com", fname="Olli", lname="Old")
    sim.archive_member(news, "old.news@example.com")
    sim.add_member(customers, "old.cust@example.com", fname="Oona", lname="Old")
    sim.archive_member(customers, "old.cust@example.com")
    return news, customers
