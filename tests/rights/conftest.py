"""A small register across the three simulated systems, and an App over it.

People (T0 = the `clock` fixture's start, 2026-03-02):
- Anna Virtanen (anna@example.fi): Outlook contact; a group session on 2020-06-01 with Bob;
  Mailchimp member of both audiences since 2019-04-01; buyer on invoice 1001 (2020-05-06) and
  recipient on invoice 1002 (2020-05-20), whose buyer is Bob's company.
- Bob Berg (bob@example.com): that session; Newsletter member since 2019-04-01; buyer on 1002
  and on invoice 1003 (2023-01-10).
- Cleo Koski (cleo@example.org): Newsletter member since 2025-02-01.
- Dan Dahl (dan@example.net): an Outlook contact only (no date anywhere).
The coach's mailbox (coach@example.fi) organises the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.testing import make_settings
from syncaudit_accounting import corpus
from syncaudit_accounting.model import BUYER, RECIPIENT
from syncaudit_mailchimp.simulator import MailchimpSimulator
from syncaudit_msgraph.simulator import GraphSimulator

COACH = "coach@example.fi"
ANNA = ("Anna Virtanen", "anna@example.fi")
BOB = ("Bob Berg", "bob@example.com")
CLEO = ("Cleo Koski", "cleo@example.org")
DAN = ("Dan Dahl", "dan@example.net")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=UTC)


@dataclass
class World:
    graph: GraphSimulator
    mailchimp: MailchimpSimulator
    exports: Path
    clock: ManualClock
    db_url: str
    audiences: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    apps: list[App] = field(default_factory=list)

    def systems(self, *, manual: bool = False) -> list[dict[str, Any]]:
        tables: list[dict[str, Any]] = [
            self.graph.settings([COACH], calendar_past_days=4000),
            {
                "name": "newsletter",
                "type": "mailchimp",
                "api_key_env": "SIM_MC_KEY",
                "base_url": self.mailchimp.url,
            },
            {"name": "accounting", "type": "accounting_export", "path": str(self.exports)},
        ]
        if manual:
            tables.append(
                {"name": "mailmunch", "type": "manual", "country": "US", "vendor": "Mailmunch"}
            )
        return tables

    def app(self, *, manual: bool = False, **extra: Any) -> App:
        env = {"SIM_GRAPH_SECRET": self.graph.client_secret, "SIM_MC_KEY": self.mailchimp.api_key}
        raw = {"controller": {"name": "Valmennus Oy", "email": "info@valmennus.example"}}
        raw.update(extra)
        settings = make_settings(self.db_url, self.systems(manual=manual), extra=raw, env=env)
        app = App(settings, clock=self.clock)
        self.apps.append(app)
        return app


def _invoice(
    number: str, issued: date, buyer: tuple[str, str], recipient: str | None = None
) -> bytes:
    plan = corpus.InvoicePlan(
        number=number,
        date=issued,
        buyer=corpus.PartyPlan(
            role=BUYER,
            email=buyer[1],
            organisation=f"{buyer[0].split()[1]} Consulting Oy" if recipient else buyer[0],
            contact_person=buyer[0] if recipient else None,
            street="Koulukuja 2",
            postcode="00100",
            town="Helsinki",
        ),
        recipient=(
            corpus.PartyPlan(role=RECIPIENT, email=recipient, organisation=None)
            if recipient
            else None
        ),
        rows=(("Yksilövalmennus 60 min", "120,00"),),
    )
    return corpus.finvoice_file(plan, "3.0")


@pytest.fixture
def world(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[World]:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "lasku_1001.xml").write_bytes(_invoice("1001", date(2020, 5, 6), ANNA))
    (exports / "lasku_1002.xml").write_bytes(
        _invoice("1002", date(2020, 5, 20), BOB, recipient=ANNA[1])
    )
    (exports / "lasku_1003.xml").write_bytes(_invoice("1003", date(2023, 1, 10), BOB))
    with GraphSimulator() as graph, MailchimpSimulator(clock=clock.now) as mailchimp:
        w = World(graph=graph, mailchimp=mailchimp, exports=exports, clock=clock, db_url=db_url)
        graph.add_mailbox(COACH, "Coach")
        graph.add_contact(COACH, name=ANNA[0], emails=[ANNA[1]], mobilePhone="+358 40 111 2222")
        graph.add_contact(COACH, name=DAN[0], emails=[DAN[1]])
        w.events["group"] = graph.add_event(
            COACH,
            subject="Group session: Anna Virtanen, Bob Berg",
            start=at(2020, 6, 1),
            attendees=[ANNA, BOB],
        )
        clock.set(at(2019, 4, 1))
        news = w.audiences["news"] = mailchimp.add_audience("Newsletter")
        customers = w.audiences["customers"] = mailchimp.add_audience("Customers")
        mailchimp.add_member(news, ANNA[1], fname="Anna", lname="Virtanen")
        mailchimp.add_member(customers, ANNA[1], fname="Anna", lname="Virtanen")
        mailchimp.add_member(news, BOB[1], fname="Bob", lname="Berg")
        clock.set(at(2025, 2, 1))
        mailchimp.add_member(news, CLEO[1], fname="Cleo", lname="Koski")
        clock.set(T0)
        yield w
        for app in w.apps:
            app.close()


MakeApp = Callable[..., App]
