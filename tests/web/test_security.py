"""The console keeps everyone out but its accounts, and says nothing to anyone else."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.testclient import TestClient

from syncaudit import logging as slog
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.models import AuditEntry, ErasureRequest, WebSession
from syncaudit.web.accounts import FREE_FAILURES
from syncaudit.web.app import create_app
from syncaudit.web.console import Console

from .helpers import PASSWORD, csrf_of, sign_in

ANNA = "anna.virtanen@example.fi"
PAGES = ["/", "/person", "/requests/new", "/requests", "/reports", "/exports"]
ACTIONS = [
    "/signout",
    "/person",
    "/requests/new",
    "/requests/E-20260302-abcdef/confirm",
    "/requests/E-20260302-abcdef/retry",
    "/reports",
]


def _erasure(client: TestClient, email: str = ANNA) -> str:
    token = csrf_of(client.get("/requests/new").text)
    done = client.post(
        "/requests/new", data={"email": email, "kind": "erasure", "step": "confirm", "csrf": token}
    )
    assert done.status_code == 200, done.text
    return done.url.path.rsplit("/", 1)[1]


def _requests(world: App) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ErasureRequest)) or 0)


def test_without_a_session_every_page_and_action_is_the_sign_in_page(
    client: TestClient, world: App
) -> None:
    request_id = _erasure(_signed_in_copy(world))
    targets = [*PAGES, f"/requests/{request_id}", "/reports/files/x.html", "/exports/A-1/html"]
    for path in targets:
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (303, 404), path
        if response.status_code == 303:
            assert response.headers["location"] == "/signin", path
    for path in [*ACTIONS, f"/requests/{request_id}/confirm"]:
        response = client.post(
            path, data={"email": ANNA, "system": "paper"}, follow_redirects=False
        )
        assert response.status_code == 303, path
        assert response.headers["location"] == "/signin", path
    shown = client.get(f"/requests/{request_id}")  # followed: the sign-in page, and no data
    assert shown.url.path == "/signin"
    for secret in (request_id, "Anna", "anna", "crm", "paper"):
        assert secret not in shown.text
    assert _requests(world) == 1


def _signed_in_copy(world: App) -> TestClient:
    other = TestClient(create_app(world), base_url="http://127.0.0.1")
    assert sign_in(other).url.path == "/"
    return other


def test_a_post_without_or_with_a_wrong_form_token_is_refused(
    signed_in: TestClient, world: App
) -> None:
    data = {"email": ANNA, "kind": "erasure", "step": "confirm"}
    for token in (None, "", "x" * 43, csrf_of(signed_in.get("/signin").text) + "x"):
        sent = data if token is None else {**data, "csrf": token}
        response = signed_in.post("/requests/new", data=sent)
        assert response.status_code == 403
        assert "Nothing was changed" in response.text
    # another browser's token is not this session's
    foreign = csrf_of(_signed_in_copy(world).get("/").text)
    assert signed_in.post("/requests/new", data={**data, "csrf": foreign}).status_code == 403
    # the right token from another site
    token = csrf_of(signed_in.get("/").text)
    response = signed_in.post(
        "/requests/new", data={**data, "csrf": token}, headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403
    response = signed_in.post(
        "/requests/new", data={**data, "csrf": token}, headers={"sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 403
    assert _requests(world) == 0
    assert signed_in.post("/requests/new", data={**data, "csrf": token}).status_code == 200
    assert _requests(world) == 1


def test_sign_in_needs_the_pre_session_token(client: TestClient) -> None:
    client.get("/signin")
    response = client.post("/signin", data={"name": "owner", "password": PASSWORD, "csrf": "no"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("xss@example.fi", "<script>alert(1)</script>"),
        ("img@example.fi", '"><img src=x onerror=alert(1)>'),
    ],
)
def test_a_hostile_name_shows_as_text(signed_in: TestClient, email: str, name: str) -> None:
    token = csrf_of(signed_in.get("/person").text)
    for response in (
        signed_in.post("/person", data={"email": email, "csrf": token}),
        signed_in.post(
            "/requests/new", data={"email": email, "kind": "erasure", "step": "plan", "csrf": token}
        ),
    ):
        assert response.status_code == 200
        assert name not in response.text
        assert "<script" not in response.text
        assert "<img" not in response.text
    shown = signed_in.post("/person", data={"email": email, "csrf": token}).text
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped.replace('"', "&#34;") in shown or escaped in shown


def test_ten_wrong_passwords_throttle_the_account(
    client: TestClient, world: App, clock: ManualClock
) -> None:
    statuses = [sign_in(client, password=f"wrong password {i}").status_code for i in range(10)]
    assert statuses[: FREE_FAILURES - 1] == [401] * (FREE_FAILURES - 1)
    assert statuses[-1] == 429
    refused = sign_in(client)  # the right password, too soon
    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.text
    unknown = [sign_in(client, name="nobody", password="x" * 12).status_code for _ in range(10)]
    assert unknown[-1] == 429  # unknown names are throttled alike
    clock.advance(timedelta(minutes=16))
    assert sign_in(client).url.path == "/"
    with world.db.session() as s:
        events = list(
            s.scalars(select(AuditEntry.data).where(AuditEntry.event.like("web.signin%")))
        )
    assert any('"operator":"owner"' in e for e in events)
    assert all("nobody" not in e for e in events)  # an unknown name is never recorded


def test_session_cookie_flags_over_http_https_and_a_trusted_proxy(
    world: App, tmp_path: Path
) -> None:
    plain = TestClient(create_app(world), base_url="http://127.0.0.1")
    cookie = sign_in(plain).history[0].headers["set-cookie"]
    assert "syncaudit_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    tls = TestClient(create_app(world), base_url="https://127.0.0.1")
    cookie = sign_in(tls).history[0].headers["set-cookie"]
    assert cookie.startswith("__Host-syncaudit_session=")
    assert "Secure" in cookie
    console = Console(_with_proxy(world, "127.0.0.1"))
    assert console.is_secure(_request("127.0.0.1", "https"))  # what the TLS proxy says
    assert not console.is_secure(_request("10.0.0.9", "https"))  # anyone else: not believed
    assert not console.is_secure(_request("127.0.0.1", "http"))


def _with_proxy(world: App, trusted: str) -> App:
    from dataclasses import replace

    settings = replace(world.settings, web=replace(world.settings.web, trusted_proxies=(trusted,)))
    return App(settings, clock=world.clock)


def _request(client: str, proto: str) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": "http",
            "method": "GET",
            "path": "/",
            "query_string": b"",
            "server": ("127.0.0.1", 8080),
            "client": (client, 4000),
            "headers": [(b"x-forwarded-proto", proto.encode()), (b"host", b"console.example")],
        }
    )


def test_idle_sessions_end_and_signing_out_ends_the_session(
    signed_in: TestClient, world: App, clock: ManualClock
) -> None:
    assert signed_in.get("/").url.path == "/"
    clock.advance(world.settings.web.idle_timeout + timedelta(seconds=1))
    assert signed_in.get("/").url.path == "/signin"
    assert sign_in(signed_in).url.path == "/"
    old = dict(signed_in.cookies)
    token = csrf_of(signed_in.get("/").text)
    assert signed_in.post("/signout", data={"csrf": token}).url.path == "/signin"
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    signed_in.cookies.update(old)  # the old cookie, replayed
    assert signed_in.get("/").url.path == "/signin"


def test_headers_forbid_every_external_source_and_caching(signed_in: TestClient) -> None:
    for path in [*PAGES, "/signin", "/static/console.css", "/nowhere"]:
        response = signed_in.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src" not in csp  # no script at all
        assert "http" not in csp and "*" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers or "uvicorn" not in response.headers["server"]
        if not path.startswith("/static"):
            assert response.headers["cache-control"] == "no-store"
        if response.headers.get("content-type", "").startswith("text/html"):
            assert "<script" not in response.text
            assert not re.search(r"(src|href)=\"(https?:)?//", response.text)


def test_no_address_reaches_the_access_log(signed_in: TestClient) -> None:
    buffer = io.StringIO()
    slog.configure(fmt="json", level="info", stream=buffer)
    token = csrf_of(signed_in.get("/person").text)
    signed_in.post("/person", data={"email": ANNA, "csrf": token})
    signed_in.post(
        "/requests/new", data={"email": ANNA, "kind": "erasure", "step": "plan", "csrf": token}
    )
    signed_in.get(f"/person/{ANNA}")  # a hand-typed URL with an address: 404, and not logged
    signed_in.get(f"/requests/{ANNA}")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    requests = [line for line in lines if line["event"] == "web.request"]
    assert {r["path"] for r in requests} >= {"/person", "/requests/new"}
    assert "@" not in buffer.getvalue()
    assert "anna" not in buffer.getvalue().lower()
    assert "search" not in json.dumps(requests)  # no query strings either


def test_lookups_and_actions_are_evidence_by_account_and_pseudonym(
    signed_in: TestClient, world: App
) -> None:
    token = csrf_of(signed_in.get("/person").text)
    signed_in.post("/person", data={"email": ANNA, "csrf": token})
    request_id = _erasure(signed_in)
    with world.db.session() as s:
        query = select(AuditEntry.event, AuditEntry.subject, AuditEntry.data, AuditEntry.request_id)
        rows = list(s.execute(query))
    by_event = {event: (subject, data, rid) for event, subject, data, rid in rows}
    _, pseudonym = world.pseudonym_of(ANNA)
    assert by_event["web.lookup"][0] == pseudonym
    assert '"operator":"owner"' in by_event["web.lookup"][1]
    assert by_event["web.request_created"][0] == pseudonym
    assert by_event["web.request_created"][2] == request_id
    assert all("anna" not in (data or "").lower() for _, _, data, _ in rows)
