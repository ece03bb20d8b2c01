"""The pages do what the CLI does, through the same core functions."""

from __future__ import annotations

import os
import time

from sqlalchemy import select
from starlette.testclient import TestClient

from syncaudit.app import App
from syncaudit.erasure.requests import show
from syncaudit.erasure.worker import worker_slot
from syncaudit.models import AuditEntry

from .helpers import csrf_of

ANNA = "anna.virtanen@example.fi"


def _post(client: TestClient, path: str, **data: str) -> str:
    token = csrf_of(client.get("/").text)
    response = client.post(path, data={**data, "csrf": token})
    assert response.status_code == 200, response.text
    return response.url.path


def test_erasure_dry_run_confirm_and_manual_step(signed_in: TestClient, world: App) -> None:
    token = csrf_of(signed_in.get("/").text)
    plan = signed_in.post(
        "/requests/new", data={"email": ANNA, "kind": "erasure", "step": "plan", "csrf": token}
    )
    assert "delete" in plan.text and "paper" in plan.text
    assert "c1" in world.connector("crm").system.items  # type: ignore[attr-defined]
    path = _post(signed_in, "/requests/new", email=ANNA, kind="erasure", step="confirm")
    request_id = path.rsplit("/", 1)[1]
    with worker_slot(world) as worker:  # the service's part
        worker.run_until_idle()
    detail = signed_in.get(path).text
    assert "Shred the card." in detail  # the manual step's instructions
    _post(signed_in, f"{path}/confirm", system="paper", note="shredded")
    view = show(world, request_id)
    assert view["state"] == "completed"
    assert {t["system"]: t["result"] for t in view["tasks"]} == {
        "crm": "erased",
        "paper": "confirmed",
    }
    overview = signed_in.get("/").text
    assert request_id not in overview  # no longer open
    assert "in time" in signed_in.get("/requests").text


def test_access_export_is_downloaded_while_kept(signed_in: TestClient, world: App) -> None:
    path = _post(
        signed_in, "/requests/new", email=ANNA, kind="access", step="confirm", doc_lang="fi"
    )
    request_id = path.rsplit("/", 1)[1]
    assert request_id.startswith("A-")
    assert "/exports/" not in signed_in.get("/exports").text  # not completed yet: not offered
    _post(signed_in, f"{path}/confirm", system="paper", note="nothing on paper")
    listing = signed_in.get("/exports").text
    assert f"/exports/{request_id}/html" in listing
    download = signed_in.get(f"/exports/{request_id}/json")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert ANNA in download.text  # the person's own data, for the person
    folder = world.settings.web.export_dir
    old = time.time() - 31 * 86400
    for file in folder.iterdir():
        os.utime(file, (old, old))
    assert signed_in.get(f"/exports/{request_id}/json").status_code == 404
    assert not list(folder.iterdir())
    with world.db.session() as s:
        events = list(
            s.scalars(select(AuditEntry.event).where(AuditEntry.request_id == request_id))
        )
    assert "web.download" in events
    assert "web.export_deleted" in events


def test_reports_are_written_and_downloaded(signed_in: TestClient, world: App) -> None:
    for kind, fmt in (("monthly", "html"), ("transfers", "json"), ("ropa", "md")):
        path = _post(signed_in, "/reports", kind=kind, month="2026-02", lang="fi", fmt=fmt)
        assert path == "/reports"
    names = sorted(p.name for p in world.settings.service.report_dir.iterdir())
    assert names[0].startswith("syncaudit-monthly-2026-02-fi")
    assert len(names) == 3
    for name in names:
        response = signed_in.get(f"/reports/files/{name}")
        assert response.status_code == 200
    assert signed_in.get("/reports/files/..%2Fdb.sqlite").status_code == 404
    assert signed_in.get("/reports/files/syncaudit.toml").status_code == 404
    refused = _post_raw(
        signed_in, "/reports", kind="monthly", month="2026-2", lang="fi", fmt="html"
    )
    assert "YYYY-MM" in refused


def _post_raw(client: TestClient, path: str, **data: str) -> str:
    token = csrf_of(client.get("/").text)
    return client.post(path, data={**data, "csrf": token}).text


def test_a_failed_task_is_retried_from_its_page(signed_in: TestClient, world: App) -> None:
    from syncaudit.errors import PermanentError

    path = _post(signed_in, "/requests/new", email=ANNA, kind="erasure", step="confirm")
    world.connector("crm").system.fail_next.append(PermanentError("CRM down"))  # type: ignore[attr-defined]
    with worker_slot(world) as worker:
        worker.run_until_idle()
    assert "CRM down" in signed_in.get(path).text
    _post(signed_in, f"{path}/retry", system="crm")
    with worker_slot(world) as worker:
        worker.run_until_idle()
    view = show(world, path.rsplit("/", 1)[1])
    assert {t["system"]: t["result"] for t in view["tasks"]}["crm"] == "erased"


def test_the_language_is_remembered_for_the_account(signed_in: TestClient, world: App) -> None:
    _post(signed_in, "/language", lang="fi", next="/requests")
    assert "Pyynnöt" in signed_in.get("/requests").text
    token = csrf_of(signed_in.get("/").text)
    signed_in.post("/signout", data={"csrf": token})
    signed_in.cookies.clear()  # another browser: no language cookie
    from .helpers import sign_in

    assert "Yleiskuva" in sign_in(signed_in).text
