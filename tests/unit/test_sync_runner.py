from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from syncaudit.clock import ManualClock
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.models import Record, Subject, SyncRun, SyncState
from syncaudit.sync import run_sync
from syncaudit.testing import FakeConnector, FakeSystem


def _sync(
    db: Database, conn: FakeConnector, pseudo: Pseudonymizer, clock: ManualClock, full: bool = False
) -> None:
    run_sync(db, conn, pseudonymizer=pseudo, clock=clock, full=full)


def _records(db: Database) -> list[tuple[str, str, str | None, bool]]:
    with db.session() as s:
        rows = s.execute(
            select(Record.external_id, Subject.email, Record.kind, Record.removed_at)
            .join(Subject, Subject.id == Record.subject_id)
            .order_by(Record.external_id, Subject.email, Record.kind)
        ).all()
    return [(ext, email, kind, removed is not None) for ext, email, kind, removed in rows]


def test_full_sync_links_every_address_to_one_subject(db, pseudo, clock) -> None:
    system = FakeSystem()
    system.put("1", ("Anna.Virtanen@Example.FI", "Anna Virtanen"), ("anna@work.example", "Anna"))
    system.put("2", ("anna.virtanen@example.fi", "Anna V"))
    _sync(db, FakeConnector("crm", system, page_size=1), pseudo, clock)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Subject)) == 2
        anna = s.scalar(select(Subject).where(Subject.email == "anna.virtanen@example.fi"))
        assert anna is not None
        assert anna.pseudonym == pseudo.of_email("ANNA.virtanen@example.fi")
        assert anna.display_name == "Anna Virtanen"
        count = s.scalar(select(func.count()).where(Record.subject_id == anna.id))
        assert count == 2


def test_incremental_sync_updates_and_marks_removed_not_dropped(db, pseudo, clock) -> None:
    system = FakeSystem()
    system.put("1", ("a@example.fi", "A A"), ("b@example.fi", "B B"))
    system.put("2", ("c@example.fi", "C C"))
    conn = FakeConnector("crm", system)
    _sync(db, conn, pseudo, clock)
    clock.advance(timedelta(hours=1))
    system.put("1", ("a@example.fi", "A A"))  # b left item 1
    system.delete("2")
    _sync(db, conn, pseudo, clock)
    assert _records(db) == [
        ("1", "a@example.fi", "contact", False),
        ("1", "b@example.fi", "contact", True),
        ("2", "c@example.fi", "contact", True),
    ]
    system.put("2", ("c@example.fi", "C C"))  # back again
    _sync(db, conn, pseudo, clock)
    assert ("2", "c@example.fi", "contact", False) in _records(db)


def test_full_round_marks_items_missing_from_it_removed(db, pseudo, clock) -> None:
    system = FakeSystem()
    system.put("1", ("a@example.fi", "A A"))
    system.put("2", ("c@example.fi", "C C"))
    conn = FakeConnector("crm", system)
    _sync(db, conn, pseudo, clock)
    # Deleted without a trace in the incremental feed (like a Mailchimp permanent delete):
    del system.items["2"]
    _sync(db, conn, pseudo, clock)
    assert ("2", "c@example.fi", "contact", False) in _records(db)
    _sync(db, conn, pseudo, clock, full=True)
    assert ("2", "c@example.fi", "contact", True) in _records(db)


def test_cursor_is_stored_per_stream_and_run_recorded(db, pseudo, clock) -> None:
    system = FakeSystem()
    for i in range(25):
        system.put(str(i), (f"p{i}@example.fi", f"P {i}"))
    _sync(db, FakeConnector("crm", system, page_size=10), pseudo, clock)
    with db.session() as s:
        state = s.get(SyncState, ("crm", "items"))
        assert state is not None
        assert state.cursor == "25"
        assert not state.round_open
        run = s.scalars(select(SyncRun)).one()
        assert (run.status, run.upserts) == ("ok", 25)


def test_mentions_found_by_full_name_in_free_text(db, pseudo, clock) -> None:
    system = FakeSystem()
    system.put("1", ("anna@example.fi", "Anna Virtanen"))
    _sync(db, FakeConnector("crm", system), pseudo, clock)
    from syncaudit.contract import Checkpoint, ItemUpsert

    class Calendar(FakeConnector):
        def pull(self, cursors, *, full=False):  # type: ignore[no-untyped-def]
            yield ItemUpsert(
                stream="cal",
                external_id="ev1",
                observations=(),
                free_text="Coaching: anna VIRTANEN @ Helsinki",
            )
            yield Checkpoint(stream="cal", cursor="x")

    _sync(db, Calendar("cal", FakeSystem()), pseudo, clock)
    assert ("ev1", "anna@example.fi", "event_mention", False) in _records(db)


def test_invalid_addresses_are_skipped_not_fatal(db, pseudo, clock) -> None:
    system = FakeSystem()
    system.put("1", ("not an address", "X"), ("ok@example.fi", "O K"))
    report = run_sync(db, FakeConnector("crm", system), pseudonymizer=pseudo, clock=clock)
    assert report.skipped_invalid == 1
    assert [r[1] for r in _records(db)] == ["ok@example.fi"]


def test_a_partial_upsert_changes_only_the_kinds_it_covers(db, pseudo, clock) -> None:
    """Graph delta items may carry only the changed properties (`covers`): what they do not
    carry keeps what the index holds, and a full round does not take it for gone."""
    from datetime import UTC, datetime

    from syncaudit.contract import (
        Change,
        Checkpoint,
        ItemRemoved,
        ItemUpsert,
        Observation,
        RecordKind,
        RoundStart,
    )

    contact, organizer, attendee = (
        RecordKind.CONTACT,
        RecordKind.EVENT_ORGANIZER,
        RecordKind.EVENT_ATTENDEE,
    )
    when = datetime(2026, 3, 2, 9, tzinfo=UTC)

    def obs(kind: RecordKind, email: str, name: str | None = None, **kw: object) -> Observation:
        return Observation(kind=kind, email=email, name=name, **kw)  # type: ignore[arg-type]

    script: list[list[Change]] = []

    class Scripted(FakeConnector):
        def pull(self, cursors, *, full=False):  # type: ignore[no-untyped-def]
            yield from script.pop(0)

    conn = Scripted("cal", FakeSystem())
    script.append(
        [
            RoundStart(stream="s"),
            ItemUpsert(
                stream="s",
                external_id="c1",
                observations=(
                    obs(contact, "a@example.fi", "Anna Virtanen"),
                    obs(contact, "b@example.fi", "Anna Virtanen"),
                ),
            ),
            ItemUpsert(
                stream="s",
                external_id="e1",
                observations=(
                    obs(organizer, "coach@example.fi", "Coach", role="organizer", when=when),
                    obs(attendee, "a@example.fi", "Anna", role="required", when=when),
                ),
            ),
            Checkpoint(stream="s", cursor="1", round_complete=True),
        ]
    )
    _sync(db, conn, pseudo, clock)

    # 1. nothing carried (e.g. only the phone number changed): every record stays as it was
    # 2. the address list carried without the name: b left, c came, a keeps its name
    # 3. the attendees carried without the start: Anna left, Bob came, the organiser's date stays
    script.append(
        [
            ItemUpsert(stream="s", external_id="c1", observations=(), covers=frozenset()),
            ItemUpsert(
                stream="s",
                external_id="c1",
                observations=(obs(contact, "a@example.fi"), obs(contact, "c@example.fi")),
                covers=frozenset({contact}),
            ),
            ItemUpsert(
                stream="s",
                external_id="e1",
                observations=(obs(attendee, "bob@example.com", "Bob"),),
                covers=frozenset({attendee}),
            ),
            Checkpoint(stream="s", cursor="2"),
        ]
    )
    clock.advance(timedelta(hours=1))
    _sync(db, conn, pseudo, clock)
    assert _records(db) == [
        ("c1", "a@example.fi", "contact", False),
        ("c1", "b@example.fi", "contact", True),
        ("c1", "c@example.fi", "contact", False),
        ("e1", "a@example.fi", "event_attendee", True),
        ("e1", "bob@example.com", "event_attendee", False),
        ("e1", "coach@example.fi", "event_organizer", False),
    ]
    with db.session() as s:
        kept = dict(
            s.execute(
                select(Record.kind, Record.record_date).where(Record.external_id == "e1")
            ).all()
        )
        names = dict(
            s.execute(
                select(Subject.email, Record.name)
                .join(Subject, Subject.id == Record.subject_id)
                .where(Record.external_id == "c1")
            ).all()
        )
    assert kept["event_organizer"] is not None
    assert names["a@example.fi"] == "Anna Virtanen"

    # a full round of partial items: the kinds they do not carry are seen, not removed
    script.append(
        [
            RoundStart(stream="s"),
            ItemUpsert(stream="s", external_id="c1", observations=(), covers=frozenset()),
            ItemUpsert(
                stream="s",
                external_id="e1",
                observations=(obs(organizer, "coach@example.fi"),),
                covers=frozenset({organizer}),
            ),
            Checkpoint(stream="s", cursor="3", round_complete=True),
        ]
    )
    _sync(db, conn, pseudo, clock)
    live = {(ext, email, kind) for ext, email, kind, removed in _records(db) if not removed}
    assert live == {
        ("c1", "a@example.fi", "contact"),
        ("c1", "c@example.fi", "contact"),
        ("e1", "bob@example.com", "event_attendee"),
        ("e1", "coach@example.fi", "event_organizer"),
    }

    # a removal still removes, whatever the item carried before
    script.append([ItemRemoved(stream="s", external_id="c1"), Checkpoint(stream="s", cursor="4")])
    _sync(db, conn, pseudo, clock)
    assert not any(ext == "c1" and not removed for ext, _, _, removed in _records(db))


def test_statistics_are_refreshed_as_the_index_grows_not_on_a_resync(
    db, pseudo, clock, monkeypatch
) -> None:
    from syncaudit.index import writer

    refreshed: list[int] = []
    monkeypatch.setattr(writer.IndexWriter, "_analyze", lambda self: refreshed.append(1))
    monkeypatch.setattr(writer, "ANALYZE_FIRST", 50)
    system = FakeSystem()
    for n in range(120):
        system.put(str(n), (f"p{n}@example.fi", f"Person {n}"))
    _sync(db, FakeConnector("crm", system, page_size=20), pseudo, clock)
    assert refreshed  # 120 new records: past the first threshold
    refreshed.clear()
    _sync(db, FakeConnector("crm", system, page_size=20), pseudo, clock, full=True)
    assert refreshed == []  # the same 120 records again: nothing new for the planner
