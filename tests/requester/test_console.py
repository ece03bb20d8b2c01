"""The console's request page shows a request by mail: its intake id and the letters sent
(kind, state, time, digest), never their text."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient
from web.helpers import PASSWORD, sign_in

from syncaudit.app import App
from syncaudit.erasure.worker import worker_slot
from syncaudit.models import IntakeLetter
from syncaudit.requester import review
from syncaudit.requester.intake import run_intake
from syncaudit.web.accounts import add_user
from syncaudit.web.app import create_app
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import DESK, NOW


def test_the_request_page_lists_the_letters(app: App, graph: GraphSimulator) -> None:
    graph.add_message(
        DESK,
        "inbox",
        subject="Pyyntö",
        body="Poistakaa tietoni.",
        sent=NOW,
        sender=("Aino", "aino@example.com"),
    )
    (intake_id,) = run_intake(app).created
    add_user(app, "owner", PASSWORD)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        sign_in(client)
        overview = client.get("/").text
    assert f"A request by mail ({intake_id}) waits for your review" in overview
    review.verify_by_operator(app, intake_id, "known customer, phoned back")
    request_id = review.approve(app, intake_id)["request_id"]
    with worker_slot(app) as worker:
        worker.run_until_idle()
    run_intake(app)
    with app.db.session() as s:
        digests = [row.sha256 for row in s.scalars(select(IntakeLetter).order_by(IntakeLetter.id))]
    assert len(digests) == 3 and all(digests)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        sign_in(client)
        page = client.get(f"/requests/{request_id}").text
    assert "Letters to the person" in page
    assert intake_id in page
    for kind in ("receipt", "verification request", "completion letter"):
        assert kind in page
    for digest in digests:
        assert digest and digest[:16] in page
    assert "Poistakaa tietoni" not in page and "aino@example.com" not in page
