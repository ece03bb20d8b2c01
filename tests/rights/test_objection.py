"""Objection to marketing against the Mailchimp simulator: unsubscribed, nothing deleted, a
re-subscription seen by a later sync raises one alert; a manual marketing system is a task whose
confirmation completes the request without forgetting the person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from structlog.testing import capture_logs

from syncaudit.app import App
from syncaudit.erasure.requests import confirm
from syncaudit.models import AuditEntry, Record, Tombstone
from syncaudit.rights.objection import check_after_sync, object_to_marketing
from syncaudit.rights.requests import list_all

from .conftest import ANNA, BOB, World


def record_count(app: App) -> tuple[int, int]:
    with app.db.session() as s:
        live = s.scalar(select(func.count()).select_from(Record).where(Record.removed_at.is_(None)))
        total = s.scalar(select(func.count()).select_from(Record))
    return int(live or 0), int(total or 0)


def test_objection_unsubscribes_deletes_nothing_and_watches_syncs(world: World) -> None:
    app = world.app()
    app.sync()
    before = record_count(app)
    news, customers = world.audiences["news"], world.audiences["customers"]

    result = object_to_marketing(app, "ANNA@example.fi")

    assert result.state == "completed"
    assert [s.system for s in result.systems] == ["newsletter"]
    assert [o["status"] for o in result.systems[0].outcomes] == ["unsubscribed", "unsubscribed"]
    for audience in (news, customers):
        member = world.mailchimp.member(audience, ANNA[1])
        assert member is not None  # not deleted, not archived
        assert member["status"] == "unsubscribed"
    bob = world.mailchimp.member(news, BOB[1])
    assert bob is not None and bob["status"] == "subscribed"
    assert world.mailchimp.count(effect_prefix="delete") == 0

    world.clock.advance(timedelta(hours=1))
    app.sync()
    assert record_count(app) == before  # no record deleted anywhere
    assert check_after_sync(app) == []  # the index now says unsubscribed

    world.clock.advance(timedelta(days=30))
    world.mailchimp.signup_form(news, ANNA[1], fname="Anna")  # a web form re-subscribes her
    world.clock.advance(timedelta(hours=1))
    with capture_logs() as logs:
        app.sync()  # App.sync runs the objection check itself
    alerts = app.last_objection_alerts
    assert [(a.system, a.status, a.request_id) for a in alerts] == [
        ("newsletter", "subscribed", result.request_id)
    ]
    assert any(e["event"] == "rights.objection_resubscribed" for e in logs)
    assert check_after_sync(app) == []  # recorded once, not on every sync

    world.clock.advance(timedelta(hours=1))
    app.sync(full=True)  # a full re-read touches the record again: still no second alert
    assert app.last_objection_alerts == []
    assert check_after_sync(app) == []
    with app.db.session() as s:
        entries = list(
            s.scalars(select(AuditEntry).where(AuditEntry.event == "objection.resubscribed"))
        )
    assert len(entries) == 1
    assert ANNA[1] not in entries[0].data and "2f9bcdde" not in entries[0].data
    assert entries[0].subject == alerts[0].pseudonym


def test_manual_marketing_system_is_a_task_and_confirming_it_forgets_nobody(
    world: World,
) -> None:
    app = world.app(manual=True, retention={"marketing_systems": ["mailmunch"]})
    app.sync()
    result = object_to_marketing(app, ANNA[1])
    assert result.state == "in_progress"
    states = {s.system: s.state for s in result.systems}
    assert states == {"newsletter": "verified", "mailmunch": "awaiting_manual"}
    manual = next(s for s in result.systems if s.system == "mailmunch")
    assert manual.instructions and "without deleting" in manual.instructions

    again = object_to_marketing(app, ANNA[1])  # resumes: the done system is not asked again
    assert again.request_id == result.request_id
    assert [s.system for s in again.systems] == ["mailmunch"]

    confirm(app, result.request_id, "mailmunch", note="unsubscribed in Mailmunch")
    rows = {r["id"]: r for r in list_all(app)}
    assert rows[result.request_id]["state"] == "completed"
    assert rows[result.request_id]["kind"] == "objection"
    assert {t["system"]: t["result"] for t in rows[result.request_id]["tasks"]} == {
        "mailmunch": "confirmed",
        "newsletter": "unsubscribed",
    }
    assert app.subject(ANNA[1])["found"]  # an objection erases nothing
    with app.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Tombstone)) == 0
