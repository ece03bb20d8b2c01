"""Through the App: sync, erase with the worker, and the end of a legal hold — the invoices and
the partner entry kept, the firm asked for the rest, then for all of it when the hold ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure.legal_hold import ORIGIN, expire_holds
from syncaudit.erasure.requests import confirm, list_requests, show, submit
from syncaudit.erasure.worker import worker_slot
from syncaudit.models import Record
from syncaudit.testing import make_settings
from syncaudit_procountor.simulator import ProcountorSimulator

from .conftest import env_for, system_table

ANNA = "anna.makela@koti.example"


@pytest.fixture
def app(sim: ProcountorSimulator, clock: ManualClock, tmp_path: Path) -> Iterator[App]:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'index.db'}",
        [system_table(sim)],
        env=env_for(sim),
        extra={"controller": {"language": "fi", "name": "Valmennus Oy"}},
    )
    application = App(settings, clock=clock)
    yield application
    application.close()


def test_erasure_keeps_vouchers_asks_the_firm_and_asks_again_when_the_hold_ends(
    app: App, sim: ProcountorSimulator, clock: ManualClock
) -> None:
    partner = sim.add_partner("Anna Mäkelä", email=ANNA, customer_number="4711")
    old_partner = sim.add_partner("Anna M", email=ANNA.upper(), customer_number="1200")
    sim.add_invoice(email=ANNA, name="Anna Mäkelä", day=date(2025, 2, 3), partner_id=partner)
    sim.add_invoice(email=ANNA, name="Anna Mäkelä", day=date(2017, 6, 1), partner_id=old_partner)
    sim.add_invoice(email="bob@example.com", name="Bob Berg", day=date(2025, 2, 3))
    [report] = app.sync()
    assert (report.status, report.records) == ("ok", 5)

    request = submit(app, ANNA, reason="asked by email")
    with worker_slot(app) as worker:
        worker.run_until_idle()
    [task] = show(app, request)["tasks"]
    assert task["state"] == "awaiting_manual"
    todo = task["instructions"]
    assert f"business partner {old_partner} (customer 1200)" in todo and "19 artiklan" in todo
    assert "ask the accounting firm to delete it at source" in todo  # the 2017 invoice
    assert "anna" not in todo.lower()
    confirm(app, request, "procountor", note="the firm deleted the old entry")
    assert show(app, request)["state"] == "completed"
    with app.db.session() as s:
        kept = s.scalars(select(Record).where(Record.restricted_at.is_not(None))).all()
        held = sorted((r.kind, str(r.legal_hold_until), r.name) for r in kept)
    assert ("business_partner", "2031-12-31", None) in held
    assert ("invoice_buyer", "2031-12-31", None) in held

    clock.set(datetime(2032, 1, 2, 9, 0, tzinfo=UTC))
    opened = expire_holds(app)
    assert {o.system for o in opened} == {"procountor"}
    [open_request] = [r for r in list_requests(app, open_only=True) if r["origin"] == ORIGIN]
    [ended] = show(app, open_request["id"])["tasks"]
    notice = ended["instructions"]
    assert "Laskujen henkilötietojen" in notice and "kumppanirekisteri" in notice
    assert f"{partner} " in notice and "4711" in notice and "31.12.2031" in notice
    assert "anna" not in notice.lower() and "@" not in notice
    with app.db.session() as s:
        assert audit.verify(s).ok
