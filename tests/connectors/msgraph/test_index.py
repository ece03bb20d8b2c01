"""The connector through the core's sync runner into a SQLite index: addresses linked, mentions
found from free text, and a crash mid-round resumed without loss (the runner keeps the round)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy import select

from syncaudit.clock import ManualClock
from syncaudit.contract import Change, Checkpoint
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.models import Record, Subject
from syncaudit.sync import run_sync
from syncaudit_msgraph._requests import CONTACTS_PAGE
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, soon

pytestmark = SDK_WARNINGS
COACH = MAILBOXES[0]
KEY = Pseudonymizer(b"msgraph-index-test-key-0123456789")


def records(db: Database) -> set[tuple[str, str | None, str, bool]]:
    with db.session() as s:
        rows = s.execute(
            select(Record.external_id, Subject.email, Record.kind, Record.removed_at).join(
                Subject, Subject.id == Record.subject_id
            )
        ).all()
    return {(ext, email, kind, removed is not None) for ext, email, kind, removed in rows}


def test_pull_into_the_index_with_a_crash_in_the_middle(
    sim: GraphSimulator, make_connector: ConnectorFactory, clock: ManualClock, tmp_path: Path
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'index.db'}")
    anna = sim.add_contact(
        COACH, name="Anna Virtanen", emails=["anna@example.fi", "anna@work.example", "a@b.example"]
    )
    mention = sim.add_event(COACH, subject="Prepare notes for Anna Virtanen", start=soon(1))
    for n in range(CONTACTS_PAGE * 2):
        sim.add_contact(COACH, name=f"Person {n}", emails=[f"p{n}@example.com"])
    connector = make_connector([COACH])

    class Crashing:
        """The connector, dying after the first checkpoint of the contacts stream."""

        def __init__(self) -> None:
            self.name, self.profile = connector.name, connector.profile
            self.capabilities = connector.capabilities

        def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
            for change in connector.pull(cursors, full=full):
                yield change
                if isinstance(change, Checkpoint) and change.stream.startswith("contacts:"):
                    raise RuntimeError("power cut")

        def __getattr__(self, name: str) -> object:
            return getattr(connector, name)

    try:
        with contextlib.suppress(RuntimeError):
            run_sync(db, Crashing(), pseudonymizer=KEY, clock=clock)  # type: ignore[arg-type]
        sim.delete_contact(COACH, sim.contact_ids(COACH)[-1], purge=True)  # gone meanwhile
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        rows = records(db)
        live = {r for r in rows if not r[3]}
        assert {
            (anna, e, "contact", False) for e in ("anna@example.fi", "anna@work.example")
        } <= live
        assert (mention, "anna@example.fi", "event_mention", False) in live
        assert len({r[0] for r in live if r[2] == "contact"}) == CONTACTS_PAGE * 2
        assert (mention, COACH, "event_organizer", False) in live
    finally:
        db.dispose()


def test_a_partial_delta_item_leaves_stored_addresses_intact(
    sim: GraphSimulator, make_connector: ConnectorFactory, clock: ManualClock, tmp_path: Path
) -> None:
    """Delta updates carry only the changed properties: a new job title must not drop the
    contact's addresses, nor a new subject the meeting's attendees."""
    db = Database(f"sqlite:///{tmp_path / 'index.db'}")
    anna = sim.add_contact(
        COACH, name="Anna Virtanen", emails=["anna@example.fi", "anna@work.example"]
    )
    meeting = sim.add_event(
        COACH, subject="Coaching", start=soon(1), attendees=[("Anna Virtanen", "anna@example.fi")]
    )
    connector = make_connector([COACH])
    try:
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        before = records(db)
        sim.update_contact(COACH, anna, jobTitle="CEO")
        sim.update_event(COACH, meeting, subject="Coaching (moved room)")
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        assert records(db) == before
        assert (anna, "anna@work.example", "contact", False) in before
        assert (meeting, "anna@example.fi", "event_attendee", False) in before
        # the address list itself changed: that is carried, and it is the whole list
        sim.update_contact(COACH, anna, emails=["anna@example.fi"])
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        assert (anna, "anna@work.example", "contact", True) in records(db)
        with db.session() as s:
            query = select(Record.name).where(Record.external_id == anna)
            names = set(s.scalars(query.where(Record.kind == "contact")))
        assert names == {"Anna Virtanen"}  # the name was not in the update: kept
    finally:
        db.dispose()


def test_a_weekly_series_is_indexed_as_its_master(
    sim: GraphSimulator, make_connector: ConnectorFactory, clock: ManualClock, tmp_path: Path
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'index.db'}")
    start = soon(-60)
    master = sim.add_series(
        COACH,
        subject="Coaching",
        start=start,
        count=52,
        attendees=[("Anna Virtanen", "anna@example.fi")],
    )
    connector = make_connector([COACH])
    try:
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        rows = records(db)
        assert {r for r in rows if r[2].startswith("event")} == {
            (master, COACH, "event_organizer", False),
            (master, "anna@example.fi", "event_attendee", False),
        }
        # renaming the series reaches the master as a partial item: attendees stay indexed
        sim.update_event(COACH, master, subject="Coaching: Anna Virtanen")
        run_sync(db, connector, pseudonymizer=KEY, clock=clock)
        assert (master, "anna@example.fi", "event_attendee", False) in records(db)
    finally:
        db.dispose()
