"""Crash-safety of the worker, deterministically: a death between the last task and the
request's completion, a lease that runs out under a slow call, a plan whose evidence could not
be written, and request ids that repeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure import lifecycle
from syncaudit.erasure import requests as erasure
from syncaudit.erasure import worker as worker_module
from syncaudit.erasure.worker import Worker
from syncaudit.models import AuditEntry, ErasureTask
from syncaudit.testing import FakeSystem

ANNA = "anna.virtanen@example.fi"
CRM = [{"name": "crm", "type": "fake"}]


class PowerCut(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


def _events(app: App) -> list[tuple[str | None, str]]:
    with app.db.session() as s:
        return [(e.system, e.event) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_a_request_verified_by_a_worker_that_died_is_completed_by_the_next(
    make_app: Callable[..., App],
    fake_systems: dict[str, FakeSystem],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(CRM)
    app.connector("crm")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"))
    request_id = erasure.submit(app, ANNA)

    def die(*_: object) -> bool:
        raise PowerCut

    with monkeypatch.context() as patch:
        patch.setattr(lifecycle, "finish_request_if_done", die)
        with pytest.raises(PowerCut):
            Worker(app).run_until_idle()
    view = erasure.show(app, request_id)
    assert view["tasks"][0]["state"] == "verified"
    assert view["state"] == "in_progress"  # nothing left to claim, yet not completed

    assert Worker(app).run_until_idle() == 0
    assert erasure.show(app, request_id)["state"] == "completed"
    assert _events(app).count((None, "request.completed")) == 1


def test_a_worker_whose_lease_ran_out_stops_writing(
    make_app: Callable[..., App], fake_systems: dict[str, FakeSystem], clock: ManualClock
) -> None:
    app = make_app(CRM)
    app.connector("crm")
    crm = fake_systems["crm"]
    crm.put("c1", (ANNA, "Anna Virtanen"))
    request_id = erasure.submit(app, ANNA)
    slow, fast = Worker(app), Worker(app)
    assert slow.owner != fast.owner
    calls = crm._maybe_fail

    def erase_slowly(call: str) -> None:
        """The slow worker's erase call hangs past its lease; the other worker takes over."""
        calls(call)
        if call == "erase" and not fast_runs:
            fast_runs.append(0)
            clock.advance(slow.lease + timedelta(seconds=1))
            fast_runs[0] = fast.run_until_idle()

    fast_runs: list[int] = []
    crm._maybe_fail = erase_slowly  # type: ignore[method-assign]
    with capture_logs() as logs:
        assert slow.run_until_idle() == 1
    assert fast_runs == [1]
    assert [e["event"] for e in logs if e["event"] == "erasure.lease_lost"] == [
        "erasure.lease_lost"
    ]
    view = erasure.show(app, request_id)
    assert view["state"] == "completed"
    assert [o["status"] for o in view["tasks"][0]["outcomes"]] == ["erased"]
    events = _events(app)
    assert events.count(("crm", "task.verified")) == 1
    assert events.count(("crm", "record.erased")) == 1
    assert not [e for e in events if e[1] == "record.already_absent"]


def test_a_plan_and_its_evidence_are_written_together(
    make_app: Callable[..., App],
    fake_systems: dict[str, FakeSystem],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(CRM)
    app.connector("crm")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"))
    request_id = erasure.submit(app, ANNA)
    append = audit.append

    def append_or_die(session: Any, event: str, **kwargs: Any) -> AuditEntry:
        if event == "task.planned":
            raise PowerCut
        return append(session, event, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(audit, "append", append_or_die)
        with pytest.raises(PowerCut):
            Worker(app).run_until_idle()
    with app.db.session() as s:
        task = s.scalars(select(ErasureTask)).one()
        assert task.refs is None  # not kept without its evidence
    worker_module.release_stale_leases(app)  # what the next worker_slot does first
    assert Worker(app).run_until_idle() == 1
    assert erasure.show(app, request_id)["state"] == "completed"
    assert _events(app).count(("crm", "task.planned")) == 1


def test_a_repeated_request_id_is_drawn_again(
    make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(CRM)
    drawn = iter(["E-20260302-aaaaaa", "E-20260302-aaaaaa", "E-20260302-bbbbbb"])
    monkeypatch.setattr(erasure, "new_request_id", lambda now: next(drawn))
    first = erasure.submit(app, ANNA)
    second = erasure.submit(app, "bob@example.fi")
    assert (first, second) == ("E-20260302-aaaaaa", "E-20260302-bbbbbb")


def test_what_verify_finds_again_is_erased_again(
    make_app: Callable[..., App], fake_systems: dict[str, FakeSystem]
) -> None:
    """A system that answered "deleted" but kept the record: verify finds it, and the next
    round erases it again although an outcome for it is already recorded."""
    app = make_app(CRM)
    app.connector("crm")
    crm = fake_systems["crm"]
    crm.put("c1", (ANNA, "Anna Virtanen"))
    request_id = erasure.submit(app, ANNA)
    delete, kept = crm.delete, []

    def keep_the_first(external_id: str) -> None:
        if not kept:
            kept.append(external_id)
            return
        delete(external_id)

    crm.delete = keep_the_first  # type: ignore[method-assign]
    assert Worker(app).run_until_idle() == 1
    assert erasure.show(app, request_id)["state"] == "completed"
    assert "c1" not in crm.items
    events = _events(app)
    assert events.count(("crm", "task.verify_found_more")) == 1
    assert events.count(("crm", "record.erased")) == 2


def test_a_connector_bug_fails_its_task_and_blocks_no_other(
    make_app: Callable[..., App], fake_systems: dict[str, FakeSystem]
) -> None:
    app = make_app(CRM)
    app.connector("crm")
    crm = fake_systems["crm"]
    crm.put("c1", (ANNA, "Anna Virtanen"))
    crm.put("c2", ("bob@example.fi", "Bob Berg"))
    first = erasure.submit(app, ANNA)
    second = erasure.submit(app, "bob@example.fi")
    crm.fail_next = [KeyError("anna.virtanen@example.fi")]  # a bug, quoting what it had
    assert Worker(app).run_until_idle() == 2
    task = erasure.show(app, first)["tasks"][0]
    assert task["state"] == "failed"
    assert "KeyError" in task["last_error"]
    assert "anna" not in task["last_error"]
    assert erasure.show(app, second)["state"] == "completed"
    assert erasure.retry(app, first, "crm") == 1
    assert Worker(app).run_until_idle() == 1
    assert erasure.show(app, first)["state"] == "completed"
