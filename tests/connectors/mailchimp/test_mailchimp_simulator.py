"""The simulator behaves like the documented API (raw HTTP, so the client's quirks stay out)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from syncaudit.clock import ManualClock
from syncaudit_mailchimp.simulator import MailchimpSimulator, subscriber_hash


class Api:
    def __init__(self, sim: MailchimpSimulator) -> None:
        self.sim = sim
        self.session = requests.Session()
        self.session.auth = ("anystring", sim.api_key)

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.sim.url + path, timeout=5, **kwargs)


@pytest.fixture
def api(sim: MailchimpSimulator) -> Api:
    return Api(sim)


def test_member_shape_and_hash(sim: MailchimpSimulator, api: Api) -> None:
    lid = sim.add_audience("Newsletter")
    sim.add_member(lid, "Anna.Virtanen@Example.FI", fname="Anna", lname="Virtanen", tags=["x"])
    member = api("GET", f"/lists/{lid}/members/{subscriber_hash('anna.virtanen@example.fi')}")
    body = member.json()
    assert body["id"] == subscriber_hash("anna.virtanen@example.fi")
    assert body["email_address"] == "Anna.Virtanen@Example.FI"  # case preserved
    for key in (
        "unique_email_id",
        "contact_id",
        "full_name",
        "status",
        "merge_fields",
        "timestamp_signup",
        "last_changed",
        "location",
        "tags",
        "list_id",
        "ip_signup",
    ):
        assert key in body
    assert api("GET", f"/lists/{lid}/members/Anna.Virtanen@Example.FI").status_code == 404


def test_paging_fields_and_count_limit(sim: MailchimpSimulator, api: Api) -> None:
    lid = sim.add_audience("Newsletter")
    for i in range(5):
        sim.add_member(lid, f"p{i}@example.com")
    page = api(
        "GET",
        f"/lists/{lid}/members",
        params={"count": 2, "offset": 4, "fields": "members.id,members.merge_fields.FNAME"},
    ).json()
    assert page == {
        "members": [{"id": subscriber_hash("p4@example.com"), "merge_fields": {"FNAME": ""}}]
    }  # no total_items unless asked
    excluded = api("GET", f"/lists/{lid}/members", params={"exclude_fields": "members._links"})
    assert "_links" not in excluded.json()["members"][0]
    assert excluded.json()["total_items"] == 5
    too_many = api("GET", f"/lists/{lid}/members", params={"count": 1001})
    assert too_many.status_code == 400
    assert too_many.headers["Content-Type"].startswith("application/problem+json")


def test_archived_only_on_request_and_since_last_changed(
    sim: MailchimpSimulator, api: Api, clock: ManualClock
) -> None:
    lid = sim.add_audience("Newsletter")
    sim.add_member(lid, "a@example.com")
    sim.add_member(lid, "b@example.com")
    clock.advance(60)
    assert (
        api("DELETE", f"/lists/{lid}/members/{subscriber_hash('b@example.com')}").status_code == 204
    )
    default = api("GET", f"/lists/{lid}/members").json()
    assert [m["email_address"] for m in default["members"]] == ["a@example.com"]
    archived = api("GET", f"/lists/{lid}/members", params={"status": "archived"}).json()
    assert [m["status"] for m in archived["members"]] == ["archived"]
    later = "2026-03-02T09:00:30+00:00"
    changed = api("GET", f"/lists/{lid}/members", params={"since_last_changed": later}).json()
    assert changed["total_items"] == 0  # archived members are not in the default listing
    changed = api(
        "GET", f"/lists/{lid}/members", params={"since_last_changed": "2026-03-02T09:00:30+00:00"}
    ).json()
    assert changed["total_items"] == 0  # archived members are not in the default listing
    changed = api(
        "GET",
        f"/lists/{lid}/members",
        params={"since_last_changed": later, "status": "archived"},
    ).json()
    assert changed["total_items"] == 1


def test_delete_permanent_forgets_and_refuses_re_add(sim: MailchimpSimulator, api: Api) -> None:
    lid = sim.add_audience("Newsletter")
    sim.add_member(lid, "gone@example.com")
    h = subscriber_hash("gone@example.com")
    first = api("POST", f"/lists/{lid}/members/{h}/actions/delete-permanent")
    assert first.status_code == 204 and first.content == b""
    assert api("GET", f"/lists/{lid}/members/{h}").status_code == 404
    assert api("POST", f"/lists/{lid}/members/{h}/actions/delete-permanent").status_code == 404
    for method, path in (("POST", f"/lists/{lid}/members"), ("PUT", f"/lists/{lid}/members/{h}")):
        refused = api(
            method, path, json={"email_address": "gone@example.com", "status": "subscribed"}
        )
        assert refused.status_code == 400
        assert refused.json()["title"] == "Forgotten Email Not Subscribed"
    form = requests.post(
        sim.form_url, params={"id": lid}, data={"EMAIL": "gone@example.com"}, timeout=5
    )
    assert form.status_code == 200
    assert api("GET", f"/lists/{lid}/members/{h}").json()["status"] == "subscribed"


def test_member_exists_and_compliance_state(sim: MailchimpSimulator, api: Api) -> None:
    lid = sim.add_audience("Newsletter")
    sim.add_member(lid, "u@example.com", status="unsubscribed")
    body = {"email_address": "u@example.com", "status": "subscribed"}
    assert api("POST", f"/lists/{lid}/members", json=body).json()["title"] == "Member Exists"
    patch = api(
        "PATCH",
        f"/lists/{lid}/members/{subscriber_hash('u@example.com')}",
        json={"status": "subscribed"},
    )
    assert patch.json()["title"] == "Member In Compliance State"


def test_lookup_by_email_endpoints(sim: MailchimpSimulator, api: Api) -> None:
    a, b = sim.add_audience("A"), sim.add_audience("B")
    sim.add_member(a, "X@Example.com")
    sim.add_member(b, "x@example.com")
    sim.archive_member(b, "x@example.com")
    lists = api("GET", "/lists", params={"email": "x@example.com"}).json()
    assert [x["id"] for x in lists["lists"]] == [a, b]
    found = api("GET", "/search-members", params={"query": "x@example.com"}).json()
    assert found["exact_matches"]["total_items"] == 2


def test_auth_connection_limit_and_faults(sim: MailchimpSimulator, api: Api) -> None:
    assert requests.get(sim.url + "/ping", auth=("u", "wrong"), timeout=5).status_code == 401
    sim.inject(status=503, empty_body=True, count=1)
    empty = api("GET", "/ping")
    assert empty.status_code == 503 and empty.content == b""
    assert api("GET", "/ping").status_code == 200

    sim.gate = threading.Event()  # the first ten stay in flight until the eleventh is answered
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(Api(sim)("GET", "/ping").status_code))
        for _ in range(10)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sim.inflight < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.inflight == 10
    assert Api(sim)("GET", "/ping").status_code == 429
    sim.gate.set()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 10
    assert [e.status for e in sim.requests][:3] == [401, 503, 200]


def test_populate_is_quick_and_realistic(sim: MailchimpSimulator, api: Api) -> None:
    ids = sim.populate(3000, audiences=2, overlap=0.2, archived=0.05)
    totals = [
        api("GET", f"/lists/{i}/members", params={"count": 0}).json()["total_items"] for i in ids
    ]
    archived = [
        api("GET", f"/lists/{i}/members", params={"count": 0, "status": "archived"}).json()[
            "total_items"
        ]
        for i in ids
    ]
    assert 2700 < sum(totals) + sum(archived) <= 3000
    assert all(a > 0 for a in archived)
    second = api("GET", f"/lists/{ids[1]}/members", params={"count": 1000}).json()["members"]
    assert any(m["email_address"] != m["email_address"].lower() for m in second)
