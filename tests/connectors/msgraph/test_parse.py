"""Pure rules: Graph JSON into index changes, who is in an event, and redaction."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from syncaudit.contract import ItemRemoved, ItemUpsert, RecordKind
from syncaudit.errors import AuthError, PermanentError, TransientError
from syncaudit.testing import target_for
from syncaudit_msgraph._graph import NotFound, SyncStateGone, _map_status
from syncaudit_msgraph._parse import (
    REDACTED,
    contact_changes,
    event_changes,
    graph_datetime,
    redacted_fields,
    series_seen,
    series_span,
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


def test_a_partial_contact_says_what_it_covers() -> None:
    whole, addresses, title = contact_changes(
        "s",
        "m",
        "f",
        [
            {"id": "A=", "displayName": "Anna", "emailAddresses": [{"address": "a@example.fi"}]},
            {"id": "B=", "emailAddresses": [{"address": "b@example.fi"}]},
            {"id": "C=", "jobTitle": "CEO"},
        ],
    )
    assert isinstance(whole, ItemUpsert) and whole.covers is None
    assert isinstance(addresses, ItemUpsert) and addresses.covers == {RecordKind.CONTACT}
    assert [o.name for o in addresses.observations] == [None]  # the name is not known
    assert isinstance(title, ItemUpsert) and title.covers == frozenset()
    assert title.observations == ()


def test_a_partial_event_and_the_occurrences_of_a_series() -> None:
    stub = {
        "@odata.type": "#microsoft.graph.event",
        "id": "O1=",
        "type": "occurrence",
        "seriesMasterId": "M=",
        "start": {"dateTime": "2026-03-09T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-09T10:00:00", "timeZone": "UTC"},
    }
    whole_occurrence = {**EVENT, "id": "O2=", "type": "occurrence", "seriesMasterId": "S="}
    changes = event_changes(
        "calendar:m",
        "m@example.fi",
        [
            {"id": "E2=", "subject": "Renamed: Anna Virtanen"},
            stub,
            {**stub, "id": "O3="},
            whole_occurrence,
            {**whole_occurrence, "id": "O4="},
            {**EVENT, "id": "X=", "type": "exception", "seriesMasterId": "S="},
        ],
    )
    by_id = {c.external_id: c for c in changes if isinstance(c, ItemUpsert)}
    assert list(by_id) == ["E2=", "S=", "X="]  # stubs add nothing; the occurrences are S=
    renamed = by_id["E2="]
    assert (renamed.covers, renamed.free_text, renamed.observations) == (
        frozenset(),
        "Renamed: Anna Virtanen",
        (),
    )
    series = by_id["S="]
    assert series.covers == {
        RecordKind.EVENT_ORGANIZER,
        RecordKind.EVENT_ATTENDEE,
        RecordKind.EVENT_MENTION,
    }
    assert {o.when for o in series.observations} == {None}  # one slot's date is not the series'
    assert by_id["X="].covers is None
    assert series_seen([stub, {**EVENT, "id": "T=", "type": "seriesMaster"}]) == ({"T="}, {"M="})
    assert series_seen([stub, whole_occurrence]) == ({"S="}, {"M="})


def test_the_span_that_lists_every_instance_of_a_series() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)

    def master(span: dict[str, object], kind: str = "weekly") -> dict[str, object]:
        pattern = {"type": kind, "interval": 2}
        return {"type": "seriesMaster", "recurrence": {"pattern": pattern, "range": span}}

    ending = {"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-06-29"}
    assert series_span(master(ending), now, 3660) == (
        "2026-01-04T00:00:00Z",
        "2026-07-01T00:00:00Z",
    )
    numbered = {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 10}
    # 10 fortnights (140 days, a bound past the last one on 2026-05-11) and two days
    assert series_span(master(numbered), now, 3660)[1] == "2026-05-27T00:00:00Z"
    endless = {"type": "noEnd", "startDate": "2020-01-06", "endDate": "0001-01-01"}
    assert series_span(master(endless), now, 3660) == (
        "2020-01-05T00:00:00Z",
        "2036-03-10T00:00:00Z",
    )


def _api_error(status: int, code: str, inner: str | None = None) -> object:
    error = SimpleNamespace(
        code=code,
        inner_error=SimpleNamespace(additional_data={"code": inner} if inner else {}),
        details=None,
    )
    return SimpleNamespace(response_status_code=status, response_headers={}, error=error)


@pytest.mark.parametrize(
    ("status", "code", "inner"),
    [
        (410, "SyncStateNotFound", None),
        (410, "", None),
        (400, "syncStateNotFound", None),
        (400, "ResyncRequired", None),
        (403, "syncStateInvalid", None),
        (404, "syncStateNotFound", None),
        (400, "BadRequest", "syncStateNotFound"),
    ],
)
def test_sync_state_resets_are_recognised_by_status_or_code(
    status: int, code: str, inner: str | None
) -> None:
    mapped = _map_status(_api_error(status, code, inner), "reading contacts")
    assert isinstance(mapped, SyncStateGone)
    assert mapped.status == status
    assert isinstance(mapped, PermanentError)


def test_other_errors_keep_their_meaning() -> None:
    missing = _map_status(_api_error(404, "ErrorItemNotFound"), "reading a contact")
    assert isinstance(missing, NotFound) and missing.code == "ErrorItemNotFound"
    assert isinstance(missing, PermanentError)  # nobody expecting it: a problem, not a crash
    assert str(missing) == "Microsoft Graph answered 404 ErrorItemNotFound while reading a contact"
    assert type(_map_status(_api_error(400, "ErrorInvalidUrlQuery"), "x")) is PermanentError
    assert isinstance(_map_status(_api_error(401, "syncStateNotFound"), "x"), AuthError)
    assert isinstance(_map_status(_api_error(429, "syncStateNotFound"), "x"), TransientError)
