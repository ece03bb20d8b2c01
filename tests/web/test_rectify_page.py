"""The person page offers rectification: corrections asked for, dry run, confirm, and the
manual steps of systems that cannot correct by themselves (the fake CRM has no RECTIFY)."""

from __future__ import annotations

from starlette.testclient import TestClient

from syncaudit.app import App
from syncaudit.erasure.requests import show
from syncaudit.erasure.worker import worker_slot

from .helpers import csrf_of

ANNA = "anna.virtanen@example.fi"
EVIL = "Anna <script>alert(1)</script> Korhonen"


def _post(client: TestClient, path: str, **data: str) -> str:
    token = csrf_of(client.get("/").text)
    response = client.post(path, data={**data, "csrf": token})
    assert response.status_code == 200, response.text
    return response.text


def test_rectification_from_the_person_page(signed_in: TestClient, world: App) -> None:
    person = _post(signed_in, "/person", email=ANNA)
    assert 'id="start-rectification"' in person
    form = _post(signed_in, "/requests/new", email=ANNA, kind="rectification", step="plan")
    assert 'name="new_name"' in form and 'name="new_email"' in form
    plan = _post(
        signed_in, "/requests/new", email=ANNA, kind="rectification", step="plan", new_name=EVIL
    )
    assert "correct it by hand in crm" in plan
    assert "<script>alert(1)</script>" not in plan  # escaped in the confirm form's values
    token = csrf_of(signed_in.get("/").text)
    done = signed_in.post(
        "/requests/new",
        data={
            "email": ANNA,
            "kind": "rectification",
            "step": "confirm",
            "new_name": "Anna Korhonen",
            "csrf": token,
        },
    )
    assert done.status_code == 200, done.text[-1500:]
    request_id = done.url.path.rsplit("/", 1)[1]
    assert request_id.startswith("R-")
    with worker_slot(world) as worker:  # the service's part
        worker.run_until_idle()
    detail = signed_in.get(done.url.path).text
    assert "Anna Korhonen" in detail  # the manual step's instructions
    for system in ("crm", "paper"):
        _post(signed_in, f"{done.url.path}/confirm", system=system, note="corrected")
    assert show(world, request_id)["state"] == "completed"
    assert world.subject(ANNA)["display_name"] == "Anna Korhonen"


def test_a_rectification_without_corrections_is_refused(signed_in: TestClient) -> None:
    token = csrf_of(signed_in.get("/").text)
    page = signed_in.post(
        "/requests/new",
        data={
            "email": ANNA,
            "kind": "rectification",
            "step": "confirm",
            "new_email": "not an address",
            "csrf": token,
        },
    )
    assert "not a valid address" in page.text
