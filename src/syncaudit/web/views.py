"""What the pages show, built from the same core functions the CLI calls (no second engine).

Every function takes the App and returns plain data for a template; none of them writes,
except through the core function that the CLI would call for the same action.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from syncaudit import audit
from syncaudit.erasure.deadlines import statutory_deadline
from syncaudit.erasure.states import TaskState
from syncaudit.models import AuditEntry, ErasureRequest, Resurrection
from syncaudit.web.i18n import N_

if TYPE_CHECKING:
    from syncaudit.app import App

ALERT_WINDOW = timedelta(days=30)  # resurrections and re-subscriptions shown this long
STATUTORY_WARN = timedelta(days=7)  # the month's end is flagged this close
CHAIN_RECHECK = 300.0  # seconds: the audit chain is re-verified at most this often


@dataclass(frozen=True, kw_only=True)
class Alert:
    level: str  # warning | danger
    text: str  # an English msgid with %(name)s placeholders (translated by the page)
    values: dict[str, Any]
    request_id: str | None = None


def _timezone(app: App) -> str:
    reports = app.settings.reports
    return str(getattr(reports, "timezone", "Europe/Helsinki"))


def request_clocks(app: App, row: dict[str, Any]) -> dict[str, Any]:
    """Both clocks of a listed request: the owner's promise and the statutory month."""
    now = app.clock.now()
    received = datetime.fromisoformat(row["received_at"])
    statutory = statutory_deadline(received, _timezone(app))
    open_ = row["completed_at"] is None
    return {
        **row,
        "statutory_deadline": statutory.isoformat(),
        "statutory_days_left": (
            round((statutory - now).total_seconds() / 86400, 1) if open_ else None
        ),
        "waits_for": waits_for(row) if open_ else [],
    }


def waits_for(row: dict[str, Any]) -> list[dict[str, str]]:
    """Who must act next, per system: you (confirm / fix and retry) or the worker."""
    out = []
    for task in row["tasks"]:
        state = task["state"]
        if state == TaskState.AWAITING_MANUAL:
            out.append({"system": task["system"], "who": "you_confirm"})
        elif state == TaskState.FAILED:
            out.append({"system": task["system"], "who": "you_retry"})
        elif state in (TaskState.PENDING, TaskState.RUNNING):
            out.append({"system": task["system"], "who": "worker"})
    return out


def open_requests(app: App) -> list[dict[str, Any]]:
    from syncaudit.rights.requests import list_all

    return [request_clocks(app, r) for r in list_all(app, open_only=True)]


def all_requests(app: App) -> list[dict[str, Any]]:
    from syncaudit.rights.requests import list_all

    rows = [request_clocks(app, r) for r in list_all(app)]
    return sorted(rows, key=lambda r: r["received_at"], reverse=True)


def overview(app: App) -> dict[str, Any]:
    from syncaudit.service.status import collect

    status = collect(app)
    requests = open_requests(app)
    chain = chain_status(app)
    return {
        "requests": requests,
        "status": status,
        "chain": chain,
        "alerts": alerts(app, status, requests, chain),
        "deadline_hours": app.settings.erasure.deadline_hours,
    }


def alerts(
    app: App, status: dict[str, Any], requests: list[dict[str, Any]], chain: dict[str, Any]
) -> list[Alert]:
    """Deadline warnings, resurrections, objectors re-subscribed, failing systems, the chain."""
    found: list[Alert] = []
    half = app.settings.erasure.deadline_hours / 2
    for r in requests:
        if r["state"] == "overdue" or (r["hours_left"] is not None and r["hours_left"] < 0):
            found.append(
                Alert(
                    level="danger",
                    text=N_("Request %(id)s is past its %(hours)s-hour deadline."),
                    values={"id": r["id"], "hours": app.settings.erasure.deadline_hours},
                    request_id=r["id"],
                )
            )
        elif r["hours_left"] is not None and r["hours_left"] <= half:
            found.append(
                Alert(
                    level="warning",
                    text=N_("Request %(id)s: %(left)s hours left."),
                    values={"id": r["id"], "left": r["hours_left"]},
                    request_id=r["id"],
                )
            )
        days = r["statutory_days_left"]
        if days is not None and days * 86400 <= STATUTORY_WARN.total_seconds():
            found.append(
                Alert(
                    level="danger",
                    text=N_("Request %(id)s: the statutory month ends in %(days)s days."),
                    values={"id": r["id"], "days": days},
                    request_id=r["id"],
                )
            )
    found += _pending_by_mail(app)
    found += _recent(app)
    for s in status["systems"]:
        failed, ok = s["last_failed"], s["last_ok"]
        if failed and (ok is None or (failed["at"] or "") > (ok["at"] or "")):
            found.append(
                Alert(
                    level="danger",
                    text=N_("The last pull of %(system)s failed: %(error)s"),
                    values={"system": s["name"], "error": failed["error"] or ""},
                )
            )
    if status["worker"].get("running") is False and requests:
        found.append(
            Alert(
                level="warning",
                text=N_("The service is not running: erasures wait until it is started."),
                values={},
            )
        )
    if not chain["ok"]:
        found.append(
            Alert(
                level="danger",
                text=N_("The audit chain is broken at entry %(seq)s: %(problem)s"),
                values={"seq": chain["first_bad_seq"], "problem": chain["problem"]},
            )
        )
    return found


def _pending_by_mail(app: App) -> list[Alert]:
    """Requests taken from the mailbox that wait for the operator: both clocks already run."""
    if app.settings.intake is None:
        return []
    from syncaudit.requester.review import pending

    return [
        Alert(
            level="danger" if r["promise_hours_left"] < 0 else "warning",
            text=N_(
                "A request by mail (%(id)s) waits for your review: %(left)s hours left. "
                "Run: syncaudit request approve %(id)s"
            ),
            values={"id": r["id"], "left": r["promise_hours_left"]},
        )
        for r in pending(app)
    ]


def _recent(app: App) -> list[Alert]:
    from syncaudit.rights.objection import ALERT_EVENT

    since = app.clock.now() - ALERT_WINDOW
    found = []
    with app.db.session() as s:
        rows = s.execute(
            select(Resurrection.system, func.count())
            .where(Resurrection.seen_at >= since)
            .group_by(Resurrection.system)
            .order_by(Resurrection.system)
        ).all()
        for system, count in rows:
            found.append(
                Alert(
                    level="warning",
                    text=N_(
                        "%(count)s erased person(s) came back in %(system)s in the last 30 days."
                    ),
                    values={"count": count, "system": system},
                )
            )
        resubscribed = s.execute(
            select(AuditEntry.request_id, AuditEntry.system).where(
                AuditEntry.event == ALERT_EVENT, AuditEntry.at >= since
            )
        ).all()
        for objection_id, where in resubscribed:
            found.append(
                Alert(
                    level="danger",
                    text=N_(
                        "Someone who objected to marketing (%(id)s) is subscribed again in "
                        "%(system)s."
                    ),
                    values={"id": objection_id, "system": where or ""},
                    request_id=objection_id,
                )
            )
    return found


_chain_cache: dict[str, tuple[float, int, dict[str, Any]]] = {}
_chain_lock = threading.Lock()


def chain_status(app: App) -> dict[str, Any]:
    """The audit chain, verified; the result is reused while the head is unchanged and recent."""
    with app.db.session() as s:
        seq, _head = audit.head(s)
    key = app.settings.database_url
    with _chain_lock:
        cached = _chain_cache.get(key)
        if cached and cached[1] == seq and time.monotonic() - cached[0] < CHAIN_RECHECK:
            return cached[2]
    with app.db.session() as s, s.begin():
        result = audit.verify(s)
    view = {
        "ok": result.ok,
        "entries": result.entries,
        "head": result.head,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem,
    }
    with _chain_lock:
        _chain_cache[key] = (time.monotonic(), seq, view)
    return view


def subject(app: App, email: str) -> dict[str, Any]:
    """Where a person appears (App.subject) plus the requests that name them (id, kind, state;
    read by pseudonym, so a register with many requests is not listed whole)."""
    view = app.subject(email)
    _normalized, pseudonym = app.pseudonym_of(email)
    with app.db.session() as s:
        rows = s.execute(
            select(ErasureRequest.id, ErasureRequest.kind, ErasureRequest.state)
            .where(ErasureRequest.pseudonym == pseudonym)
            .order_by(ErasureRequest.received_at)
        ).all()
    view["requests"] = [{"id": i, "kind": k, "state": st} for i, k, st in rows]
    return view


def request_detail(app: App, request_id: str) -> dict[str, Any]:
    from syncaudit.erasure.requests import show
    from syncaudit.rights.requests import task_word

    view = show(app, request_id)
    for task in view["tasks"]:
        task["result"] = task_word(view["kind"], task)
    return _with_letters(app, request_clocks(app, view))


def _with_letters(app: App, view: dict[str, Any]) -> dict[str, Any]:
    """A request that came by mail: its intake id, and the letters sent to the person (kind,
    state, time, digest; never their text). An extension moves the statutory month."""
    from syncaudit.models import IntakeLetter, IntakeRequest

    with app.db.session() as s:
        intake = s.scalar(select(IntakeRequest).where(IntakeRequest.request_id == view["id"]))
        if intake is None:
            return {**view, "mail": None, "letters": []}
        letters = [
            {
                "kind": row.kind,
                "state": row.state,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "sha256": row.sha256,
            }
            for row in s.scalars(
                select(IntakeLetter)
                .where(IntakeLetter.intake_id == intake.id)
                .order_by(IntakeLetter.id)
            )
        ]
        mail = {
            "id": intake.id,
            "language": intake.language,
            "messages": intake.messages,
            "verification": intake.verification,
            "extended": intake.extended_at is not None,
        }
        if intake.extended_at is not None:
            statutory = intake.statutory_deadline
            view = {**view, "statutory_deadline": statutory.isoformat()}
    return {**view, "mail": mail, "letters": letters}
