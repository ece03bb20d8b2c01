from __future__ import annotations

from starlette.testclient import TestClient

from .helpers import csrf_of


def test_every_page_renders(signed_in: TestClient) -> None:
    for path in ("/", "/person", "/requests/new", "/requests", "/reports", "/exports"):
        response = signed_in.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
    token = csrf_of(signed_in.get("/person").text)
    found = signed_in.post("/person", data={"email": "anna.virtanen@example.fi", "csrf": token})
    assert found.status_code == 200, found.text[-3000:]
    assert "c1" in found.text
    plan = signed_in.post(
        "/requests/new",
        data={
            "email": "anna.virtanen@example.fi",
            "kind": "erasure",
            "step": "plan",
            "csrf": token,
        },
    )
    assert plan.status_code == 200, plan.text[-3000:]
    done = signed_in.post(
        "/requests/new",
        data={
            "email": "anna.virtanen@example.fi",
            "kind": "erasure",
            "step": "confirm",
            "csrf": token,
        },
    )
    assert done.status_code == 200, done.text[-3000:]
    assert done.url.path.startswith("/requests/E-")
