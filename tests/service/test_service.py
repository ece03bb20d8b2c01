"""The service's jobs in-process, on a manual clock: `Service.run(once=True)` is one pass."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure.legal_hold import ORIGIN
from syncaudit.erasure.requests import confirm, list_requests, show, submit
from syncaudit.erasure.worker import worker_slot
from syncaudit.errors import AuthError, ConfigError
from syncaudit.models import Record, Subject
from syncaudit.service import MonthlyWriter, RunSummary, Service
from syncaudit.testing import FakeSystem

from .conftest import ANNA, write_exports


def once(app: App, monthly: MonthlyWriter | None = None) -> RunSummary:
    """One pass; `monthly` stands in for the monthly report writer (another area's)."""
    service = Service(app) if monthly is None else Service(app, monthly=monthly)
    return service.run(once=True)


def ran(summary: RunSummary) -> dict[str, str]:
    return {t.job: t.status for t in summary.ticks}


def test_one_pass_runs_each_due_job_once_and_a_restart_does_not_repeat_it(
    make_app: Callable[..., App],
    clock: ManualClock,
    fake_systems: dict[str, FakeSystem],
    reports: list[Any],
) -> None:
    app = make_app(
        [
            {"name": "crm", "type": "fake"},
            {"name": "books", "type": "fake", "mode": "legal_hold", "sync_interval": "1d"},
        ],
        service={"sync_interval": "1h"},
    )
    first = once(app, reports)
    assert ran(first) == {
        "sync:crm": "ok",
        "sync:books": "ok",
        "legal_hold_expiry": "ok",
        "monthly_report": "ok",
    }
    assert first.ok
    assert ran(once(app, reports)) == {}  # a restart within the same ticks repeats nothing
    clock.advance(timedelta(hours=1))
    assert ran(once(app, reports)) == {"sync:crm": "ok"}  # books pulls daily
    assert fake_systems["crm"].calls.count("pull") == 2
    assert fake_systems["books"].calls.count("pull") == 1
    assert [c[0] for c in reports] == ["2026-02"]


def test_monthly_reports_are_written_once_each_and_missed_months_caught_up(
    make_app: Callable[..., App], clock: ManualClock, reports: list[Any], tmp_path: Path
) -> None:
    app = make_app([], service={"report_day": 1, "report_hour": 6}, controller={"language": "fi"})
    once(app, reports)
    once(app, reports)
    assert reports == [("2026-02", tmp_path / "reports", "fi")]
    clock.set(datetime(2026, 6, 1, 5, 59, tzinfo=UTC))  # down since March, back before the hour
    once(app, reports)
    assert [c[0] for c in reports] == ["2026-02", "2026-03", "2026-04"]
    clock.set(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    once(app, reports)
    assert [c[0] for c in reports][-1] == "2026-05"
    assert (tmp_path / "reports" / "monthly-2026-05.html").read_text() == "2026-05"


def test_an_ended_legal_hold_opens_a_manual_deletion_with_the_accounting_notice(
    make_app: Callable[..., App], clock: ManualClock, reports: list[Any], tmp_path: Path
) -> None:
    exports = write_exports(tmp_path / "exports")
    app = make_app(
        [{"name": "books", "type": "accounting_export", "path": str(exports)}],
        controller={"language": "fi", "name": "Valmennus Virtanen Oy"},
    )
    app.sync()
    erased = submit(app, ANNA)
    with worker_slot(app) as worker:
        worker.run_until_idle()
    assert show(app, erased)["state"] == "completed"
    with app.db.session() as s:
        kept = s.scalars(select(Record).where(Record.restricted_at.is_not(None))).all()
        assert [(r.external_id, str(r.legal_hold_until)) for r in kept] == [
            ("1001@2025-03-01", "2031-12-31")
        ]

    clock.set(datetime(2031, 12, 31, 12, 0, tzinfo=UTC))  # the last day of the hold
    assert list_requests(app, open_only=True) == []
    clock.set(datetime(2032, 1, 1, 12, 0, tzinfo=UTC))
    summary = once(app, reports)
    assert ran(summary)["legal_hold_expiry"] == "ok"
    [opened] = list_requests(app, open_only=True)
    assert opened["origin"] == ORIGIN
    view = show(app, opened["id"])
    [task] = view["tasks"]
    assert (task["system"], task["state"]) == ("books", "awaiting_manual")
    notice = task["instructions"]
    assert notice.startswith("Aihe: Laskujen henkilötietojen")  # the Art. 19 notice, in Finnish
    assert "1001" in notice
    assert "31.12.2031" in notice
    assert "Valmennus Virtanen Oy" in notice
    assert "anna" not in notice.lower()
    with app.db.session() as s:
        assert all(r.external_id != "1001@2025-03-01" for r in s.scalars(select(Record)))
        assert all(subject.email != ANNA for subject in s.scalars(select(Subject)))

    clock.advance(timedelta(days=1))
    assert ran(once(app, reports))["legal_hold_expiry"] == "ok"
    assert len(list_requests(app, open_only=True)) == 1  # nothing opened twice

    confirm(app, opened["id"], "books", "the firm confirmed deletion")
    assert show(app, opened["id"])["state"] == "completed"
    with app.db.session() as s:
        assert audit.verify(s).ok


NOTIFY_SCRIPT = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '=====\\n')"


def test_notifications_to_a_command_name_requests_and_pseudonyms_not_addresses(
    make_app: Callable[..., App],
    clock: ManualClock,
    fake_systems: dict[str, FakeSystem],
    reports: list[Any],
    tmp_path: Path,
) -> None:
    out = tmp_path / "notices.txt"
    app = make_app(
        [{"name": "crm", "type": "fake"}, {"name": "paper", "type": "fake", "mode": "manual"}],
        service={
            "notify": "command",
            "notify_command": [sys.executable, "-c", NOTIFY_SCRIPT, str(out)],
        },
    )
    fake_systems.setdefault("crm", FakeSystem()).put("c1", (ANNA, "Anna Virtanen"))
    fake_systems["crm"].fail_next.append(AuthError(f"the token of {ANNA} has expired"))
    request_id = submit(app, ANNA, systems=["paper"])

    first = once(app, reports)  # the pull fails; the report is out
    assert ran(first)["sync:crm"] == "failed"
    clock.advance(timedelta(hours=25))
    once(app, reports)  # half the deadline gone; the pull works again
    clock.advance(timedelta(hours=24))
    last = once(app, reports)  # breached
    assert [e.kind for e in last.deadline_events] == ["breach"]

    text = out.read_text(encoding="utf-8")
    messages = text.split("=====\n")[:-1]
    subjects = [m.splitlines()[0] for m in messages]
    assert subjects == [
        "Subject: [syncaudit] System crm is failing (pull)",
        "Subject: [syncaudit] Monthly compliance report 2026-02",
        "Subject: [syncaudit] System crm works again",
        f"Subject: [syncaudit] Erasure request {request_id}: 23.0 h left",
        f"Subject: [syncaudit] DEADLINE BREACHED: erasure request {request_id}",
    ]
    pseudonym = app.pseudo.short(app.pseudonym_of(ANNA)[1])
    assert f"the token of {pseudonym} has expired" in text
    assert f"Person: {pseudonym} (pseudonym)" in text
    assert "anna" not in text.lower()
    assert "virtanen" not in text.lower()


def test_a_notify_system_that_cannot_send_mail_is_refused_at_start(
    make_app: Callable[..., App],
) -> None:
    app = make_app(
        [{"name": "paper", "type": "manual"}],
        service={"notify": "email", "notify_system": "paper", "notify_to": ["it@example.fi"]},
    )
    with pytest.raises(ConfigError, match="cannot send email; name an msgraph system"):
        once(app)


SDK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:This class is deprecated. Please use the generic RequestConfiguration"
        ":DeprecationWarning"
    ),
]


@pytest.fixture
def graph() -> Iterator[Any]:
    from syncaudit_msgraph.simulator import GraphSimulator

    with GraphSimulator() as simulator:
        simulator.add_mailbox("coach@example.fi", "Coach")
        yield simulator


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@SDK_WARNINGS[0]
@SDK_WARNINGS[1]
def test_email_notifications_go_through_the_graph_mailbox_without_addresses(
    make_app: Callable[..., App], clock: ManualClock, graph: Any, reports: list[Any]
) -> None:
    outlook = graph.settings(["coach@example.fi"], enabled=False)  # a sender, not pulled here
    app = make_app(
        [outlook, {"name": "paper", "type": "manual"}],
        service={"notify": "email", "notify_system": "outlook", "notify_to": ["it@example.fi"]},
        env={"SIM_GRAPH_SECRET": graph.client_secret},
    )
    request_id = submit(app, ANNA, systems=["paper"])
    clock.advance(timedelta(hours=49))
    summary = once(app, reports)
    assert [e.kind for e in summary.deadline_events] == ["breach"]
    sent = graph.sent_mail
    subjects = [m["message"]["subject"] for m in sent]
    assert f"[syncaudit] DEADLINE BREACHED: erasure request {request_id}" in subjects
    assert all(m["from"] == "coach@example.fi" for m in sent)
    assert all(
        [r["emailAddress"]["address"] for r in m["message"]["toRecipients"]] == ["it@example.fi"]
        for m in sent
    )
    assert all(m["saveToSentItems"] is False for m in sent)
    assert "anna" not in json.dumps(sent).lower()


def test_status_reads_the_schedule_and_queue_on_both_databases(
    make_app: Callable[..., App], clock: ManualClock, reports: list[Any]
) -> None:
    from syncaudit.service.status import collect

    app = make_app([{"name": "crm", "type": "fake"}, {"name": "paper", "type": "manual"}])
    before = {j["job"]: j for j in collect(app)["schedule"]}
    assert all(j["due_now"] for j in before.values())
    once(app, reports)
    submit(app, ANNA, systems=["paper"])
    view = collect(app)
    jobs = {j["job"]: j for j in view["schedule"]}
    assert set(jobs) == {"sync:crm", "legal_hold_expiry", "monthly_report"}
    assert not any(j["due_now"] for j in jobs.values())
    assert jobs["monthly_report"]["next_at"] == "2026-04-01T06:00:00+00:00"
    assert jobs["sync:crm"]["last_ok"]["tick"] == "2026-03-02T09:00:00+00:00"
    assert view["worker"]["running"] is (None if not app.db.is_sqlite else False)
    assert view["queue"]["due_now"] == 1
    assert [r["tasks"] for r in view["open_requests"]] == [{"paper": "pending"}]
    assert {s["name"]: s["pulls"] for s in view["systems"]} == {"crm": True, "paper": False}
