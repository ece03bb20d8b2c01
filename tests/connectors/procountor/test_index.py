"""Through the core's sync runner into SQLite: the weekly reconcile marks vanished records
removed, and no identity code reaches the database (a scan of its bytes) or the logs."""

from __future__ import annotations

import io
import logging
import random
from datetime import date, timedelta
from pathlib import Path

import structlog
from sqlalchemy import select

from syncaudit import hetu
from syncaudit.clock import ManualClock
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.models import Record
from syncaudit.sync import run_sync
from syncaudit_procountor.simulator import ProcountorSimulator, make_hetu

from .conftest import MakeConnector

KEY = Pseudonymizer(b"procountor-index-test-key-0123456789")


def _removed(db: Database) -> dict[str, bool]:
    with db.session() as s:
        rows = s.execute(select(Record.external_id, Record.removed_at)).all()
    return {ext: removed is not None for ext, removed in rows}


def test_the_weekly_reconcile_marks_vanished_records_removed(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock, tmp_path: Path
) -> None:
    keep = sim.add_invoice(email="pysyy@koti.example", name="Pysyvä", day=date(2025, 6, 1))
    draft = sim.add_invoice(
        email="luonnos@koti.example", name="Luonnos", day=date(2026, 2, 1), status="UNFINISHED"
    )
    db = Database(f"sqlite:///{tmp_path / 'index.db'}")
    try:
        conn = make_connector()
        run_sync(db, conn, pseudonymizer=KEY, clock=clock)
        sim.delete_invoice(draft)  # drafts can be deleted in Procountor
        clock.advance(timedelta(days=1))
        run_sync(db, conn, pseudonymizer=KEY, clock=clock)
        assert _removed(db)[f"invoice:{draft}"] is False, "an increment cannot see deletions"
        clock.advance(timedelta(days=7))
        run_sync(db, conn, pseudonymizer=KEY, clock=clock)
        assert _removed(db) == {f"invoice:{keep}": False, f"invoice:{draft}": True}
    finally:
        db.dispose()


def _db_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _scan(raw: bytes, planted: set[str]) -> list[str]:
    found: list[str] = []
    for text in (raw.decode("latin-1"), raw.decode("utf-8", "replace")):
        found += [code for code in planted if code in text or code.lower() in text]
        found += hetu.find(text, canonical=True)
    return sorted(set(found))


def test_no_identity_code_reaches_the_index_or_the_logs(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock, tmp_path: Path
) -> None:
    sim.populate(600, partners=150, hetu_share=0.5, seed=4)
    code = make_hetu(random.Random(9))
    sim.planted_hetus.add(code)
    sim.add_partner(
        f"Matti Meikäläinen {code}",
        email="matti@koti.example",
        identifier=code,
        customer_number=code,
        contact_person=f"Matti ({code})",
        type="PERSON",
    )
    sim.add_invoice(
        email=f"{code}@hetu.example",  # an identity code typed as an address
        name=f"hetu {code} Matti",
        day=date(2025, 5, 5),
        identifier=code,
        customer_number=code,
        notes=f"HETU {code}",
        additional=f"Asiakkaan henkilötunnus {code}",
    )
    assert len(sim.planted_hetus) > 100
    out = io.StringIO()
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    path = tmp_path / "index.db"
    db = Database(f"sqlite:///{path}")
    try:
        report = run_sync(db, make_connector(), pseudonymizer=KEY, clock=clock)
        assert report.records > 500
    finally:
        db.dispose()
    raw = _db_bytes(path)
    assert b"matti@koti.example" in raw, "the scan reads the database the records are in"
    assert _scan(raw, sim.planted_hetus) == []
    assert _scan(out.getvalue().encode(), sim.planted_hetus) == []
    assert "identity_codes_removed" in out.getvalue()
