"""Recurring meetings as Outlook keeps them: the person lives on the series master (and on any
exception that overrides the master), occurrences are generated from the pattern.

After an erasure no occurrence in a ten-year calendarView may name the person, yet the slots stay
countable (the coaching log); and a series costs requests per series, not per occurrence.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from syncaudit.contract import Action, ItemUpsert, OutcomeStatus, RecordKind
from syncaudit.testing import target_for
from syncaudit_msgraph._parse import REDACTED, view_event
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, index_refs, upserts

pytestmark = SDK_WARNINGS
COACH = MAILBOXES[0]
ANNA = ("Anna Virtanen", "anna@example.fi")
BOB = ("Bob Berg", "bob@example.com")
TARGET = target_for(ANNA[1], [ANNA[0]])
TEN_YEARS = timedelta(days=3653)


def first_session() -> datetime:
    """A Monday ten weeks ago at 10:00 UTC: the series has a past and a long future."""
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    day -= timedelta(weeks=10)
    return day - timedelta(days=day.weekday())


def weekly_coaching(sim: GraphSimulator, **extra: Any) -> tuple[str, datetime]:
    start = first_session()
    fields: dict[str, Any] = {
        "subject": "Coaching: Anna Virtanen",
        "start": start,
        "count": 520,  # ten years of Mondays
        "attendees": [ANNA],
        "location": "Anna Virtanen's office",
        "body": "<p>Goals for anna@example.fi</p>",
    }
    fields.update(extra)
    return sim.add_series(COACH, **fields), start


def naming(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if view_event(i, TARGET).holds_target]


def test_a_weekly_series_is_one_record_and_erasure_redacts_its_master(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    master, start = weekly_coaching(sim)
    moved = sim.modify_occurrence(
        COACH, master, start + timedelta(weeks=12), subject="Moved: Anna Virtanen's session"
    )
    connector = make_connector([COACH])

    changes = list(connector.pull({}))
    events = {k: v for k, v in upserts(changes).items() if v.stream.startswith("calendar:")}
    assert set(events) == {master, moved}  # not one record per occurrence
    assert sim.count("events.delta") == 1  # the occurrences' stubs share the delta pages
    assert sim.count("events.get") == 0  # the master came with the delta

    refs = index_refs(connector, TARGET)
    by_id = {r.external_id: r for r in refs}
    assert set(by_id) == {master, moved}
    plan = connector.preview(by_id[master], TARGET)
    assert plan.action is Action.REDACT
    assert plan.explanation.startswith("series (520 occurrences): ")
    assert "1 changed occurrence(s)" in plan.explanation
    assert plan.notifies == ("the person erased",)
    window = (start - timedelta(days=1), start + TEN_YEARS)
    before = sim.calendar_view(COACH, *window)
    assert len(naming(before)) == 520
    sim.clear_log()

    outcomes = {r.external_id: connector.erase(r, TARGET).status for r in refs}
    assert outcomes[master] is OutcomeStatus.ERASED

    after = sim.calendar_view(COACH, *window)
    assert naming(after) == []
    assert "anna" not in json.dumps(after).lower()
    assert len(after) == len(before)  # every slot is still there (the coaching log)
    series = sim.event(COACH, master)
    assert series is not None
    assert (series["subject"], series["attendees"]) == (f"Coaching: {REDACTED}", [])
    exception = sim.event(COACH, moved)
    assert exception is not None
    assert exception["subject"] == f"Moved: {REDACTED}'s session"
    assert exception["start"]["dateTime"].startswith(
        (start + timedelta(weeks=12)).strftime("%Y-%m-%dT%H")
    )
    # only the person is told (once for the series, once for the exception Outlook keeps apart)
    assert {p for n in sim.notifications for p in n.recipients} == {ANNA[1]}
    assert sim.count("events.instances") <= 2  # pages of a thousand, not one per occurrence
    assert sim.count("events.patch") == 3  # master: attendees, text; the exception's subject
    assert connector.verify(TARGET, refs) == []
    assert {connector.erase(r, TARGET).status for r in refs} == {OutcomeStatus.ALREADY_ABSENT}
    assert sim.duplicated_side_effects() == []


def test_a_series_in_the_index_comes_back_as_one_ref_from_locate(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    master, start = weekly_coaching(sim, count=None, until=date.today() + timedelta(days=700))
    sim.cancel_occurrence(COACH, master, start + timedelta(weeks=11))
    connector = make_connector([COACH])
    refs = connector.locate(TARGET)  # the calendar scan sees ~100 occurrences of the series
    assert [(r.external_id, r.kind, r.label) for r in refs] == [
        (master, RecordKind.EVENT_ATTENDEE, "event series in mailboxes[0]")
    ]
    assert connector.erase(refs[0], TARGET).status is OutcomeStatus.ERASED
    assert connector.locate(TARGET) == []


def test_the_mailbox_copy_of_someone_elses_series_is_edited_locally(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    master, start = weekly_coaching(
        sim, subject="Board", organizer=BOB, attendees=[("Coach", COACH), ANNA], body=""
    )
    connector = make_connector([COACH])
    (ref,) = [r for r in index_refs(connector, TARGET) if r.external_id == master]
    plan = connector.preview(ref, TARGET)
    assert plan.explanation.startswith("series (520 occurrences): ")
    assert plan.notifies == ()
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ERASED
    copy = sim.event(COACH, master)
    assert copy is not None
    assert [a["emailAddress"]["address"] for a in copy["attendees"]] == [COACH]
    assert sim.notifications == []
    assert naming(sim.calendar_view(COACH, start, start + TEN_YEARS)) == []


def test_a_series_the_person_organised_becomes_a_placeholder_series(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    master, start = weekly_coaching(
        sim, subject="Anna's mentoring", organizer=ANNA, attendees=[("Coach", COACH)], count=30
    )
    window = (start - timedelta(days=1), start + TEN_YEARS)
    slots = [i["start"] for i in sim.calendar_view(COACH, *window)]
    connector = make_connector([COACH])
    refs = index_refs(connector, TARGET)
    assert {r.kind for r in refs} == {RecordKind.EVENT_ORGANIZER}
    assert {connector.erase(r, TARGET).status for r in refs} == {OutcomeStatus.ERASED}
    assert sim.is_purged(COACH, master)
    (placeholder,) = [sim.event(COACH, i) for i in sim.event_ids(COACH)]
    assert placeholder is not None
    assert (placeholder["type"], placeholder["subject"]) == ("seriesMaster", REDACTED)
    assert placeholder["recurrence"]["range"]["numberOfOccurrences"] == 30
    after = sim.calendar_view(COACH, *window)
    assert [i["start"] for i in after] == slots  # the same 30 slots
    assert naming(after) == []
    assert sim.notifications == []
    assert connector.verify(TARGET, refs) == []
    assert {connector.erase(r, TARGET).status for r in refs} == {OutcomeStatus.ALREADY_ABSENT}
    assert len(sim.event_ids(COACH)) == 1


def test_delete_policy_removes_the_whole_series(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    master, start = weekly_coaching(sim, count=10)
    connector = make_connector([COACH], calendar_policy="delete")
    (ref,) = [r for r in index_refs(connector, TARGET) if r.external_id == master]
    plan = connector.preview(ref, TARGET)
    assert plan.action is Action.DELETE
    assert plan.explanation == (
        "series (10 occurrences): permanently delete the series; Graph sends a cancellation "
        "to the person erased"
    )
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ERASED
    assert sim.is_purged(COACH, master)
    assert sim.calendar_view(COACH, start - timedelta(days=1), start + TEN_YEARS) == []


def test_a_master_the_delta_does_not_send_is_read_once_per_series(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    """The reference only promises occurrences and exceptions in calendarView delta; when the
    masters are missing, each is read once at the end of the round."""
    sim.series_master_in_delta = False
    first, _ = weekly_coaching(sim, count=52)
    second, _ = weekly_coaching(sim, subject="Follow-up", attendees=[BOB], count=26, body="")
    connector = make_connector([COACH])
    changes = list(connector.pull({}))
    events = {k: v for k, v in upserts(changes).items() if v.stream.startswith("calendar:")}
    assert set(events) == {first, second}
    assert all(isinstance(v, ItemUpsert) and v.covers is None for v in events.values())
    assert sim.count("events.get") == 2
    assert sim.count("events.delta") == 1
