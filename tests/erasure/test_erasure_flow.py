from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from syncaudit import audit
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.deadlines import watch
from syncaudit.erasure.worker import Worker
from syncaudit.models import ErasureRequest, Resurrection, Subject, Tombstone
from syncaudit.testing import transient

ANNA = "Anna.Virtanen@Example.FI"


def _seed(fake_systems, app) -> None:
    app.connector("crm")
    app.connector("books")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"), ("bob@example.fi", "Bob Berg"))
    fake_systems["crm"].put("c2", ("anna.virtanen@example.fi", "Anna V"))
    fake_systems["books"].put("1001", (ANNA, "Anna Virtanen"))
    app.sync()


def _all_text(app) -> str:
    """Every value of every table, as text."""
    chunks = []
    with app.db.engine.connect() as conn:
        for table in (
            "subjects",
            "records",
            "erasure_requests",
            "erasure_tasks",
            "audit_log",
            "tombstones",
            "resurrections",
            "sync_state",
            "sync_runs",
        ):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks).lower()


def test_dry_run_plans_every_system_and_changes_nothing(make_app, fake_systems) -> None:
    app = make_app()
    _seed(fake_systems, app)
    plans = {p.system: p for p in erasure.plan(app, ANNA)}
    assert [a.action for a in plans["crm"].actions] == ["delete", "delete"]
    assert [a.action for a in plans["books"].actions] == ["retain"]
    assert plans["paper"].manual
    assert fake_systems["crm"].erase_calls == []
    with app.db.session() as s:
        assert s.scalars(select(ErasureRequest)).first() is None


def test_erasure_completes_verified_and_forgets(make_app, fake_systems) -> None:
    app = make_app()
    _seed(fake_systems, app)
    request_id = erasure.submit(app, ANNA, reason="asked by email")
    worker = Worker(app)
    worker.run_until_idle()
    view = erasure.show(app, request_id)
    results = {t["system"]: t["result"] for t in view["tasks"]}
    assert results == {"crm": "erased", "books": "retained", "paper": "awaiting_manual"}
    assert view["state"] == "in_progress"
    assert sorted(fake_systems["crm"].erase_calls) == ["c1", "c2"]
    assert "bob@example.fi" in str(fake_systems["crm"].items["c1"].people)

    erasure.confirm(app, request_id, "paper", note="shredded the card")
    view = erasure.show(app, request_id)
    assert view["state"] == "completed"
    assert view["within_deadline"] is True
    # Forgotten: no plaintext address or name anywhere, a tombstone, a held reference.
    everything = _all_text(app)
    assert "anna.virtanen@example.fi" not in everything
    assert "anna virtanen" not in everything
    assert "bob@example.fi" in everything  # others untouched
    pseudonym = app.pseudo.of_email(ANNA)
    with app.db.session() as s:
        assert s.get(Tombstone, pseudonym) is not None
        subject = s.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
        assert subject is not None
        assert subject.email is None
    info = app.subject(ANNA)
    assert [(r["system"], r["external_id"], r["restricted"]) for r in info["records"]] == [
        ("books", "1001", True)
    ]
    with app.db.session() as s:
        assert audit.verify(s).ok


def test_transient_failures_are_retried_later_not_slept_on(make_app, fake_systems, clock) -> None:
    app = make_app([{"name": "crm", "type": "fake"}])
    app.connector("crm")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"))
    request_id = erasure.submit(app, ANNA)
    fake_systems["crm"].fail_next = [transient(retry_after=120)]
    worker = Worker(app)
    assert worker.run_until_idle() == 1
    task = erasure.show(app, request_id)["tasks"][0]
    assert task["state"] == "pending"
    assert task["attempts"] == 1
    assert worker.run_until_idle() == 0  # not due yet: Retry-After honoured
    clock.advance(timedelta(seconds=121))
    assert worker.run_until_idle() == 1
    assert erasure.show(app, request_id)["state"] == "completed"


def test_deadline_warnings_and_breach_recorded_once(make_app, fake_systems, clock) -> None:
    app = make_app([{"name": "paper", "type": "fake", "mode": "manual"}])
    request_id = erasure.submit(app, ANNA)
    Worker(app).run_until_idle()
    clock.advance(timedelta(hours=25))
    assert [e.kind for e in watch(app)] == ["warning_half"]
    assert watch(app) == []
    clock.advance(timedelta(hours=12))
    assert [e.kind for e in watch(app)] == ["warning_three_quarters"]
    clock.advance(timedelta(hours=12))
    assert [e.kind for e in watch(app)] == ["breach"]
    assert erasure.show(app, request_id)["state"] == "overdue"
    erasure.confirm(app, request_id, "paper")
    view = erasure.show(app, request_id)
    assert view["state"] == "completed"
    assert view["within_deadline"] is False


def test_resurrection_is_caught_and_erased_again(make_app, fake_systems, clock) -> None:
    app = make_app([{"name": "crm", "type": "fake"}])
    app.connector("crm")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"))
    app.sync()
    erasure.submit(app, ANNA)
    Worker(app).run_until_idle()
    clock.advance(timedelta(days=3))
    fake_systems["crm"].put("c9", ("ANNA.virtanen@example.fi", "Anna Virtanen"))  # a web form
    reports = app.sync()
    assert reports[0].resurrections == 1
    with app.db.session() as s:  # the index stored nothing; only the open request holds it
        assert s.scalar(select(Subject.email).where(Subject.email.is_not(None))) is None
    with app.db.session() as s:
        row = s.scalars(select(Resurrection)).one()
        assert (row.system, row.external_id, row.action) == ("crm", "c9", "erase")
        assert row.request_id is not None
    Worker(app).run_until_idle()
    assert "c9" not in fake_systems["crm"].items
    assert erasure.show(app, row.request_id)["state"] == "completed"
    assert "anna.virtanen@example.fi" not in _all_text(app)
    app.sync()  # seen no more
    with app.db.session() as s:
        assert len(s.scalars(select(Resurrection)).all()) == 1
