"""`syncaudit demo`: a Mailchimp simulator with a newsletter and a customer audience."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from syncaudit.contract import DemoPerson, DemoSystem
from syncaudit_mailchimp.simulator import MailchimpSimulator

API_KEY_ENV = "SYNCAUDIT_DEMO_MAILCHIMP_KEY"


def start(name: str, workdir: Path, people: Sequence[DemoPerson]) -> DemoSystem:
    sim = MailchimpSimulator().start()
    news = sim.add_audience("Uutiskirje")
    customers = sim.add_audience("Asiakkaat")
    for index, person in enumerate(people):
        if "newsletter" not in person.appears_in:
            continue
        address = person.email.upper() if index % 4 == 0 else person.email  # as people type
        status = "unsubscribed" if index % 9 == 0 else "subscribed"
        sim.add_member(news, address, fname=person.first, lname=person.last, status=status)
        if index % 2 == 0:
            sim.add_member(customers, person.email.lower(), fname=person.first, lname=person.last)
        if index % 17 == 0:
            sim.archive_member(news, address)

    def bring_back(person: DemoPerson) -> str:
        sim.signup_form(news, person.email, fname=person.first, lname=person.last)
        return "the newsletter's web sign-up form re-subscribed the address"

    table = {
        "name": name,
        "type": "mailchimp",
        "api_key_env": API_KEY_ENV,
        "base_url": sim.url,
        "country": "US",
        "transfer_mechanism": "DPF",
        "transfer_reference": "Intuit Inc. EU-US DPF certification",
        "transfer_checked": "2026-10-01",
    }
    return DemoSystem(
        table=table, env={API_KEY_ENV: sim.api_key}, stop=sim.stop, bring_back=bring_back
    )
