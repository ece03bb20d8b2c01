"""Pull against the simulator with the real msgraph-sdk and azure-identity."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import structlog

from syncaudit.clock import ManualClock
from syncaudit.contract import Checkpoint, ItemUpsert, RecordKind, StreamProblem
from syncaudit.errors import AuthError
from syncaudit_msgraph._requests import CONTACTS_PAGE
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import (
    MAILBOXES,
    SDK_WARNINGS,
    completed,
    cursors_of,
    removed,
    round_starts,
    soon,
    upserts,
)

pytestmark = SDK_WARNINGS
COACH, ASSISTANT = MAILBOXES


def seed(sim: GraphSimulator) -> dict[str, str]:
    """Both mailboxes: default folder, a child folder and a grandchild folder, and events."""
    ids: dict[str, str] = {}
    clients = sim.add_folder(COACH, "Clients")
    archive = sim.add_folder(COACH, "Archive", parent=clients)
    ids["clients"], ids["archive"] = clients, archive
    ids["anna"] = sim.add_contact(
        COACH,
        name="Anna Virtanen",
        emails=["anna@example.fi", "anna.virtanen@work.example", "ANNA@home.example"],
    )
    ids["bob"] = sim.add_contact(COACH, name="Bob Berg", emails=["bob@example.com"], folder=clients)
    ids["old"] = sim.add_contact(
        COACH, name="Old Client", emails=["old@example.org"], folder=archive
    )
    ids["meeting"] = sim.add_event(
        COACH,
        subject="Coaching",
        start=soon(2),
        attendees=[("Anna Virtanen", "anna@example.fi")],
        location="Room 1",
    )
    ids["theirs"] = sim.add_event(
        COACH,
        subject="Their meeting",
        start=soon(-30),
        organizer=("Bob Berg", "bob@example.com"),
        attendees=[("Coach", COACH)],
    )
    ids["far"] = sim.add_event(COACH, subject="Far past", start=soon(-3000))
    ids["x"] = sim.add_contact(ASSISTANT, name="Xena Aho", emails=["xena@example.fi"])
    assistant_folder = sim.add_folder(ASSISTANT, "Vendors")
    ids["y"] = sim.add_contact(
        ASSISTANT, name="Yrjö Ek", emails=["yrjo@example.fi"], folder=assistant_folder
    )
    ids["assistant_folder"] = assistant_folder
    return ids


def test_full_sync_of_two_mailboxes_with_child_folders(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    changes = list(make_connector().pull({}))
    streams = {c.stream for c in changes}
    assert streams == {
        f"contacts:{COACH}:default",
        f"contacts:{COACH}:{ids['clients']}",
        f"contacts:{COACH}:{ids['archive']}",
        f"calendar:{COACH}",
        f"contacts:{ASSISTANT}:default",
        f"contacts:{ASSISTANT}:{ids['assistant_folder']}",
        f"calendar:{ASSISTANT}",
    }
    assert round_starts(changes) == streams == completed(changes)
    items = upserts(changes)
    anna = items[ids["anna"]]
    assert {o.email for o in anna.observations} == {
        "anna@example.fi",
        "anna.virtanen@work.example",
        "ANNA@home.example",
    }
    assert items[ids["old"]].locator == {
        "mailbox": COACH,
        "folder": ids["archive"],
        "item": "contact",
    }
    meeting = items[ids["meeting"]]
    assert [(o.kind, o.email) for o in meeting.observations] == [
        (RecordKind.EVENT_ORGANIZER, COACH),
        (RecordKind.EVENT_ATTENDEE, "anna@example.fi"),
    ]
    assert meeting.free_text == "Coaching Room 1"
    theirs = items[ids["theirs"]]
    assert theirs.observations[0].email == "bob@example.com"
    assert ids["far"] not in items  # outside calendar_past_days
    assert ids["y"] in items
    # every stream's last change is its checkpoint, which carries a JSON cursor
    last = {c.stream: c for c in changes}
    assert all(isinstance(c, Checkpoint) and json.loads(c.cursor)["delta"] for c in last.values())


def test_requests_use_the_largest_pages_and_four_slots_per_mailbox(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    sim.populate([COACH], contacts=CONTACTS_PAGE * 2 + 1, events=50, child_folders=5)
    sim.inject(status=0, delay=0.05, count=1000, endpoint="contacts.delta")
    changes = list(make_connector([COACH]).pull({}))
    assert len(upserts(changes)) == CONTACTS_PAGE * 2 + 1 + 50
    deltas = sim.select("contacts.delta")
    assert all(r.headers["prefer"] == f"odata.maxpagesize={CONTACTS_PAGE}" for r in deltas)
    assert sim.select("events.delta")[0].headers["prefer"] == "odata.maxpagesize=1000"
    assert 2 <= sim.max_concurrency(COACH) <= 4
    assert sim.count(status=429) == 0
    assert sim.count("folders.children") == 10  # one per folder: 5 children + 5 grandchildren


def test_delta_after_out_of_band_add_modify_delete(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector()
    cursors = cursors_of(connector.pull({}))
    sim.clear_log()
    added = sim.add_contact(
        COACH, name="New Person", emails=["new@example.fi"], folder=ids["clients"]
    )
    sim.update_contact(COACH, ids["anna"], emails=["anna@example.fi"])
    sim.delete_contact(COACH, ids["old"], purge=True)
    sim.update_event(COACH, ids["meeting"], subject="Coaching: Anna Virtanen")
    sim.delete_event(COACH, ids["theirs"])
    new_event = sim.add_event(
        ASSISTANT, subject="Intro", start=soon(1), attendees=[("X", "x@e.fi")]
    )

    changes = list(connector.pull(cursors))
    assert round_starts(changes) == set()  # nothing is re-read from scratch
    assert not completed(changes)
    items = upserts(changes)
    assert set(items) == {added, ids["anna"], ids["meeting"], new_event}
    assert [o.email for o in items[ids["anna"]].observations] == ["anna@example.fi"]
    # updates carry only what changed: the addresses (not the name), the subject
    assert items[ids["anna"]].covers == {RecordKind.CONTACT}
    assert items[ids["meeting"]].free_text == "Coaching: Anna Virtanen"
    assert items[ids["meeting"]].covers == frozenset()
    assert items[added].covers is None  # new items come whole
    assert removed(changes) == {ids["old"], ids["theirs"]}
    # one delta request per stream plus folder discovery; nothing else
    assert sim.count("contacts.delta") == 5
    assert sim.count("events.delta") == 2

    again = list(connector.pull(cursors | cursors_of(changes)))
    assert not upserts(again)


def test_expired_sync_state_restarts_only_that_stream(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector()
    cursors = cursors_of(connector.pull({}))
    sim.expire_delta_tokens(ASSISTANT)
    sim.delete_contact(ASSISTANT, ids["x"], purge=True)
    changes = list(connector.pull(cursors))
    expected = {
        f"contacts:{ASSISTANT}:default",
        f"contacts:{ASSISTANT}:{ids['assistant_folder']}",
        f"calendar:{ASSISTANT}",
    }
    assert sim.count("contacts.delta", status=410) == 2
    assert round_starts(changes) == expected == completed(changes)
    assert ids["y"] in upserts(changes)
    assert ids["x"] not in upserts(changes)  # gone: the complete round marks it removed
    assert not {c.stream for c in changes if isinstance(c, ItemUpsert)} - expected


def test_crash_mid_round_resumes_from_the_next_link(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    sim.populate([COACH], contacts=CONTACTS_PAGE * 3, events=0, child_folders=0)
    connector = make_connector([COACH])
    stream = f"contacts:{COACH}:default"
    # first run dies after the first page of the full round
    first: list[object] = []
    for change in connector.pull({}):
        first.append(change)
        if isinstance(change, Checkpoint) and change.stream == stream:
            break
    partial = cursors_of(first)  # type: ignore[arg-type]
    assert json.loads(partial[stream])["full"] is True
    rerun = list(connector.pull(partial))
    assert stream not in round_starts(rerun)  # the round the lost run opened goes on
    assert stream in completed(rerun)
    resumed = [c for c in upserts(rerun).values() if c.stream == stream]
    assert len(resumed) == CONTACTS_PAGE * 2  # nothing lost, nothing read twice
    assert not set(upserts(first)) & {c.external_id for c in resumed}  # type: ignore[arg-type]
    cursors = cursors_of(rerun)
    # an incremental round is resumed from its next link
    for contact_id in sim.contact_ids(COACH)[: CONTACTS_PAGE + 5]:
        sim.update_contact(COACH, contact_id, jobTitle="Changed")
    seen: list[object] = []
    for change in connector.pull(cursors):
        seen.append(change)
        if isinstance(change, Checkpoint) and change.stream == stream:
            break
    mid = cursors | cursors_of(seen)  # type: ignore[arg-type]
    assert json.loads(mid[stream])["full"] is False
    rest = list(connector.pull(mid))
    assert stream not in round_starts(rest)
    assert len(upserts(seen)) + len(upserts(rest)) == CONTACTS_PAGE + 5  # type: ignore[arg-type]


def test_a_deleted_folder_ends_its_stream(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector()
    cursors = cursors_of(connector.pull({}))
    sim.delete_folder(COACH, ids["clients"])  # and its child "Archive"
    changes = list(connector.pull(cursors))
    gone = {f"contacts:{COACH}:{ids['clients']}", f"contacts:{COACH}:{ids['archive']}"}
    assert gone <= completed(changes)
    assert gone <= round_starts(changes)
    later = list(connector.pull(cursors | cursors_of(changes)))
    assert not (round_starts(later) & gone)


def test_the_calendar_window_is_rebased_after_a_week(
    sim: GraphSimulator, make_connector: ConnectorFactory, clock: ManualClock
) -> None:
    seed(sim)
    connector = make_connector()
    cursors = cursors_of(connector.pull({}))
    clock.advance(timedelta(days=3))
    assert not round_starts(connector.pull(cursors))
    clock.advance(timedelta(days=5))
    restarted = round_starts(connector.pull(cursors))
    assert restarted == {f"calendar:{COACH}", f"calendar:{ASSISTANT}"}


def test_a_mailbox_outside_the_access_policy_does_not_stop_the_other(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    sim.deny_mailbox(ASSISTANT)
    changes = list(make_connector().pull({}))
    problems = [c for c in changes if isinstance(c, StreamProblem)]
    assert {p.stream for p in problems} == {
        f"contacts:{ASSISTANT}:*",  # the folder tree could not be listed
        f"contacts:{ASSISTANT}:default",  # the default folder is still tried
        f"calendar:{ASSISTANT}",
    }
    assert all("403" in p.message and ASSISTANT not in p.message for p in problems)
    assert ids["anna"] in upserts(changes)


def test_rejected_token_is_an_auth_error(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    seed(sim)
    connector = make_connector()
    connector.check()
    sim.revoke_tokens()  # the credential's cached token is no longer accepted
    with pytest.raises(AuthError):
        list(connector.pull({}))
    stale = make_connector()
    sim.client_secret = "rotated"  # the stored secret no longer matches
    with pytest.raises(AuthError) as caught:
        stale.check()
    assert sim.select("token")[-1].status == 401
    assert "rotated" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "syncStateNotFound"), (400, "resyncRequired"), (403, "SYNCSTATEINVALID")],
)
def test_a_sync_state_reset_is_one_full_round_then_a_clean_sync(
    sim: GraphSimulator, make_connector: ConnectorFactory, status: int, code: str
) -> None:
    """'a 40X-series error with error codes such as syncStateNotFound' (delta-query overview),
    resyncRequired (errors.md): not only 410 means "read the stream from the start"."""
    ids = seed(sim)
    connector = make_connector()
    cursors = cursors_of(connector.pull({}))
    sim.expire_delta_tokens(ASSISTANT, status=status, code=code)
    sim.delete_contact(ASSISTANT, ids["x"], purge=True)
    sim.clear_log()
    with structlog.testing.capture_logs() as logs:
        changes = list(connector.pull(cursors))
    expected = {
        f"contacts:{ASSISTANT}:default",
        f"contacts:{ASSISTANT}:{ids['assistant_folder']}",
        f"calendar:{ASSISTANT}",
    }
    assert not [c for c in changes if isinstance(c, StreamProblem)]
    assert round_starts(changes) == expected == completed(changes)
    assert ids["x"] not in upserts(changes)  # gone: the complete round marks it removed
    assert sim.count(status=status) == 3  # once per stream
    resets = [e for e in logs if e["event"] == "msgraph.sync_state_expired"]
    assert sorted(e["collection"] for e in resets) == ["calendar", "contacts", "contacts"]
    assert {(e["status"], e["code"], e["mailbox"]) for e in resets} == {
        (status, code, "mailboxes[1]")
    }
    assert not any(ASSISTANT in json.dumps(e, default=str) for e in resets)
    sim.clear_log()
    clean = list(connector.pull(cursors | cursors_of(changes)))
    assert not round_starts(clean)
    assert not upserts(clean)
    assert sim.count(status=status) == 0


def test_a_reset_that_repeats_becomes_a_stream_problem(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    seed(sim)
    connector = make_connector([COACH])
    cursors = cursors_of(connector.pull({}))
    body = {"error": {"code": "syncStateNotFound", "message": "The sync state is not found."}}
    sim.inject(status=400, body=body, count=2, endpoint="events.delta")
    sim.clear_log()
    changes = list(connector.pull(cursors))
    (problem,) = [c for c in changes if isinstance(c, StreamProblem)]
    assert problem.stream == f"calendar:{COACH}"
    assert "400 syncStateNotFound" in problem.message
    assert sim.count("events.delta") == 2  # the delta link, then one full round: no loop
    assert f"contacts:{COACH}:default" in cursors_of(changes)


def test_a_403_on_one_child_folder_leaves_the_other_folders_indexed(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector([COACH])
    cursors = cursors_of(connector.pull({}))
    sim.add_contact(COACH, name="Late Comer", emails=["late@example.fi"])
    sim.inject(status=403, count=100, path_contains=f"/contactFolders/{ids['clients']}/")
    changes = list(connector.pull({}, full=True))
    problems = {c.stream: c.message for c in changes if isinstance(c, StreamProblem)}
    assert set(problems) == {f"contacts:{COACH}:{ids['clients']}"}
    assert all("403 ErrorAccessDenied" in m for m in problems.values())
    items = upserts(changes)
    assert ids["anna"] in items  # the default folder
    assert ids["bob"] not in items
    assert f"calendar:{COACH}" in completed(changes)
    # an incremental pull with the folder still refused: Archive (below it) is not taken for gone
    again = list(connector.pull(cursors))
    archive = f"contacts:{COACH}:{ids['archive']}"
    assert archive not in round_starts(again) | completed(again)
    assert len(upserts(again)) == 1  # the late comer, in the default folder


def test_a_folder_deleted_between_listing_and_reading_is_marked_gone(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector([COACH])
    cursors = cursors_of(connector.pull({}))
    sim.inject(
        status=0,
        endpoint="contacts.delta",
        path_contains=ids["archive"],
        action=lambda: sim.delete_folder(COACH, ids["archive"]),
    )
    changes = list(connector.pull(cursors))
    archive = f"contacts:{COACH}:{ids['archive']}"
    assert not [c for c in changes if isinstance(c, StreamProblem)]
    assert archive in round_starts(changes) & completed(changes)
    assert json.loads(cursors_of(changes)[archive]) == {"gone": True}
    assert sim.count("contacts.delta", status=404) == 1


def test_a_404_on_a_folder_that_still_exists_is_a_problem_not_a_deletion(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    ids = seed(sim)
    connector = make_connector([COACH])
    cursors = cursors_of(connector.pull({}))
    sim.inject(status=404, endpoint="contacts.delta", path_contains=ids["archive"])
    changes = list(connector.pull(cursors))
    archive = f"contacts:{COACH}:{ids['archive']}"
    assert [c.stream for c in changes if isinstance(c, StreamProblem)] == [archive]
    assert archive not in completed(changes)
