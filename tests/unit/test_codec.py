"""The index writer's JSON text: what SQLAlchemy's JSON type writes, made once per content."""

from __future__ import annotations

import json
from types import MappingProxyType

from syncaudit.index import _store
from syncaudit.index._store import Codec


def test_equal_mappings_get_the_text_json_dumps_gives_whatever_object_carries_them() -> None:
    codec = Codec(sqlite=True)
    first = codec.json({"mailbox": "coach@example.fi", "folder": "calendar"})
    again = codec.json(MappingProxyType({"mailbox": "coach@example.fi", "folder": "calendar"}))
    assert first == again == json.dumps({"mailbox": "coach@example.fi", "folder": "calendar"})
    assert codec.json({"folder": "calendar", "mailbox": "coach@example.fi"}) == json.dumps(
        {"folder": "calendar", "mailbox": "coach@example.fi"}
    )  # key order is kept, as json.dumps keeps it
    assert codec.json({}) == codec.json(None) == "{}"


def test_unhashable_values_and_a_full_cache_still_give_the_right_text(monkeypatch) -> None:
    monkeypatch.setattr(_store, "JSON_CACHE", 2)
    codec = Codec(sqlite=False)
    assert codec.json({"tags": ["a", "b"]}) == '{"tags": ["a", "b"]}'
    for n in range(5):
        assert codec.json({"n": str(n)}) == json.dumps({"n": str(n)})
    assert codec.json({"n": "0"}) == '{"n": "0"}'


def test_details_and_locator_read_back_as_the_mappings_written(db, pseudo, clock) -> None:
    """Through the writer's bulk paths (binary COPY on PostgreSQL, executemany on SQLite) a
    record's JSON is stored as the object, not as a string holding it."""
    from datetime import date

    from sqlalchemy import select

    from syncaudit.contract import Checkpoint, ItemUpsert, Observation, RecordKind
    from syncaudit.models import Record
    from syncaudit.sync import run_sync
    from syncaudit.testing import FakeConnector, FakeSystem

    class One(FakeConnector):
        def pull(self, cursors, *, full=False):  # type: ignore[no-untyped-def]
            yield ItemUpsert(
                stream="list:a",
                external_id="m1",
                observations=(
                    Observation(
                        kind=RecordKind.AUDIENCE_MEMBER,
                        email="anna@example.fi",
                        name="Anna",
                        role="subscribed",
                        details=MappingProxyType({"status": "subscribed", "tags": ["a"]}),
                    ),
                ),
                locator={"list_id": "a"},
                legal_hold_until=date(2031, 12, 31),
                legal_basis="bookkeeping",
            )
            yield Checkpoint(stream="list:a", cursor="1")

    run_sync(db, One("news", FakeSystem()), pseudonymizer=pseudo, clock=clock)
    with db.session() as s:
        record = s.scalars(select(Record)).one()
        assert record.details == {"status": "subscribed", "tags": ["a"]}
        assert record.locator == {"list_id": "a"}
        assert record.legal_hold_until == date(2031, 12, 31)
