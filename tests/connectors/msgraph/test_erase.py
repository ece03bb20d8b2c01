"""Locate, preview, erase, verify and export against the simulator, under both calendar policies.

The simulator records the e-mails Exchange would send (`sim.notifications`) and every write
(`sim.side_effects`), so the tests check who hears about an erasure and that repeats do nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import structlog

from syncaudit.contract import (
    Action,
    OutcomeStatus,
    RecordKind,
    RecordRef,
)
from syncaudit.testing import target_for
from syncaudit_msgraph._parse import REDACTED
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, index_refs, soon

pytestmark = SDK_WARNINGS
COACH = MAILBOXES[0]
ANNA = ("Anna Virtanen", "anna@example.fi")
BOB = ("Bob Berg", "bob@example.com")
CARL = ("Carl Ek", "carl@example.org")
TARGET = target_for(ANNA[1], [ANNA[0]])


def erase_all(connector: MsGraphConnector, refs: Sequence[RecordRef]) -> dict[str, OutcomeStatus]:
    return {ref.external_id: connector.erase(ref, TARGET).status for ref in refs}


def notified(sim: GraphSimulator) -> set[str]:
    return {person for n in sim.notifications for person in n.recipients}


def test_contact_with_several_addresses_keeps_the_others(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    shared = sim.add_contact(
        COACH,
        name="Anna Virtanen",
        emails=["Anna@Example.fi", "anna@work.example", "a@home.example"],
    )
    single = sim.add_contact(
        COACH, name="Anna V", emails=[ANNA[1]], folder=sim.add_folder(COACH, "Clients")
    )
    connector = make_connector([COACH])
    refs = connector.locate(TARGET)
    assert {r.external_id for r in refs} == {shared, single}
    plans = {r.external_id: connector.preview(r, TARGET) for r in refs}
    assert plans[shared].action is Action.REDACT
    assert plans[single].action is Action.DELETE
    assert set(erase_all(connector, refs).values()) == {OutcomeStatus.ERASED}
    kept = sim.contact(COACH, shared)
    assert kept is not None
    assert [e["address"] for e in kept["emailAddresses"]] == ["anna@work.example", "a@home.example"]
    assert sim.is_purged(COACH, single)  # permanentDelete, not Deleted Items
    assert not sim.in_deleted_items(COACH, single)
    assert sim.count("contacts.delete") == 0
    assert connector.verify(TARGET, refs) == []
    assert set(erase_all(connector, refs).values()) == {OutcomeStatus.ALREADY_ABSENT}
    assert sim.duplicated_side_effects() == []
    assert sim.notifications == []


def test_redact_keeps_the_slot_and_tells_only_the_person(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    one_to_one = sim.add_event(
        COACH,
        subject="Coaching: Anna Virtanen",
        start=soon(-10),
        attendees=[ANNA],
        body="<p>Notes for anna@example.fi</p>",
        location="Anna Virtanen's office",
    )
    group = sim.add_event(COACH, subject="Workshop", start=soon(3), attendees=[ANNA, BOB, CARL])
    mention = sim.add_event(COACH, subject="Prepare for Anna Virtanen", start=soon(2))
    theirs = sim.add_event(
        COACH, subject="Board", start=soon(5), organizer=BOB, attendees=[("Coach", COACH), ANNA]
    )
    connector = make_connector([COACH])
    refs = index_refs(connector, TARGET)
    assert {r.external_id for r in refs} == {one_to_one, group, mention, theirs}
    plans = {r.external_id: connector.preview(r, TARGET) for r in refs}
    assert plans[one_to_one].notifies == ("the person erased",)
    assert plans[theirs].notifies == ()
    assert plans[mention].notifies == ()
    assert sim.side_effects == []  # preview changes nothing

    outcomes = erase_all(connector, refs)
    assert set(outcomes.values()) == {OutcomeStatus.ERASED}
    first = sim.event(COACH, one_to_one)
    assert first is not None
    assert first["attendees"] == []
    assert first["subject"] == f"Coaching: {REDACTED}"
    assert "anna" not in first["body"]["content"].lower()
    assert "Anna" not in first["location"]["displayName"]
    assert first["start"]["dateTime"].startswith(soon(-10).strftime("%Y-%m-%dT%H"))
    second = sim.event(COACH, group)
    assert second is not None
    assert [a["emailAddress"]["address"] for a in second["attendees"]] == [BOB[1], CARL[1]]
    copy = sim.event(COACH, theirs)
    assert copy is not None
    assert [a["emailAddress"]["address"] for a in copy["attendees"]] == [COACH]
    assert sim.event(COACH, mention)["subject"] == f"Prepare for {REDACTED}"  # type: ignore[index]
    # only the erased person was told anything, and nothing was cancelled
    assert notified(sim) == {ANNA[1]}
    assert {n.kind for n in sim.notifications} == {"cancellation"}
    assert sim.count("events.cancel") == 0
    assert sim.count("events.permanentDelete") == 0
    assert connector.verify(TARGET, refs) == []
    assert set(erase_all(connector, refs).values()) == {OutcomeStatus.ALREADY_ABSENT}
    assert sim.duplicated_side_effects() == []


def test_text_in_a_meeting_with_others_is_left_to_the_operator(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    meeting = sim.add_event(
        COACH, subject="Anna Virtanen and Bob", start=soon(1), attendees=[ANNA, BOB]
    )
    connector = make_connector([COACH])
    (ref,) = index_refs(connector, TARGET)
    plan = connector.preview(ref, TARGET)
    assert plan.action is Action.MANUAL
    assert "1 other attendee" in plan.explanation
    outcome = connector.erase(ref, TARGET)
    assert outcome.status is OutcomeStatus.AWAITING_MANUAL
    event = sim.event(COACH, meeting)
    assert event is not None
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [BOB[1]]
    assert event["subject"] == "Anna Virtanen and Bob"  # not edited: Bob would get an update
    assert notified(sim) == {ANNA[1]}
    left = connector.verify(TARGET, [ref])
    assert [r.external_id for r in left] == [meeting]  # reported with its id
    assert connector.erase(ref, TARGET).status is OutcomeStatus.AWAITING_MANUAL
    assert sim.duplicated_side_effects() == []


def test_a_meeting_organised_by_the_person_is_replaced_by_a_placeholder(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    theirs = sim.add_event(
        COACH, subject="Anna's review", start=soon(4), organizer=ANNA, attendees=[("Coach", COACH)]
    )
    connector = make_connector([COACH])
    refs = index_refs(connector, TARGET)
    assert [r.kind for r in refs] == [RecordKind.EVENT_ORGANIZER]
    assert erase_all(connector, refs) == {theirs: OutcomeStatus.ERASED}
    assert sim.is_purged(COACH, theirs)
    (placeholder,) = [sim.event(COACH, i) for i in sim.event_ids(COACH)]
    assert placeholder is not None
    assert placeholder["subject"] == REDACTED
    assert placeholder["attendees"] == []
    assert placeholder["start"]["dateTime"].startswith(soon(4).strftime("%Y-%m-%dT%H"))
    assert sim.notifications == []
    assert sim.count("events.cancel") == 0
    assert connector.verify(TARGET, refs) == []
    assert erase_all(connector, refs) == {theirs: OutcomeStatus.ALREADY_ABSENT}
    assert len(sim.event_ids(COACH)) == 1


def test_delete_policy_purges_and_says_who_is_told(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ours = sim.add_event(COACH, subject="Workshop", start=soon(3), attendees=[ANNA, BOB])
    theirs = sim.add_event(
        COACH, subject="Board", start=soon(5), organizer=BOB, attendees=[("Coach", COACH), ANNA]
    )
    alone = sim.add_event(COACH, subject="Call Anna Virtanen", start=soon(6))
    connector = make_connector([COACH], calendar_policy="delete")
    refs = index_refs(connector, TARGET)
    plans = {r.external_id: connector.preview(r, TARGET) for r in refs}
    assert {p.action for p in plans.values()} == {Action.DELETE}
    assert plans[ours].notifies == ("the person erased", "1 other attendee(s)")
    assert plans[theirs].notifies == ()
    assert plans[alone].notifies == ()
    assert set(erase_all(connector, refs).values()) == {OutcomeStatus.ERASED}
    for event_id in (ours, theirs, alone):
        assert sim.is_purged(COACH, event_id)
    assert [(n.event_id, n.kind, n.recipients) for n in sim.notifications] == [
        (ours, "cancellation", tuple(sorted((ANNA[1], BOB[1]))))
    ]
    assert connector.verify(TARGET, refs) == []
    assert set(erase_all(connector, refs).values()) == {OutcomeStatus.ALREADY_ABSENT}


def test_verify_reports_what_came_back_and_what_is_in_deleted_items(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    soft = sim.add_contact(COACH, name="Anna Virtanen", emails=[ANNA[1]])
    connector = make_connector([COACH])
    (ref,) = connector.locate(TARGET)
    sim.delete_contact(COACH, soft)  # Outlook's delete: Deleted Items, still readable
    (deleted,) = connector.locate(TARGET)  # found there, not in the Contacts folder
    assert (deleted.external_id, deleted.locator["folder"]) == (soft, "deleteditems")
    assert [r.external_id for r in connector.verify(TARGET, [ref])] == [soft]
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ERASED
    assert sim.is_purged(COACH, soft)
    again = sim.add_contact(COACH, name="Anna", emails=["ANNA@example.fi"])  # a web form re-adds
    left = connector.verify(TARGET, [ref])
    assert [(r.external_id, r.kind) for r in left] == [(again, RecordKind.CONTACT)]


def test_erasing_what_is_already_gone(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    contact = sim.add_contact(COACH, name="Anna Virtanen", emails=[ANNA[1]])
    event = sim.add_event(COACH, subject="x", start=soon(1), attendees=[ANNA])
    connector = make_connector([COACH])
    refs = connector.locate(TARGET)
    sim.delete_contact(COACH, contact, purge=True)
    sim.delete_event(COACH, event, purge=True)
    assert erase_all(connector, refs) == {
        contact: OutcomeStatus.ALREADY_ABSENT,
        event: OutcomeStatus.ALREADY_ABSENT,
    }
    assert sim.side_effects == []


def test_export_returns_live_fields(sim: GraphSimulator, make_connector: ConnectorFactory) -> None:
    sim.add_contact(COACH, name="Anna Virtanen", emails=[ANNA[1]], jobTitle="CEO")
    sim.add_event(COACH, subject="Coaching", start=soon(1), attendees=[ANNA])
    connector = make_connector([COACH])
    exports = {r.kind: connector.export(r, TARGET) for r in connector.locate(TARGET)}
    contact = exports[RecordKind.CONTACT]
    assert contact["displayName"] == "Anna Virtanen"
    assert contact["jobTitle"] == "CEO"
    assert contact["emailAddresses"][0]["address"] == ANNA[1]
    event = exports[RecordKind.EVENT_ATTENDEE]
    assert (event["subject"], event["role"]) == ("Coaching", "attendee")
    assert event["date"].startswith(soon(1).date().isoformat())


@pytest.mark.parametrize("scan", [True, False])
def test_locate_scans_the_calendar_only_when_asked(
    sim: GraphSimulator, make_connector: ConnectorFactory, scan: bool
) -> None:
    sim.add_event(COACH, subject="Lunch with Anna Virtanen", start=soon(1))
    connector = make_connector([COACH], locate_scans_calendar=scan)
    kinds = [r.kind for r in connector.locate(TARGET)]
    assert kinds == ([RecordKind.EVENT_MENTION] if scan else [])


def test_a_contact_someone_deleted_by_hand_is_found_in_deleted_items_and_purged(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    clients = sim.add_folder(COACH, "Clients")
    shared = sim.add_contact(
        COACH, name="Anna Virtanen", emails=[ANNA[1], "anna@work.example"], folder=clients
    )
    sim.delete_contact(COACH, shared)  # by hand in Outlook: to Deleted Items
    connector = make_connector([COACH])
    (ref,) = connector.locate(TARGET)
    assert (ref.external_id, ref.locator["folder"]) == (shared, "deleteditems")
    assert ref.label == "contact in Deleted Items of mailboxes[0]"
    plan = connector.preview(ref, TARGET)
    assert (plan.action, plan.explanation) == (
        Action.DELETE,
        "permanently delete the contact from Deleted Items",
    )
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ERASED
    assert sim.is_purged(COACH, shared)  # even with another address: it was deleted already
    assert connector.verify(TARGET, [ref]) == []
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ALREADY_ABSENT


def test_an_event_in_deleted_items_is_found_and_purged_without_telling_anyone(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    meeting = sim.add_event(COACH, subject="Coaching", start=soon(-3), attendees=[ANNA, BOB])
    sim.delete_event(COACH, meeting)
    sim.clear_log()  # the hand deletion's cancellation is not the erasure's
    connector = make_connector([COACH])
    (ref,) = connector.locate(TARGET)
    assert (ref.external_id, ref.kind, ref.locator["folder"]) == (
        meeting,
        RecordKind.EVENT_ATTENDEE,
        "deleteditems",
    )
    assert connector.preview(ref, TARGET).action is Action.DELETE
    assert connector.erase(ref, TARGET).status is OutcomeStatus.ERASED
    assert sim.is_purged(COACH, meeting)
    assert sim.notifications == []
    assert connector.verify(TARGET, [ref]) == []


def test_deleted_items_that_cannot_be_searched_are_reported_not_fatal(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    live = sim.add_contact(COACH, name="Anna Virtanen", emails=[ANNA[1]])
    body = {"error": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."}}
    sim.inject(status=400, body=body, count=100, path_contains="/deleteditems/")
    connector = make_connector([COACH])
    with structlog.testing.capture_logs() as logs:
        refs = connector.locate(TARGET)
    assert [r.external_id for r in refs] == [live]
    warned = [e for e in logs if e["event"] == "msgraph.deleted_items_unsearchable"]
    assert sorted(e["items"] for e in warned) == ["contacts", "events"]
    assert all(e["mailbox"] == "mailboxes[0]" and ANNA[1] not in e["error"] for e in warned)
    line = connector.check()
    assert "Deleted Items cannot be searched (mailboxes[0]: " in line
    assert "400 ErrorInvalidIdMalformed" in line
