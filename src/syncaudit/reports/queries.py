"""Every figure a report prints, each from one set-based query over the stored evidence.

Aggregation happens in SQL (conditional sums grouped by system or kind), so a report over a
register of 100,000 people and a million audit entries reads a handful of result rows. Times are
compared as stored: UTC, half-open periods [start, end).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from syncaudit.clock import utc
from syncaudit.models import (
    AuditEntry,
    ErasureRequest,
    ErasureTask,
    Record,
    Resurrection,
    Subject,
    SyncRun,
)
from syncaudit.reports.common import active_at

R = ErasureRequest


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _within(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestCounts:
    received: int = 0
    completed: int = 0
    completed_within_deadline: int = 0
    open_at_end: int = 0
    breached: int = 0


def request_counts(
    s: Session, start: datetime, end: datetime, now: datetime
) -> dict[str, RequestCounts]:
    """Per kind: received, completed (in time), open at the end, deadlines missed in the period."""
    completed = _within(R.completed_at, start, end)
    missed_by = min(end, now)
    rows = s.execute(
        select(
            R.kind,
            _count(_within(R.received_at, start, end)),
            _count(completed),
            _count(and_(completed, R.completed_at <= R.deadline)),
            _count(and_(R.received_at < end, or_(R.completed_at.is_(None), R.completed_at >= end))),
            _count(
                and_(
                    R.deadline >= start,
                    R.deadline < missed_by,
                    or_(R.completed_at.is_(None), R.completed_at > R.deadline),
                )
            ),
        ).group_by(R.kind)
    )
    return {
        kind: RequestCounts(
            received=int(a),
            completed=int(b),
            completed_within_deadline=int(c),
            open_at_end=int(d),
            breached=int(e),
        )
        for kind, a, b, c, d, e in rows
    }


def completion_hours(s: Session, kind: str, start: datetime, end: datetime) -> list[float]:
    """Hours from receipt to completion of the requests of `kind` completed in the period."""
    rows = s.execute(
        select(R.received_at, R.completed_at).where(
            R.kind == kind, _within(R.completed_at, start, end)
        )
    )
    return sorted((utc(b) - utc(a)).total_seconds() / 3600 for a, b in rows if b is not None)


def requests_in_view(
    s: Session, start: datetime, end: datetime
) -> tuple[list[ErasureRequest], dict[str, list[ErasureTask]]]:
    """Requests open at any time in the period, with their tasks (two queries)."""
    visible = and_(R.received_at < end, or_(R.completed_at.is_(None), R.completed_at >= start))
    requests = list(s.scalars(select(R).where(visible).order_by(R.received_at, R.id)))
    tasks: dict[str, list[ErasureTask]] = {r.id: [] for r in requests}
    query = (
        select(ErasureTask)
        .where(ErasureTask.request_id.in_(select(R.id).where(visible)))
        .order_by(ErasureTask.request_id, ErasureTask.system)
    )
    for task in s.scalars(query):
        tasks[task.request_id].append(task)
    return requests, tasks


def resurrections(s: Session, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(system, action, count) of tombstoned addresses met again in the period."""
    rows = s.execute(
        select(Resurrection.system, Resurrection.action, func.count())
        .where(_within(Resurrection.seen_at, start, end))
        .group_by(Resurrection.system, Resurrection.action)
        .order_by(Resurrection.system, Resurrection.action)
    )
    return [(system, action, int(n)) for system, action, n in rows]


# -- legal hold ----------------------------------------------------------------------------------


def _restricted(end: datetime, as_of: date) -> Any:
    return and_(
        Record.restricted_at.is_not(None),
        Record.restricted_at < end,
        Record.legal_hold_until.is_not(None),
        Record.legal_hold_until >= as_of,
    )


def legal_hold_by_system(
    s: Session, end: datetime, as_of: date, horizon_end: date
) -> list[tuple[str, int, int]]:
    """(system, records retained instead of erased, of which ending before `horizon_end`)."""
    rows = s.execute(
        select(Record.system, func.count(), _count(Record.legal_hold_until < horizon_end))
        .where(_restricted(end, as_of))
        .group_by(Record.system)
        .order_by(Record.system)
    )
    return [(system, int(n), int(soon)) for system, n, soon in rows]


def legal_hold_ending(
    s: Session, end: datetime, as_of: date, horizon_end: date, limit: int
) -> list[Record]:
    return list(
        s.scalars(
            select(Record)
            .where(_restricted(end, as_of), Record.legal_hold_until < horizon_end)
            .order_by(Record.legal_hold_until, Record.system, Record.external_id)
            .limit(limit)
        )
    )


# -- the index and the syncs ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IndexCounts:
    records: int
    subjects: int


def index_counts(s: Session, when: datetime) -> tuple[dict[str, IndexCounts], IndexCounts]:
    """Records and people per system at `when`, and people across all systems."""
    active = active_at(when)
    rows = s.execute(
        select(Record.system, func.count(), func.count(func.distinct(Record.subject_id)))
        .where(active)
        .group_by(Record.system)
    )
    per_system = {system: IndexCounts(records=int(r), subjects=int(p)) for system, r, p in rows}
    total = s.execute(
        select(func.count(), func.count(func.distinct(Record.subject_id))).where(active)
    ).one()
    return per_system, IndexCounts(records=int(total[0]), subjects=int(total[1]))


def new_subjects(s: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Per system: people first seen there in the period and still there at its end."""
    firsts = (
        select(
            Record.system.label("system"),
            func.min(Record.first_seen).label("first"),
            func.max(case((active_at(end), 1), else_=0)).label("present"),
        )
        .group_by(Record.system, Record.subject_id)
        .subquery()
    )
    rows = s.execute(
        select(firsts.c.system, func.count())
        .where(firsts.c.first >= start, firsts.c.first < end, firsts.c.present == 1)
        .group_by(firsts.c.system)
    )
    return {system: int(n) for system, n in rows}


def subjects_in_systems(s: Session, systems: Sequence[str], when: datetime) -> int:
    """Distinct people in any of `systems` at `when` (e.g. all systems outside the EEA)."""
    if not systems:
        return 0
    return int(
        s.scalar(
            select(func.count(func.distinct(Record.subject_id))).where(
                active_at(when), Record.system.in_(list(systems))
            )
        )
        or 0
    )


@dataclass(frozen=True, kw_only=True)
class SyncStats:
    last_success: datetime | None
    runs: int
    failed: int
    partial: int


def sync_stats(s: Session, start: datetime, end: datetime) -> dict[str, SyncStats]:
    in_period = _within(SyncRun.started_at, start, end)
    succeeded = and_(SyncRun.status.in_(["ok", "partial"]), SyncRun.finished_at < end)
    rows = s.execute(
        select(
            SyncRun.system,
            func.max(case((succeeded, SyncRun.finished_at))),
            _count(in_period),
            _count(and_(in_period, SyncRun.status == "failed")),
            _count(and_(in_period, SyncRun.status == "partial")),
        ).group_by(SyncRun.system)
    )
    return {
        system: SyncStats(
            last_success=utc(last) if isinstance(last, datetime) else None,
            runs=int(runs),
            failed=int(failed),
            partial=int(partial),
        )
        for system, last, runs, failed, partial in rows
    }


# -- retention review ----------------------------------------------------------------------------


def _inactive(cutoff: datetime, end: datetime, excluded: Collection[str]) -> Any:
    last = func.coalesce(Subject.last_activity, Subject.first_seen)
    # email IS NULL: an erased person of whom only legally held records remain.
    condition = and_(Subject.email.is_not(None), Subject.first_seen < end, last < cutoff)
    return and_(condition, Subject.pseudonym.not_in(list(excluded))) if excluded else condition


def inactive_subjects(
    s: Session, cutoff: datetime, end: datetime, limit: int, excluded: Collection[str] = ()
) -> tuple[int, list[tuple[str, datetime, list[str]]]]:
    """How many people show no activity since `cutoff`; the longest-inactive `limit` of them.
    `excluded`: pseudonyms that are never review candidates (rights.retention.not_for_review)."""
    condition = _inactive(cutoff, end, excluded)
    total = int(s.scalar(select(func.count()).select_from(Subject).where(condition)) or 0)
    last = func.coalesce(Subject.last_activity, Subject.first_seen)
    listed = list(
        s.execute(
            select(Subject.id, Subject.pseudonym, last)
            .where(condition)
            .order_by(last, Subject.pseudonym)
            .limit(limit)
        )
    )
    systems: dict[int, list[str]] = {row[0]: [] for row in listed}
    if systems:
        for subject_id, system in s.execute(
            select(Record.subject_id, Record.system)
            .where(Record.subject_id.in_(list(systems)), Record.removed_at.is_(None))
            .distinct()
            .order_by(Record.subject_id, Record.system)
        ):
            systems[subject_id].append(system)
    return total, [(p, utc(when), systems[i]) for i, p, when in listed]


# -- evidence ------------------------------------------------------------------------------------


def audit_period(s: Session, start: datetime, end: datetime) -> tuple[int, int | None, int | None]:
    """Entries written in the period, and the first and last of their sequence numbers."""
    count, first, last = s.execute(
        select(func.count(), func.min(AuditEntry.seq), func.max(AuditEntry.seq)).where(
            _within(AuditEntry.at, start, end)
        )
    ).one()
    return int(count), first, last


def report_snapshots(s: Session, before_month: str) -> dict[str, Any] | None:
    """The newest `report.monthly` entry for an earlier month: what the previous report saw."""
    import json

    rows = s.execute(
        select(AuditEntry.data)
        .where(AuditEntry.event == "report.monthly")
        .order_by(AuditEntry.seq.desc())
    )
    best: dict[str, Any] | None = None
    for (text,) in rows:
        data = json.loads(text)
        month = data.get("month", "")
        if month < before_month and (best is None or month > best["month"]):
            best = data
    return best
