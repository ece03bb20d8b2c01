"""The fixed month every report test reads: March 2026 at a small coaching company.

Built through the engine's own APIs (sync, submit, worker, confirm, deadline watch) on a manual
clock, so every time in it is known. February is there too, with its monthly report recorded,
so March shows changes since the previous report.

March holds: erasures completed in time; one breach (a manual step confirmed after the 48 h);
one legal hold (two invoices retained, one of them ending within 90 days); one resurrection
(the person re-added to the CRM, erased again); manual confirmations; an access request and
an objection; a US sign-up form tool without any safeguard, a newsletter on a stale DPF check;
a failed sync; one person inactive for over five years.

Three facts are set directly in the tables because no connector of the test kit produces them:
an invoice whose retention ends soon, a subject's last activity in 2020, and the access and
objection requests (their engine belongs to the rights area).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.deadlines import watch
from syncaudit.erasure.worker import Worker
from syncaudit.errors import PermanentError
from syncaudit.models import ErasureRequest, Record, Subject
from syncaudit.reports.monthly import write_monthly_report
from syncaudit.testing import FakePlugin, FakeSystem, make_settings

ANNA = ("anna.virtanen@example.fi", "Anna Virtanen")
BOB = ("bob.berg@example.fi", "Bob Berg")
CARL = ("carl.nyman@example.fi", "Carl Nyman")
DINA = ("dina.koski@example.fi", "Dina Koski")
EEVA = ("eeva.salo@example.fi", "Eeva Salo")
FRANK = ("frank.lind@example.fi", "Frank Lind")
PEOPLE = (ANNA, BOB, CARL, DINA, EEVA, FRANK)

CONTROLLER = {
    "name": "Valmennus Virtanen Oy",
    "business_id": "1234567-8",
    "address": "Esimerkkikatu 1, 00100 Helsinki",
    "email": "tietosuoja@example.fi",
    "language": "fi",
}
REPORTS = {
    "timezone": "Europe/Helsinki",
    "security_measures": ["Full-disk encryption", "Multi-factor authentication"],
}
ACTIVITIES = [
    {
        "name": "Coaching clients",
        "purposes": ["Coaching and training services", "Invoicing"],
        "legal_bases": ["contract", "legal_obligation"],
        "legal_basis_note": "Accounting Act 1336/1997 for invoices",
        "subject_categories": ["clients", "contact persons of client companies"],
        "data_categories": ["name", "email address", "billing address"],
        "recipients": ["accounting firm (processor)"],
        "systems": ["crm", "books", "paper"],
        "retention": "Invoices 6 years after the financial year; other data 2 years after "
        "the assignment ends",
        "security_measures": ["Paper files in a locked cabinet"],
    },
    {
        "name": "Newsletter",
        "purposes": ["Marketing newsletter"],
        "legal_bases": ["consent"],
        "subject_categories": ["subscribers"],
        "data_categories": ["email address", "name"],
        "systems": ["newsletter", "forms"],
        "retention": "Until the person unsubscribes or asks for erasure",
    },
]

SYSTEMS_FEB: list[dict[str, Any]] = [
    {"name": "crm", "type": "fake", "mode": "erase", "vendor": "CRM Oy", "country": "FI",
     "transfer_mechanism": "EEA", "data_categories": ["name", "email address"]},
    {"name": "books", "type": "fake", "mode": "legal_hold", "vendor": "Procountor",
     "country": "FI", "transfer_mechanism": "EEA",
     "data_categories": ["name", "email address", "billing address"]},
    {"name": "newsletter", "type": "fake", "mode": "erase", "vendor": "Mailchimp",
     "country": "US", "transfer_mechanism": "SCC", "transfer_reference": "Mailchimp DPA, SCC",
     "transfer_checked": "2025-01-10", "data_categories": ["email address", "name"]},
    {"name": "paper", "type": "fake", "mode": "manual", "vendor": "own archive",
     "country": "FI", "transfer_mechanism": "EEA", "data_categories": ["contracts"]},
]  # fmt: skip
SYSTEMS_MAR: list[dict[str, Any]] = [
    SYSTEMS_FEB[0],
    SYSTEMS_FEB[1],
    {**SYSTEMS_FEB[2], "transfer_mechanism": "DPF",
     "transfer_reference": "Intuit Inc. DPF certification"},
    SYSTEMS_FEB[3],
    {"name": "forms", "type": "fake", "mode": "erase", "vendor": "Mailmunch", "country": "US",
     "transfer_mechanism": "unknown", "data_categories": ["email address"]},
]  # fmt: skip


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Scenario:
    db_url: str
    clock: ManualClock
    app: App  # March configuration
    feb_app: App
    requests: dict[str, str] = field(default_factory=dict)  # role -> request id
    out_dir: Path | None = None

    def close(self) -> None:
        self.app.close()
        self.feb_app.close()


def settings(db_url: str, systems: list[dict[str, Any]]) -> Any:
    names = {system["name"] for system in systems}
    activities = [{**a, "systems": [n for n in a["systems"] if n in names]} for a in ACTIVITIES]
    extra = {"controller": CONTROLLER, "reports": REPORTS, "activities": activities}
    return make_settings(db_url, systems, extra=extra)


def build(db_url: str, out_dir: Path) -> Scenario:
    FakePlugin.systems.clear()
    clock = ManualClock(utc(2026, 2, 20, 9))
    feb = App(settings(db_url, SYSTEMS_FEB), clock=clock)
    mar = App(settings(db_url, SYSTEMS_MAR), clock=clock)
    scene = Scenario(db_url=db_url, clock=clock, app=mar, feb_app=feb, out_dir=out_dir)
    fakes = {name: FakePlugin.systems.setdefault(name, FakeSystem()) for name in
             ("crm", "books", "newsletter", "paper", "forms")}  # fmt: skip
    _february(feb, clock, fakes, out_dir)
    _march(scene, clock, fakes)
    FakePlugin.systems.clear()
    return scene


def _february(app: App, clock: ManualClock, fakes: dict[str, FakeSystem], out_dir: Path) -> None:
    for i, person in enumerate((ANNA, BOB, CARL, EEVA)):
        fakes["crm"].put(f"c{i + 1}", person)
    fakes["books"].put("1001", ANNA)
    fakes["books"].put("1002", ANNA)
    for i, person in enumerate((ANNA, BOB, CARL)):
        fakes["newsletter"].put(f"m{i + 1}", person)
    app.sync()
    clock.set(utc(2026, 2, 25, 9))
    app.sync()
    clock.set(utc(2026, 3, 1, 6))  # 08:00 in Helsinki: February is over
    write_monthly_report(app, "2026-02", out_dir, lang="fi", fmt="json")


def _work(app: App) -> None:
    Worker(app).run_until_idle()
    watch(app)


def _march(scene: Scenario, clock: ManualClock, fakes: dict[str, FakeSystem]) -> None:
    app = scene.app
    clock.set(utc(2026, 3, 2, 9))
    fakes["crm"].put("c5", FRANK)
    fakes["books"].put("1003", FRANK)
    fakes["forms"].put("f1", DINA)
    fakes["forms"].put("f2", ANNA)
    app.sync()

    clock.set(utc(2026, 3, 3, 10))  # Anna: every system; the paper archive by hand, in time
    scene.requests["anna"] = erasure.submit(app, ANNA[0], reason="asked by email")
    clock.set(utc(2026, 3, 3, 10, 30))
    _work(app)
    clock.set(utc(2026, 3, 3, 14))
    erasure.confirm(app, scene.requests["anna"], "paper", note="shredded")

    _access_request(app, "A-20260305-000001", utc(2026, 3, 5, 8), utc(2026, 3, 6, 8))

    clock.set(utc(2026, 3, 10, 10))  # Bob: two systems, no manual step
    scene.requests["bob"] = erasure.submit(
        app, BOB[0], systems=["crm", "newsletter"], reason="unsubscribed and asked"
    )
    clock.set(utc(2026, 3, 10, 11, 30))
    _work(app)

    clock.set(utc(2026, 3, 12, 9))  # the CRM is down for one pull
    fakes["crm"].fail_next.append(PermanentError("CRM API answered 500 to every page"))
    with contextlib.suppress(PermanentError):  # recorded as a failed sync run
        app.sync(["crm"])

    clock.set(utc(2026, 3, 15, 9))  # a web form put Anna back into the CRM
    fakes["crm"].put("c9", ANNA)
    app.sync(["crm"])
    with app.db.session() as s:
        scene.requests["resurrection"] = s.scalars(
            select(ErasureRequest.id).where(ErasureRequest.origin == "resurrection")
        ).one()
    clock.set(utc(2026, 3, 15, 9, 30))
    _work(app)

    clock.set(utc(2026, 3, 20, 10))  # Carl: the manual step is confirmed a day late
    scene.requests["carl"] = erasure.submit(app, CARL[0], reason="asked by phone")
    clock.set(utc(2026, 3, 20, 10, 20))
    _work(app)
    clock.set(utc(2026, 3, 22, 12))
    watch(app)  # the breach is recorded as it happens
    clock.set(utc(2026, 3, 23, 9))
    erasure.confirm(app, scene.requests["carl"], "paper", note="archive box found")

    clock.set(utc(2026, 3, 28, 9))
    app.sync()
    _objection(app, "O-20260331-000001", utc(2026, 3, 31, 20))
    _set_facts(app)
    clock.set(utc(2026, 4, 1, 6))  # 09:00 in Helsinki on 1 April: the report is made


def _access_request(app: App, request_id: str, received: datetime, completed: datetime) -> None:
    with app.db.session() as s, s.begin():
        s.add(
            ErasureRequest(
                id=request_id, kind="access", pseudonym=app.pseudo.of_email(DINA[0]),
                origin="operator", received_at=received, deadline=received + timedelta(hours=48),
                created_at=received, state="completed", completed_at=completed,
            )
        )  # fmt: skip


def _objection(app: App, request_id: str, received: datetime) -> None:
    with app.db.session() as s, s.begin():
        s.add(
            ErasureRequest(
                id=request_id, kind="objection", pseudonym=app.pseudo.of_email(FRANK[0]),
                origin="operator", received_at=received, deadline=received + timedelta(hours=48),
                created_at=received, state="received",
            )
        )  # fmt: skip


def _set_facts(app: App) -> None:
    with app.db.session() as s, s.begin():
        s.execute(
            update(Record)
            .where(Record.system == "books", Record.external_id == "1002")
            .values(legal_hold_until=date(2026, 5, 15))
        )
        s.execute(
            update(Subject)
            .where(Subject.pseudonym == app.pseudo.of_email(EEVA[0]))
            .values(last_activity=utc(2020, 5, 1, 12))
        )
