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
