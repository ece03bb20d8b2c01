"""Found by tests/stateful/test_state_machine.py: "the request completes and leaves the person
in crm". The person came back in a verified system and a sync saw it at the very instant the
task was verified (`last_seen == finished_at`); `last_seen > finished_at` missed it, and
confirming the last manual task completed the request. Verification now marks the person's
records in that system removed, so any live record afterwards is one a sync saw again."""

from __future__ import annotations

from collections.abc import Callable

from syncaudit.app import App
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.worker import Worker
from syncaudit.testing import FakeSystem

ANNA = ("anna@example.fi", "Anna Virtanen")


def test_a_sighting_at_the_instant_of_verification_reopens_the_task(
    make_app: Callable[..., App], fake_systems: dict[str, FakeSystem]
) -> None:
    app = make_app()
    crm = fake_systems.setdefault("crm", FakeSystem())
    crm.put("c1", ANNA)
    app.sync(["crm"])
    request_id = erasure.submit(app, ANNA[0])
    Worker(app).run_until_idle()
    tasks = {t["system"]: t["state"] for t in erasure.show(app, request_id)["tasks"]}
    assert tasks == {"crm": "verified", "books": "verified", "paper": "awaiting_manual"}
    crm.put("c2", ANNA)  # a sign-up form, with no time passing on the test's clock
    app.sync(["crm"])
    erasure.confirm(app, request_id, "paper", note="shredded")
    assert erasure.show(app, request_id)["state"] != "completed"
    Worker(app).run_until_idle()
    assert erasure.show(app, request_id)["state"] == "completed"
    assert not [i for i in crm.items.values() if any(e == ANNA[0] for e, _ in i.people)]
