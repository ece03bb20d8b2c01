"""The simulator behaves like the documented API, unkind parts included."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests

from syncaudit.clock import ManualClock
from syncaudit_procountor.simulator import ProcountorSimulator


def _token(sim: ProcountorSimulator, **override: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "api_key": sim.api_key,
        **override,
    }
    return requests.post(sim.url + "/oauth/token", data=form, timeout=5)


def _get(sim: ProcountorSimulator, token: str, path: str, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(sim.url + path, params=params, headers=headers, timeout=5)


@pytest.fixture
def token(sim: ProcountorSimulator) -> str:
    reply = _token(sim)
    assert reply.status_code == 200
    body = reply.json()
    assert body["expires_in"] == 3600 and body["token_type"].lower() == "bearer"
    return str(body["access_token"])


def test_the_token_needs_the_client_and_the_api_key(sim: ProcountorSimulator) -> None:
    assert _token(sim, client_secret="wrong").status_code == 401
    assert _token(sim, api_key="wrong").status_code == 400
    assert _token(sim, grant_type="password").status_code == 400
    assert requests.get(sim.url + "/invoices", timeout=5).status_code == 401


def test_a_token_expires_after_its_hour(
    sim: ProcountorSimulator, token: str, clock: ManualClock
) -> None:
    assert _get(sim, token, "/invoices").status_code == 200
    clock.advance(3599)
    assert _get(sim, token, "/invoices").status_code == 200
    clock.advance(1)
    reply = _get(sim, token, "/invoices")
    assert reply.status_code == 401
    assert reply.json()["errors"][0]["status"] == 401


def test_paging_meta_and_the_maximum_size(sim: ProcountorSimulator, token: str) -> None:
    for n in range(5):
        sim.add_invoice(email=f"p{n}@x.example", name=f"P {n}", day=date(2025, 1, 1 + n))
    body = _get(sim, token, "/invoices", size=2, page=2, orderById="ASC").json()
    assert body["meta"] == {"pageNumber": 2, "pageSize": 2, "resultCount": 1, "totalCount": 5}
    default = _get(sim, token, "/invoices").json()
    ids = [r["id"] for r in default["results"]]
    assert ids == sorted(ids, reverse=True), "orderById defaults to DESC"
    assert default["meta"]["pageSize"] == 50
    assert "email" not in default["results"][0]["counterParty"], "search gives basic info only"
    assert _get(sim, token, "/invoices", size=201).status_code == 400


def test_get_by_ids_takes_at_most_200(sim: ProcountorSimulator, token: str) -> None:
    first = sim.add_invoice(email="a@x.example", name="A", day=date(2025, 1, 1))
    second = sim.add_invoice(email="b@x.example", name="B", day=date(2025, 1, 2))
    one = _get(sim, token, f"/invoices/{first}").json()
    assert one["counterParty"]["email"] == "a@x.example"
    both = _get(sim, token, f"/invoices/{second},{first},99999").json()
    assert [i["id"] for i in both] == [first, second]
    assert _get(sim, token, "/invoices/99999").status_code == 404
    assert _get(sim, token, "/invoices/" + ",".join(map(str, range(201)))).status_code == 400


def test_version_start_date_and_the_active_default(
    sim: ProcountorSimulator, clock: ManualClock
) -> None:
    old = sim.add_partner("Old Customer", email="old@x.example")
    gone = sim.add_partner("Former", email="former@x.example", active=False)
    clock.advance(timedelta(days=1))
    new = sim.add_partner("New Customer", email="new@x.example")
    token = _token(sim).json()["access_token"]
    since = (clock.now() - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    listed = _get(sim, token, "/businesspartners", versionStartDate=since).json()["results"]
    assert [p["id"] for p in listed] == [new]
    active = _get(sim, token, "/businesspartners", orderById="ASC").json()["results"]
    assert [p["id"] for p in active] == [old, new]
    inactive = _get(sim, token, "/businesspartners", active="false").json()["results"]
    assert [p["id"] for p in inactive] == [gone]
    assert "email" not in active[0]["invoicingInfo"], "search gives basic info only"


def test_the_rate_limit_answers_429_with_retry_after(clock: ManualClock) -> None:
    with ProcountorSimulator(clock=clock.now, max_requests_per_second=3) as sim:
        statuses = [_token(sim).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = _token(sim)
        assert limited.headers["Retry-After"] == "1"
        clock.advance(1)
        assert _token(sim).status_code == 200


def test_populate_plants_identity_codes(sim: ProcountorSimulator) -> None:
    sim.populate(200, partners=50, hetu_share=0.3)
    assert len(sim.invoice_ids()) == 200 and len(sim.partner_ids()) == 50
    assert len(sim.planted_hetus) > 20
