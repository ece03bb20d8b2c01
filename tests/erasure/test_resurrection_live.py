"""A person erased from Mailchimp signs up again through the hosted form: the next sync notices
the tombstoned address, stores no plaintext, records the resurrection (row and audit entry) and
queues an erasure that the worker carries out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.forget import purge_subject
from syncaudit.erasure.worker import Worker
from syncaudit.models import AuditEntry, ErasureRequest, ErasureTask, Resurrection, Subject
from syncaudit_mailchimp.simulator import subscriber_hash

from .world import COACH, ILONA, World, file_hits, table_hits

EMAIL, NAME = ILONA


def test_a_sign_up_after_erasure_is_caught_and_erased_again(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    world.plant(EMAIL, NAME, outlook=False, invoice=False)
    app = App(
        world.settings(
            f"sqlite:///{tmp_path / 'index.db'}", outlook=False, books=False, paper=False
        ),
        clock=clock,
    )
    try:
        app.sync()
        first = erasure.submit(app, EMAIL)
        Worker(app).run_until_idle()
        assert erasure.show(app, first)["state"] == "completed"
        news, customers = world.audiences

        clock.advance(timedelta(days=3))
        form = requests.post(
            world.mailchimp.form_url,
            params={"id": news},
            data={"EMAIL": EMAIL.lower(), "FNAME": "Ilona", "LNAME": "Kallio"},
            timeout=5,
        )
        assert form.status_code == 200
        assert world.mailchimp.member(news, EMAIL) is not None

        (report,) = app.sync()
        assert report.resurrections == 1
        pseudonym = app.pseudo.of_email(EMAIL)
        with app.db.session() as s:
            row = s.scalars(select(Resurrection)).one()
            assert (row.pseudonym, row.system, row.action) == (pseudonym, "newsletter", "erase")
            assert row.stream == f"audience:{news}"
            assert row.external_id == subscriber_hash(EMAIL)
            second = row.request_id
            assert second is not None
            assert second != first
            request = s.get(ErasureRequest, second)
            assert request is not None
            assert request.origin == "resurrection"
            detected = s.scalars(
                select(AuditEntry).where(AuditEntry.event == "resurrection.detected")
            ).one()
            assert (detected.subject, detected.request_id) == (pseudonym, second)
            assert detected.system == "newsletter"
            # The index kept no plaintext: only the open request holds the address.
            assert s.scalars(select(Subject).where(Subject.email.is_not(None))).all() == []

        Worker(app).run_until_idle()
        assert erasure.show(app, second)["state"] == "completed"
        assert world.mailchimp.is_forgotten(news, EMAIL)
        assert world.mailchimp.member(customers, EMAIL) is None
        deletes = [e.effect for e in world.mailchimp.requests if e.effect]
        hashed = subscriber_hash(EMAIL)
        assert deletes.count(f"delete-permanent:{news}:{hashed}") == 2  # once per erasure
        assert deletes.count(f"delete-permanent:{customers}:{hashed}") == 1

        app.sync()  # gone again: nothing more to report
        with app.db.session() as s:
            assert len(s.scalars(select(Resurrection)).all()) == 1
            assert audit.verify(s).ok
        assert table_hits(app, [EMAIL, NAME]) == []
    finally:
        app.close()


def test_a_sign_up_while_the_request_is_still_open_is_erased_within_it(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    """The Mailchimp task is verified, the paper archive not yet confirmed, and the person signs
    up again. No tombstone exists yet (the request is open), so the sync stores the member as
    usual; the worker sees a record synced after its system was verified, reopens that task
    (recorded as a resurrection) and deletes the same member (same id) again before the request
    can complete."""
    world.plant(EMAIL, NAME, outlook=False, invoice=False)
    url = f"sqlite:///{tmp_path / 'index.db'}"
    app = App(world.settings(url, outlook=False, books=False), clock=clock)
    try:
        app.sync()
        request_id = erasure.submit(app, EMAIL)
        Worker(app).run_until_idle()
        assert erasure.show(app, request_id)["state"] == "in_progress"
        news = world.audiences[0]
        clock.advance(timedelta(hours=2))
        world.mailchimp.signup_form(news, EMAIL, fname="Ilona")

        app.sync()
        assert Worker(app).run_until_idle() == 1
        with app.db.session() as s:
            row = s.scalars(select(Resurrection)).one()
            assert (row.request_id, row.system, row.action) == (request_id, "newsletter", "erase")
            assert row.external_id == subscriber_hash(EMAIL)
        events = [e["event"] for e in erasure.show(app, request_id)["timeline"]]
        assert events.count("resurrection.detected") == 1
        assert events.count("record.erased") == 3  # both audiences, then the sign-up
        tasks = {t["system"]: t["state"] for t in erasure.show(app, request_id)["tasks"]}
        assert tasks == {"newsletter": "verified", "paper": "awaiting_manual"}
        assert world.mailchimp.is_forgotten(news, EMAIL)

        erasure.confirm(app, request_id, "paper")
        assert erasure.show(app, request_id)["state"] == "completed"
        with app.db.session() as s:
            assert audit.verify(s).ok
        assert table_hits(app, [EMAIL, NAME]) == []
    finally:
        app.close()


def _postgres_file_hits(app: App, needles: list[str]) -> list[str]:
    """Needles in the raw bytes of this test's PostgreSQL tables, TOAST and indexes."""
    with app.db.engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
        data_dir = Path(conn.exec_driver_sql("SHOW data_directory").scalar_one())
        files = conn.exec_driver_sql(
            "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') "
            "UNION SELECT t.relname, pg_relation_filepath(t.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t "
            "ON t.oid = c.reltoastrelid WHERE n.nspname = current_schema()"
        ).all()
    hits = []
    for name, relative in files:
        for segment in sorted((data_dir / relative).parent.glob(Path(relative).name + "*")):
            try:
                data = segment.read_bytes().lower()
            except PermissionError:
                pytest.skip(f"cannot read PostgreSQL's files as this user ({segment})")
            hits += [f"{name}: {n}" for n in needles if n.lower().encode() in data]
    return hits


def test_a_resurrected_address_is_never_stored_on_its_way_out(
    world: World, clock: ManualClock, db_url: str
) -> None:
    """Only the tombstone is here (the person was erased long ago; the database holds no byte of
    the address). A form and a re-imported contact bring the person back into Mailchimp and
    Outlook: the sync, the queued request and its worker erase them again by the records found
    and the pseudonym alone; at no point does a table or a database file hold the address."""
    planted = world.plant(EMAIL, NAME, invoice=False)
    app = App(world.settings(db_url, books=False, paper=False), clock=clock)
    try:
        pseudonym = app.pseudo.of_email(EMAIL)
        with app.db.session() as s, s.begin():
            purge_subject(s, pseudonym, "E-20200101-000000", clock.now())

        app.sync()
        with app.db.session() as s:
            (request,) = s.scalars(select(ErasureRequest)).all()
            assert (request.origin, request.email, request.names) == ("resurrection", None, [])
            refs = {t.system: len(t.refs or []) for t in s.scalars(select(ErasureTask))}
        assert refs == {"outlook": 1, "newsletter": 2}  # the contact; both audiences
        needles = [EMAIL, EMAIL.lower(), NAME]
        assert table_hits(app, needles) == []

        Worker(app).run_until_idle()
        view = erasure.show(app, request.id)
        assert view["state"] == "completed", view
        assert world.graph.contact(COACH, planted.contact_id or "") is None
        for audience in world.audiences:
            assert world.mailchimp.is_forgotten(audience, EMAIL)
        (again,) = app.sync()[:1]
        assert sum(r.resurrections for r in app.sync()) == 0  # gone from every system
        assert again.resurrections == 0
        assert table_hits(app, needles) == []
        raw_hits = file_hits if app.db.is_sqlite else _postgres_file_hits
        assert raw_hits(app, needles) == []
        assert raw_hits(app, [pseudonym])  # the scan does see what is stored: the tombstone
        with app.db.session() as s:
            assert audit.verify(s).ok
    finally:
        app.close()
