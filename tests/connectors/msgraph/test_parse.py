"""Pure rules: Graph JSON into index changes, who is in an event, and redaction."""

from __future__ import annotations

from datetime import UTC, datetime

from syncaudit.contract import ItemRemoved, ItemUpsert, RecordKind
from syncaudit.testing import target_for
from syncaudit_msgraph._parse import (
    REDACTED,
    contact_changes,
    event_changes,
    graph_datetime,
    redacted_fields,
    view_event,
)

EVENT = {
    "id": "E1=",
    "subject": "Coaching: Anna Virtanen",
    "isOrganizer": True,
    "body": {"contentType": "html", "content": "<p>Mail anna@example.fi or Anna Virtanen</p>"},
    "location": {"displayName": "Room 1"},
    "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"},
    "organizer": {"emailAddress": {"name": "Coach", "address": "coach@example.fi"}},
    "attendees": [
        {"type": "required", "emailAddress": {"name": "Anna V", "address": "Anna@Example.FI"}},
        {"type": "optional", "emailAddress": {"name": "Bob", "address": "bob@example.com"}},
    ],
}


def test_a_contact_with_three_addresses_links_all_three() -> None:
    contact = {
        "id": "C1=",
        "displayName": "Anna Virtanen",
        "personalNotes": "never indexed",
        "mobilePhone": "+358 40 1234567",
        "emailAddresses": [
            {"name": "Anna", "address": "anna@example.fi"},
            {"name": "Anna", "address": "ANNA@example.fi"},  # the same address twice
            {"name": "Anna", "address": "anna.v@example.com"},
            {"name": "Anna", "address": "anna@work.example"},
            {"name": "", "address": ""},
        ],
    }
    (change,) = contact_changes("contacts:m:default", "m@example.fi", "default", [contact])
    assert isinstance(change, ItemUpsert)
    assert [o.email for o in change.observations] == [
        "anna@example.fi",
        "anna.v@example.com",
        "anna@work.example",
    ]
    assert {o.kind for o in change.observations} == {RecordKind.CONTACT}
    assert {o.name for o in change.observations} == {"Anna Virtanen"}
    assert change.locator == {"mailbox": "m@example.fi", "folder": "default", "item": "contact"}
    flat = repr(change)
    assert "never indexed" not in flat
    assert "1234567" not in flat


def test_removed_items_become_removals() -> None:
    changes = contact_changes("s", "m", "f", [{"id": "X=", "@removed": {"reason": "deleted"}}])
    assert changes == [ItemRemoved(stream="s", external_id="X=")]


def test_event_organizer_attendees_time_and_free_text() -> None:
    (change,) = event_changes("calendar:m", "m@example.fi", [EVENT])
    assert isinstance(change, ItemUpsert)
    kinds = [(o.kind, o.email, o.role) for o in change.observations]
    assert kinds == [
        (RecordKind.EVENT_ORGANIZER, "coach@example.fi", "organizer"),
        (RecordKind.EVENT_ATTENDEE, "Anna@Example.FI", "required"),
        (RecordKind.EVENT_ATTENDEE, "bob@example.com", "optional"),
    ]
    assert {o.when for o in change.observations} == {datetime(2026, 3, 2, 9, tzinfo=UTC)}
    assert change.free_text == "Coaching: Anna Virtanen Room 1"
    assert change.locator["item"] == "event"
    assert "Mail anna" not in repr(change)  # bodies are never indexed


def test_graph_datetimes() -> None:
    assert graph_datetime({"dateTime": "2026-03-02T09:00:00.1234567", "timeZone": "UTC"}) == (
        datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    )
    helsinki = graph_datetime({"dateTime": "2026-03-02T11:00:00", "timeZone": "Europe/Helsinki"})
    assert helsinki == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert graph_datetime({"dateTime": "2026-03-02T09:00:00", "timeZone": "W. Europe Std"})
    assert graph_datetime(None) is None


def test_view_and_redaction_of_an_event() -> None:
    target = target_for("anna@example.fi", ["Anna Virtanen"])
    view = view_event(EVENT, target)
    assert view.attendee_is_target
    assert view.text_mentions_target
    assert not view.organizer_is_target
    assert view.other_attendees == ("bob@example.com",)
    fields = redacted_fields(EVENT, target)
    assert fields["subject"] == f"Coaching: {REDACTED}"
    assert "anna@example.fi" not in fields["body"]["content"]
    assert "Anna Virtanen" not in fields["body"]["content"]
    assert "location" not in fields  # unchanged fields are not sent
    stranger = view_event(EVENT, target_for("carl@example.org", ["Carl Berg"]))
    assert not stranger.holds_target
