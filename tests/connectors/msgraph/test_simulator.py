"""The simulator speaks Graph's shapes and errors (checked with plain httpx, no SDK)."""

from __future__ import annotations

from collections.abc import Iterator

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
