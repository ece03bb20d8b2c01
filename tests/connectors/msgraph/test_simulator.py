"""The simulator speaks Graph's shapes and errors (checked with plain httpx, no SDK)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from syncaudit_msgraph.simulator import GraphSimulator

from .support import MAILBOXES, soon

COACH = MAILBOXES[0]


@pytest.fixture
def http(sim: GraphSimulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    with httpx.Client(base_url=sim.graph_url + f"/users/{COACH}", headers=headers) as client:
        yield client


def test_lists_page_with_next_links(sim: GraphSimulator, http: httpx.Client) -> None:
    for n in range(25):
        sim.add_contact(COACH, name=f"P {n}", emails=[f"p{n}@example.com"])
    first = http.get("/contacts", params={"$top": "10"}).json()
    assert len(first["value"]) == 10
    assert first["@odata.context"].endswith("/contacts")
    third = http.get(http.get(first["@odata.nextLink"]).json()["@odata.nextLink"]).json()
    assert len(third["value"]) == 5
    assert "@odata.nextLink" not in third


def test_errors_have_graph_shapes(sim: GraphSimulator, http: httpx.Client) -> None:
    assert http.get("/contacts/delta", params={"$top": "5"}).status_code == 400
    no_window = http.get("/calendarView")
    assert no_window.json()["error"]["code"] == "ErrorInvalidParameter"
    missing = http.get("/events/AAMkADnope=")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "innerError"}
    assert httpx.get(sim.graph_url + f"/users/{COACH}/contacts").status_code == 401
    unknown = http.get(sim.graph_url + "/users/nobody@example.fi/contacts")
    assert unknown.json()["error"]["code"] == "ErrorInvalidUser"


def test_deleted_items_versus_purged(sim: GraphSimulator, http: httpx.Client) -> None:
    contact = sim.add_contact(COACH, name="Anna", emails=["anna@example.fi"])
    assert http.delete(f"/contacts/{contact}").status_code == 204
    assert http.get(f"/contacts/{contact}").json()["parentFolderId"] == "deleteditems"
    assert http.post(f"/contacts/{contact}/permanentDelete").status_code == 204
    gone = http.get(f"/contacts/{contact}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "ErrorItemNotFound")


def test_only_the_organiser_can_cancel(sim: GraphSimulator, http: httpx.Client) -> None:
    theirs = sim.add_event(
        COACH, subject="x", start=soon(), organizer=("Bob", "bob@example.com"), attendees=[]
    )
    refused = http.post(f"/events/{theirs}/cancel", json={"comment": ""})
    assert refused.status_code == 400
    assert "organizer" in refused.json()["error"]["message"]


def test_send_mail_is_recorded(sim: GraphSimulator, http: httpx.Client) -> None:
    message = {"subject": "Erasure done", "toRecipients": [{"emailAddress": {"address": "a@b.fi"}}]}
    assert http.post("/sendMail", json={"message": message}).status_code == 202
    assert sim.sent_mail == [{"from": COACH, "message": message}]


def test_injected_faults_and_the_request_log(sim: GraphSimulator, http: httpx.Client) -> None:
    sim.inject(status=429, retry_after="2", count=1, path_contains="/contacts")
    throttled = http.get("/contacts")
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "2")
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert http.get("/contacts").status_code == 200
    assert [r.status for r in sim.select("contacts.list")] == [429, 200]


def monday(weeks_ago: int = 4) -> datetime:
    day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    day -= timedelta(weeks=weeks_ago)
    return day - timedelta(days=day.weekday())


def window(start: datetime, days: int) -> dict[str, str]:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "startDateTime": start.strftime(fmt),
        "endDateTime": (start + timedelta(days=days)).strftime(fmt),
    }


def test_calendar_view_expands_a_series_never_showing_its_master(
    sim: GraphSimulator, http: httpx.Client
) -> None:
    start = monday()
    master = sim.add_series(
        COACH, subject="Coaching", start=start, count=6, attendees=[("Anna", "anna@example.fi")]
    )
    moved = sim.modify_occurrence(COACH, master, start + timedelta(weeks=1), subject="Moved")
    sim.cancel_occurrence(COACH, master, start + timedelta(weeks=2))
    view = http.get("/calendarView", params={**window(start, 365), "$top": "100"}).json()["value"]
    assert [e["type"] for e in view] == ["occurrence", "exception"] + ["occurrence"] * 3
    assert {e["seriesMasterId"] for e in view} == {master}
    assert [e["subject"] for e in view][:2] == ["Coaching", "Moved"]
    assert view[1]["id"] == moved
    assert len({e["iCalUId"] for e in view}) == 5
    instances = http.get(f"/events/{master}/instances", params=window(start, 365)).json()
    assert [e["id"] for e in instances["value"]] == [e["id"] for e in view]
    assert http.get(f"/events/{master}").json()["recurrence"]["range"]["numberOfOccurrences"] == 6
    # a change to the master reaches the occurrences, not what an exception overrides
    assert http.patch(f"/events/{master}", json={"subject": "Renamed"}).status_code == 200
    assert http.get(f"/events/{moved}").json()["subject"] == "Moved"
    assert http.get(f"/events/{view[0]['id']}").json()["subject"] == "Renamed"
    # PATCH of an occurrence makes it an exception; DELETE cancels it
    third = view[2]["id"]
    assert http.patch(f"/events/{third}", json={"subject": "Own"}).json()["type"] == "exception"
    assert http.delete(f"/events/{third}").status_code == 204
    assert http.get(f"/events/{third}").status_code == 404


def test_calendar_view_delta_sends_masters_stubs_and_partial_updates(
    sim: GraphSimulator, http: httpx.Client
) -> None:
    start = monday()
    master = sim.add_series(COACH, subject="Coaching", start=start, count=3)
    single = sim.add_event(COACH, subject="One", start=start + timedelta(days=1), location="Room")
    first = http.get(
        "/calendarView/delta",
        params=window(start - timedelta(days=1), 365),
        headers={"Prefer": "odata.maxpagesize=50"},
    ).json()
    kinds = sorted(e["type"] for e in first["value"])
    assert kinds == ["occurrence"] * 3 + ["seriesMaster", "singleInstance"]
    stub = next(e for e in first["value"] if e["type"] == "occurrence")
    assert set(stub) == {
        "@odata.type",
        "@odata.etag",
        "id",
        "type",
        "seriesMasterId",
        "start",
        "end",
    }
    sim.update_event(COACH, single, subject="Two")
    changed = http.get(first["@odata.deltaLink"]).json()["value"]
    assert [set(e) for e in changed] == [
        {"@odata.etag", "id", "changeKey", "lastModifiedDateTime", "subject"}
    ]
    assert master not in {e["id"] for e in changed}


def test_an_expired_delta_token_answers_as_configured(
    sim: GraphSimulator, http: httpx.Client
) -> None:
    sim.add_contact(COACH, name="P", emails=["p@example.com"])
    link = http.get("/contacts/delta").json()["@odata.deltaLink"]
    sim.expire_delta_tokens(COACH, status=400, code="syncStateNotFound")
    expired = http.get(link)
    assert (expired.status_code, expired.json()["error"]["code"]) == (400, "syncStateNotFound")
    unknown = http.get("/contacts/delta", params={"$deltatoken": "never-issued"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (410, "SyncStateNotFound")


def test_deleted_items_hold_contacts_and_events_until_purged(
    sim: GraphSimulator, http: httpx.Client
) -> None:
    contact = sim.add_contact(COACH, name="Anna", emails=["anna@example.fi"])
    event = sim.add_event(COACH, subject="Anna", start=monday())
    sim.delete_contact(COACH, contact)
    sim.delete_event(COACH, event)
    found = http.get(
        "/contactFolders/deleteditems/contacts",
        params={"$filter": "emailAddresses/any(a:a/address eq 'ANNA@example.fi')"},
    ).json()["value"]
    assert [c["id"] for c in found] == [contact]
    assert [e["id"] for e in http.get("/calendars/deleteditems/events").json()["value"]] == [event]
    purge = http.post(f"/contactFolders/deleteditems/contacts/{contact}/permanentDelete")
    assert purge.status_code == 204
    assert http.get("/contactFolders/deleteditems/contacts").json()["value"] == []
    assert http.get("/calendars/AAMkADother=/events").status_code == 404
