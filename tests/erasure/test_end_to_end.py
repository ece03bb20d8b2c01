"""An erasure across the real connectors: Outlook (Graph simulator), Mailchimp (simulator), the
accounting export (files) and a manual system. Sync first, then erase; the request completes once
the manual step is confirmed, every system is verified, the bystander is untouched, and no byte of
the person's address or name is left in the database: not in any table, not in the SQLite file,
not in its WAL."""

from __future__ import annotations

from pathlib import Path

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.worker import worker_slot

from .world import BOB, COACH, ILONA, SDK_WARNINGS, World, file_hits, table_hits

pytestmark = SDK_WARNINGS


def test_erasure_across_every_real_connector_forgets_the_person(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    email, name = ILONA
    ilona = world.plant(email, name, shared_contact=True, event=True)
    bob = world.plant(*BOB, invoice=False)
    app = App(world.settings(f"sqlite:///{tmp_path / 'index.db'}"), clock=clock)
    try:
        reports = app.sync()
        assert {r.system: r.status for r in reports} == {
            "outlook": "ok",
            "newsletter": "ok",
            "books": "ok",
        }
        assert file_hits(app, [email]) != []  # the raw scan does see what is there
        found = app.subject(email.upper())
        assert found["display_name"] in {name, "Kallio family"}
        assert {(r["system"], r["kind"]) for r in found["records"]} >= {
            ("outlook", "contact"),
            ("outlook", "event_attendee"),
            ("newsletter", "audience_member"),
            ("books", "invoice_buyer"),
        }

        plans = {p.system: p for p in erasure.plan(app, email)}
        assert {str(a.action) for a in plans["outlook"].actions} == {"delete", "redact"}
        assert [str(a.action) for a in plans["newsletter"].actions] == ["delete", "delete"]
        assert [str(a.action) for a in plans["books"].actions] == ["retain"]
        assert plans["paper"].manual
        assert world.graph.side_effects == []  # the dry run changed nothing

        request_id = erasure.submit(app, email, reason="asked by phone")
        with worker_slot(app) as worker:
            assert worker.run_until_idle() == 4
        view = erasure.show(app, request_id)
        assert view["state"] == "in_progress"
        assert {t["system"]: t["result"] for t in view["tasks"]} == {
            "outlook": "erased",
            "newsletter": "erased",
            "books": "retained",
            "paper": "awaiting_manual",
        }

        erasure.confirm(app, request_id, "paper", note="card shredded")
        view = erasure.show(app, request_id)
        assert view["state"] == "completed"
        assert view["within_deadline"] is True
        assert {t["state"] for t in view["tasks"]} == {"verified"}

        # The systems: the person gone, the bystander and the coaching slot kept.
        graph = world.graph
        assert graph.is_purged(COACH, ilona.contact_id or "")
        shared = graph.contact(COACH, ilona.shared_contact_id or "")
        assert shared is not None
        assert [e["address"] for e in shared["emailAddresses"]] == ["family.kallio@example.org"]
        event = graph.event(COACH, ilona.event_id or "")
        assert event is not None
        assert event["attendees"] == []
        assert name.lower() not in event["subject"].lower()
        assert graph.contact(COACH, bob.contact_id or "") is not None
        for audience in world.audiences:
            assert world.mailchimp.is_forgotten(audience, email)
            assert world.mailchimp.member(audience, BOB[0]) is not None
        assert (world.exports / "people" / f"finvoice_{ilona.invoice}.xml").exists()

        # The index keeps a bare, restricted reference to the invoice under legal hold.
        after = app.subject(email)
        assert after["erased_by"] == request_id
        assert [(r["system"], r["name"], r["restricted"]) for r in after["records"]] == [
            ("books", None, True)
        ]
        assert after["display_name"] is None
        with app.db.session() as s:
            assert audit.verify(s).ok

        needles = [email, name]
        assert table_hits(app, needles) == []
        assert file_hits(app, needles) == []
        assert table_hits(app, [BOB[0]]) != []  # the table scan does see what is there
    finally:
        app.close()
