"""`syncaudit status`: what the service has done and will do, from the database alone.

Per system the last successful and the last failed pull; the erasure queue; open requests with
the time left; breaches; the next run of every periodic job; the audit chain's head. No system is
contacted, and no personal data is shown (requests by id, people not at all).
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import utc
from syncaudit.db import sqlite_path
from syncaudit.erasure.requests import list_requests
from syncaudit.erasure.states import TaskState
from syncaudit.models import ErasureRequest, ErasureTask, PeriodicRun, SyncRun
from syncaudit.service import periodic
from syncaudit.service.scheduler import Job, plan_jobs

BREACHES_SHOWN = 50


def collect(app: App) -> dict[str, Any]:
    now = app.clock.now()
    jobs = plan_jobs(app)
    pulls = {job.system for job in jobs if job.system}
    with app.db.session() as s:
        seq, head = audit.head(s)
        view: dict[str, Any] = {
            "now": now.isoformat(),
            "worker": worker_state(app),
            "systems": [
                _system(s, system.name, system.enabled, pulls) for system in app.settings.systems
            ],
            "queue": _queue(s, now),
            "breaches": _breaches(s),
            "schedule": [_job(s, job, now) for job in jobs],
            "audit": {"entries": seq, "head": head},
        }
    view["open_requests"] = [
        {
            "id": r["id"],
            "state": r["state"],
            "origin": r["origin"],
            "deadline": r["deadline"],
            "hours_left": r["hours_left"],
            "tasks": {t["system"]: t["result"] for t in r["tasks"]},
        }
        for r in list_requests(app, open_only=True)
    ]
    view["pending_by_mail"] = _pending_by_mail(app)
    return view


def _pending_by_mail(app: App) -> list[dict[str, Any]]:
    """Requests from the intake mailbox waiting for the operator (syncaudit.requester)."""
    if app.settings.intake is None:
        return []
    from syncaudit.requester.review import pending

    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "verification": r["verification"],
            "hours_left": r["promise_hours_left"],
            "statutory_days_left": r["statutory_days_left"],
        }
        for r in pending(app)
    ]


def worker_state(app: App) -> dict[str, Any]:
    """SQLite: whether a process holds the worker lock (a running service, or `syncaudit work`).
    A shared lock is tried and dropped at once; nothing is written to the lock file."""
    path = sqlite_path(app.db.engine.url)
    if path is None:
        return {"running": None, "note": "PostgreSQL: several instances may run"}
    lock = path.with_name(path.name + ".worker.lock")
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return {"running": False}
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip()
        return {"running": True, "holder": holder or "another process"}
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return {"running": False}


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


def _system(s: Session, name: str, enabled: bool, pulls: set[str]) -> dict[str, Any]:
    def last(*statuses: str) -> SyncRun | None:
        return s.scalar(
            select(SyncRun)
            .where(SyncRun.system == name, SyncRun.status.in_(statuses))
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(1)
        )

    ok, failed, running = last("ok", "partial"), last("failed"), last("running")
    return {
        "name": name,
        "enabled": enabled,
        "pulls": name in pulls,
        "last_ok": None
        if ok is None
        else {"at": _iso(ok.finished_at), "status": ok.status, "items": ok.upserts},
        "last_failed": None
        if failed is None
        else {"at": _iso(failed.finished_at), "error": failed.error},
        "running_since": _iso(running.started_at) if running else None,
    }


def _queue(s: Session, now: datetime) -> dict[str, int]:
    counts = dict(
        s.execute(select(ErasureTask.state, func.count()).group_by(ErasureTask.state)).all()
    )
    due = s.scalar(
        select(func.count()).where(
            ErasureTask.state == TaskState.PENDING,
            (ErasureTask.next_attempt_at.is_(None)) | (ErasureTask.next_attempt_at <= now),
        )
    )
    pending = int(counts.get(TaskState.PENDING, 0))
    return {
        "due_now": int(due or 0),
        "waiting_retry": pending - int(due or 0),
        "running": int(counts.get(TaskState.RUNNING, 0)),
        "awaiting_manual": int(counts.get(TaskState.AWAITING_MANUAL, 0)),
        "failed": int(counts.get(TaskState.FAILED, 0)),
    }


def _breaches(s: Session) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.breached_at.is_not(None))
        .order_by(ErasureRequest.breached_at.desc())
        .limit(BREACHES_SHOWN)
    )
    return [
        {
            "id": r.id,
            "state": r.state,
            "deadline": _iso(r.deadline),
            "breached_at": _iso(r.breached_at),
            "completed_at": _iso(r.completed_at),
        }
        for r in rows
    ]


def _job(s: Session, job: Job, now: datetime) -> dict[str, Any]:
    def last(status: str) -> PeriodicRun | None:
        return s.scalar(
            select(PeriodicRun)
            .where(PeriodicRun.job == job.name, PeriodicRun.status == status)
            .order_by(PeriodicRun.scheduled_for.desc())
            .limit(1)
        )

    ok, failed, running = last(periodic.OK), last(periodic.FAILED), last(periodic.RUNNING)
    newest = max((utc(r.scheduled_for) for r in (ok, running) if r is not None), default=None)
    due = job.schedule.due(now, newest)
    next_at = due[0] if due else job.schedule.next_after(now)
    failed_due = due and failed is not None and utc(failed.scheduled_for) == due[0]
    if failed is not None and failed_due and job.retry_failed is not None:
        next_at = max(utc(failed.finished_at or failed.started_at) + job.retry_failed, now)
    return {
        "job": job.name,
        "schedule": job.schedule.describe(),
        "next_at": next_at.isoformat(),
        "due_now": bool(due) and next_at <= now,
        "running_since": _iso(running.started_at) if running else None,
        "last_ok": None
        if ok is None
        else {"tick": _iso(ok.scheduled_for), "finished_at": _iso(ok.finished_at)},
        "last_failed": None
        if failed is None
        else {"tick": _iso(failed.scheduled_for), "detail": failed.detail},
    }
