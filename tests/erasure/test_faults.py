"""Faults during erasure, with the real connectors and simulators and the manual clock:
throttling with Retry-After, 503s, a timeout whose request was applied anyway, rejected
credentials (nothing is marked done until they are fixed), and a system down for longer than
the deadline (warnings, a breach, the rest completed, the late one finished after a retry)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock, utc
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.deadlines import watch
from syncaudit.erasure.worker import AUTH_RETRY, Worker
from syncaudit.models import AuditEntry, ErasureTask
from syncaudit_mailchimp.simulator import subscriber_hash

from .world import COACH, ILONA, SDK_WARNINGS, World

pytestmark = SDK_WARNINGS
EMAIL, NAME = ILONA


def _app(world: World, tmp_path: Path, clock: ManualClock, **options: Any) -> App:
    return App(world.settings(f"sqlite:///{tmp_path / 'index.db'}", **options), clock=clock)


def _task(app: App, request_id: str, system: str) -> dict[str, Any]:
    tasks = {t["system"]: t for t in erasure.show(app, request_id)["tasks"]}
    return tasks[system]


def utc_seconds(iso: str) -> float:
    return utc(datetime.fromisoformat(iso)).timestamp()


def _events(app: App, request_id: str) -> list[str]:
    with app.db.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.event)
                .where(AuditEntry.request_id == request_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_graph_throttling_waits_for_retry_after(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    ilona = world.plant(EMAIL, NAME, newsletter=False, invoice=False)
    app = _app(world, tmp_path, clock, newsletter=False, books=False, paper=False)
    try:
        world.graph.inject(status=429, retry_after="120", endpoint="contacts.permanentDelete")
        request_id = erasure.submit(app, EMAIL)
        worker = Worker(app)
        assert worker.run_until_idle() == 1
        task = _task(app, request_id, "outlook")
        assert (task["state"], task["attempts"]) == ("pending", 1)
        assert "429" in task["last_error"]
        wait = utc_seconds(task["next_attempt_at"]) - clock.now().timestamp()
        assert wait >= 120  # never sooner than the server asked
        assert worker.run_until_idle() == 0
        clock.advance(timedelta(seconds=wait))
        assert worker.run_until_idle() == 1
        assert erasure.show(app, request_id)["state"] == "completed"
        assert world.graph.is_purged(COACH, ilona.contact_id or "")
        purges = [r.status for r in world.graph.select("contacts.permanentDelete")]
        assert purges == [429, 204]  # the write was not retried in place
    finally:
        app.close()


def test_mailchimp_503_is_retried_with_backoff(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    world.plant(EMAIL, NAME, outlook=False, invoice=False)
    app = _app(world, tmp_path, clock, outlook=False, books=False, paper=False)
    try:
        world.mailchimp.inject(status=503, count=2, path_contains="delete-permanent")
        request_id = erasure.submit(app, EMAIL)
        worker = Worker(app)
        for attempt in (1, 2):
            assert worker.run_until_idle() == 1
            task = _task(app, request_id, "newsletter")
            assert (task["state"], task["attempts"]) == ("pending", attempt)
            assert "503" in task["last_error"]
            clock.advance(timedelta(minutes=1))
        assert worker.run_until_idle() == 1
        assert erasure.show(app, request_id)["state"] == "completed"
        for audience in world.audiences:
            assert world.mailchimp.is_forgotten(audience, EMAIL)
        assert _events(app, request_id).count("task.retry_scheduled") == 2
    finally:
        app.close()


def test_a_timed_out_delete_that_was_applied_is_not_applied_twice(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    world.plant(EMAIL, NAME, outlook=False, invoice=False)
    options = {"mailchimp": {"timeout_seconds": 1}}
    app = _app(world, tmp_path, clock, outlook=False, books=False, paper=False, **options)
    try:
        # The first delete waits 1.5 s, then is applied: the worker has given up at 1 s.
        world.mailchimp.inject(status=503, delay=1.5, after=True, path_contains="delete-permanent")
        request_id = erasure.submit(app, EMAIL)
        worker = Worker(app)
        assert worker.run_until_idle() == 1
        task = _task(app, request_id, "newsletter")
        assert task["state"] == "pending"
        assert "Timeout" in task["last_error"]
        deadline = time.monotonic() + 5
        while not any(e.effect for e in world.mailchimp.requests) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the simulator has applied the timed-out delete
        clock.advance(timedelta(minutes=1))
        assert worker.run_until_idle() == 1
        view = erasure.show(app, request_id)
        assert view["state"] == "completed"
        outcomes = sorted(o["status"] for o in view["tasks"][0]["outcomes"])
        assert outcomes == ["already_absent", "erased"]
        effects = [e.effect for e in world.mailchimp.requests if e.effect]
        hashed = subscriber_hash(EMAIL)
        assert sorted(effects) == sorted(f"delete-permanent:{a}:{hashed}" for a in world.audiences)
    finally:
        app.close()


@pytest.mark.parametrize("system", ["outlook", "newsletter"])
def test_rejected_credentials_mark_nothing_done_until_fixed(
    world: World, clock: ManualClock, tmp_path: Path, system: str
) -> None:
    ilona = world.plant(EMAIL, NAME, invoice=False)
    which = {"outlook": system == "outlook", "newsletter": system == "newsletter"}
    which |= {"books": False, "paper": False}
    good = _app(world, tmp_path, clock, **which)
    good.sync()
    good.close()
    wrong = {"graph_secret": "expired-secret"} if system == "outlook" else {}
    wrong |= (
        {"mailchimp_key": "00000000000000000000000000000000-us6"} if system != "outlook" else {}
    )
    broken = _app(world, tmp_path, clock, **which, **wrong)
    try:
        request_id = erasure.submit(broken, EMAIL)
        with capture_logs() as logs:
            assert Worker(broken).run_until_idle() == 1
            clock.advance(AUTH_RETRY)
            assert Worker(broken).run_until_idle() == 1
        task = _task(broken, request_id, system)
        assert (task["state"], task["attempts"], task["outcomes"]) == ("pending", 2, [])
        assert "AuthError" in task["last_error"]
        assert [e["event"] for e in logs if e["log_level"] == "error"] == [
            "erasure.system_unhealthy"
        ] * 2
        events = _events(broken, request_id)
        assert events.count("task.auth_failed") == 2
        assert not [e for e in events if e.startswith(("record.", "task.verified"))]
        assert world.graph.contact(COACH, ilona.contact_id or "") is not None
        assert all(world.mailchimp.member(a, EMAIL) for a in world.audiences)
    finally:
        broken.close()
    fixed = _app(world, tmp_path, clock, **which)
    try:
        assert Worker(fixed).run_until_idle() == 0  # the stored decision is honoured
        clock.advance(AUTH_RETRY)
        assert Worker(fixed).run_until_idle() == 1
        assert erasure.show(fixed, request_id)["state"] == "completed"
        if system == "outlook":
            assert world.graph.is_purged(COACH, ilona.contact_id or "")
        else:
            assert all(world.mailchimp.is_forgotten(a, EMAIL) for a in world.audiences)
    finally:
        fixed.close()


def test_a_system_down_past_the_deadline_breaches_while_the_rest_completes(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    ilona = world.plant(EMAIL, NAME, invoice=False)
    app = _app(world, tmp_path, clock, books=False)
    try:
        app.sync()
        world.mailchimp.inject(status=503, count=10**6, path_contains="/3.0/")  # down
        request_id = erasure.submit(app, EMAIL)
        received = clock.now()
        worker = Worker(app)
        kinds: list[str] = []
        with capture_logs() as logs:
            worker.run_until_idle()
            erasure.confirm(app, request_id, "paper", note="card shredded")
            while clock.now() < received + timedelta(hours=49):
                clock.advance(timedelta(hours=1))
                worker.run_until_idle()
                kinds += [e.kind for e in watch(app)]
        assert kinds == ["warning_half", "warning_three_quarters", "breach"]
        warned = [e["event"] for e in logs if e["log_level"] == "warning"]
        for kind in kinds:
            assert f"erasure.deadline_{kind}" in warned
        view = erasure.show(app, request_id)
        assert view["state"] == "overdue"
        assert view["breached_at"] is not None
        results = {t["system"]: t["state"] for t in view["tasks"]}
        assert results == {"outlook": "verified", "paper": "verified", "newsletter": "failed"}
        assert world.graph.is_purged(COACH, ilona.contact_id or "")
        with app.db.session() as s:
            attempts = s.scalar(
                select(ErasureTask.attempts).where(ErasureTask.system == "newsletter")
            )
        assert attempts == app.settings.erasure.job_attempts

        world.mailchimp.clear_faults()  # back up; the operator queues it again
        assert erasure.retry(app, request_id, "newsletter") == 1
        assert worker.run_until_idle() == 1
        view = erasure.show(app, request_id)
        assert view["state"] == "completed"
        assert view["within_deadline"] is False
        assert all(world.mailchimp.is_forgotten(a, EMAIL) for a in world.audiences)
        events = _events(app, request_id)
        assert events.count("deadline.breach") == 1
        assert events[-1] == "request.completed"
        with app.db.session() as s:
            assert audit.verify(s).ok
    finally:
        app.close()
