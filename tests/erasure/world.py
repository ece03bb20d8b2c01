"""A small company's systems for erasure tests: the real connectors against their simulators.

Outlook is the Graph simulator (one mailbox), the newsletter the Mailchimp simulator (two
audiences), the books a folder of accounting exports written by the corpus generator, and the
paper archive a manual system. `plant()` puts one person into every system the way they would
really be there; `settings()` builds the App's settings through the real configuration path and
`write_config()` the same as a TOML file for child processes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from syncaudit.app import App
from syncaudit.db import sqlite_path
from syncaudit.testing import CONTRACT_KEY, make_settings
from syncaudit_accounting import corpus
from syncaudit_accounting.model import BUYER
from syncaudit_mailchimp.simulator import MailchimpSimulator
from syncaudit_msgraph.simulator import GraphSimulator

# msgraph-sdk and kiota warn at import time about their own deprecated classes; the imports
# happen lazily, during whichever test first makes a Graph call.
SDK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:This class is deprecated. Please use the generic RequestConfiguration"
        ":DeprecationWarning"
    ),
]

COACH = "coach@example.fi"
GRAPH_SECRET_ENV = "SIM_GRAPH_SECRET"
MAILCHIMP_KEY_ENV = "SIM_MAILCHIMP_KEY"
IDENTITY_KEY_ENV = "SYNCAUDIT_TEST_KEY"

# The person erased in most tests: names the corpus generator and the simulators never make up.
ILONA = ("Ilona.Kallio@Esimerkki.FI", "Ilona Kallio")
BOB = ("bob.berg@example.com", "Bob Berg")  # a bystander: must survive every erasure


@dataclass
class Planted:
    """Where one person was put, to check the remote systems afterwards."""

    email: str
    name: str
    contact_id: str | None = None
    shared_contact_id: str | None = None  # a contact holding the person and another address
    event_id: str | None = None
    audiences: tuple[str, ...] = ()
    invoice: str | None = None


@dataclass
class World:
    graph: GraphSimulator
    mailchimp: MailchimpSimulator
    exports: Path
    now: Callable[[], datetime]
    audiences: tuple[str, str] = ("", "")
    mailboxes: tuple[str, ...] = (COACH,)  # the Outlook system's mailboxes
    planted: list[Planted] = field(default_factory=list)
    _invoice_no: int = 90001

    # -- the systems -------------------------------------------------------------------------

    def systems(
        self,
        *,
        outlook: bool = True,
        newsletter: bool = True,
        books: bool = True,
        paper: bool = True,
        mailchimp: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        tables: list[dict[str, Any]] = []
        if outlook:
            tables.append({**self.graph.settings(list(self.mailboxes)), "name": "outlook"})
        if newsletter:
            tables.append(
                {
                    "name": "newsletter",
                    "type": "mailchimp",
                    "api_key_env": MAILCHIMP_KEY_ENV,
                    "base_url": self.mailchimp.url,
                    "audiences": list(self.audiences),
                    "country": "US",
                    "transfer_mechanism": "DPF",
                    **(mailchimp or {}),
                }
            )
        if books:
            tables.append({"name": "books", "type": "accounting_export", "path": str(self.exports)})
        if paper:
            tables.append(
                {"name": "paper", "type": "manual", "instructions": "Shred the paper card."}
            )
        return tables

    def env(
        self, *, graph_secret: str | None = None, mailchimp_key: str | None = None
    ) -> dict[str, str]:
        return {
            GRAPH_SECRET_ENV: graph_secret or self.graph.client_secret,
            MAILCHIMP_KEY_ENV: mailchimp_key or self.mailchimp.api_key,
        }

    def settings(
        self,
        database_url: str,
        *,
        extra: dict[str, Any] | None = None,
        graph_secret: str | None = None,
        mailchimp_key: str | None = None,
        **which: Any,
    ) -> Any:
        """Settings through the real config path; `graph_secret` / `mailchimp_key` replace the
        right credentials (an expired secret, a revoked key)."""
        return make_settings(
            database_url,
            self.systems(**which),
            extra=extra,
            env=self.env(graph_secret=graph_secret, mailchimp_key=mailchimp_key),
        )

    def write_config(self, path: Path, database_url: str, **which: Any) -> dict[str, str]:
        """The same systems as a config file; returns the environment a child process needs."""
        lines = [f"[database]\nurl = {json.dumps(database_url)}\n"]
        lines.append(f"[identity]\nkey_env = {json.dumps(IDENTITY_KEY_ENV)}\n")
        for table in self.systems(**which):
            lines.append("[[systems]]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
            lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")
        return {**self.env(), IDENTITY_KEY_ENV: CONTRACT_KEY.hex()}

    # -- people ------------------------------------------------------------------------------

    def plant(
        self,
        email: str,
        name: str,
        *,
        outlook: bool = True,
        shared_contact: bool = False,
        event: bool = False,
        newsletter: bool = True,
        invoice: bool = True,
    ) -> Planted:
        planted = Planted(email=email, name=name)
        first, _, last = name.partition(" ")
        if outlook:
            planted.contact_id = self.graph.add_contact(COACH, name=name, emails=[email])
        if shared_contact:
            planted.shared_contact_id = self.graph.add_contact(
                COACH, name=f"{last} family", emails=[email, f"family.{last.lower()}@example.org"]
            )
        if event:
            planted.event_id = self.graph.add_event(
                COACH,
                subject=f"Coaching: {name}",
                start=(self.now() + timedelta(days=1)).replace(microsecond=0),
                attendees=[(name, email)],
            )
        if newsletter:
            for audience in self.audiences:
                self.mailchimp.add_member(audience, email, fname=first, lname=last)
            planted.audiences = self.audiences
        if invoice:
            planted.invoice = self._write_invoice(email, name)
        self.planted.append(planted)
        return planted

    def _write_invoice(self, email: str, name: str) -> str:
        number = str(self._invoice_no)
        self._invoice_no += 1
        buyer = corpus.PartyPlan(
            role=BUYER,
            email=email,
            organisation=name,
            street="Puistokatu 4",
            postcode="33100",
            town="Tampere",
            expected_name=name,
        )
        plan = corpus.InvoicePlan(
            number=number,
            date=date(2025, 11, 3),
            buyer=buyer,
            rows=(("Yksilövalmennus 60 min", "120,00"),),
        )
        folder = self.exports / "people"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"finvoice_{number}.xml").write_bytes(corpus.finvoice_file(plan, "3.0"))
        return number


@contextmanager
def open_world(
    root: Path, *, now: Callable[[], datetime], background_invoices: int = 26
) -> Iterator[World]:
    """Both simulators running on loopback and an export folder with other customers in it."""
    exports = root / "exports"
    corpus.generate(
        exports / "firm",
        invoices=background_invoices,
        seed=3,
        variants=("finvoice-3.0", "csv-procountor-fi"),
    )
    with GraphSimulator() as graph, MailchimpSimulator(clock=now, max_connections=50) as chimp:
        graph.add_mailbox(COACH, "Coach")
        world = World(graph=graph, mailchimp=chimp, exports=exports, now=now)
        world.audiences = (chimp.add_audience("Newsletter"), chimp.add_audience("Customers"))
        yield world


# ---------------------------------------------------------------------------------------------
# Looking for plaintext


def table_hits(app: App, needles: Sequence[str]) -> list[str]:
    """`table: needle` for every needle found (case-insensitively) in any row of any table."""
    hits = []
    with app.db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            blob = "\n".join(repr(tuple(r)) for r in rows).lower()
            hits += [f"{table}: {n}" for n in needles if n.lower() in blob]
    return hits


def file_hits(app: App, needles: Sequence[str]) -> list[str]:
    """`file: needle` for every needle in the raw bytes of the SQLite file and its WAL."""
    path = sqlite_path(app.db.engine.url)
    assert path is not None
    hits = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            data = candidate.read_bytes().lower()
            hits += [f"{candidate.name}: {n}" for n in needles if n.lower().encode() in data]
    return hits
