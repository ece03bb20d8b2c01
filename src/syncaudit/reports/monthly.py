"""The monthly compliance report: requests, legal hold, sync health, transfers, retention, evidence.

`build_monthly` reads the stored evidence and returns the report as JSON-ready data (the JSON
format is exactly this; HTML, Markdown and PDF render it). `write_monthly_report` writes one file
and records it in the audit chain (`report.monthly`: the file's SHA-256, the head it printed and
the per-system figures), which is also where next month's "change since last month" comes from.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.deadlines import statutory_deadline
from syncaudit.erasure.requests import task_result
from syncaudit.models import ErasureRequest, ErasureTask, IntakeRequest
from syncaudit.reports import queries
from syncaudit.reports.common import header, hours_between, iso
from syncaudit.reports.i18n import check_language
from syncaudit.reports.period import Period, month_period
from syncaudit.reports.render import check_format, render_monthly
from syncaudit.reports.transfers import (
    period_json,
    profile_changes,
    regions_json,
    transfer_rows,
)
from syncaudit.rights.report import coaching_review
from syncaudit.rights.retention import not_for_review

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


SCHEMA = "syncaudit.report.monthly/1"
KINDS = ("erasure", "access", "objection", "rectification")
LIST_LIMIT = 200  # rows listed per list section; the counts always cover everything


def build_monthly(app: Context, month: str, *, lang: str) -> dict[str, Any]:
    """The report of `month` ("YYYY-MM", local to [reports].timezone) as JSON-ready data."""
    settings = app.settings.reports
    period = month_period(month, settings.timezone)
    now = app.clock.now()
    as_of = period.end.astimezone(period.zone).date()  # the first day after the month
    report = _figures(app, period, now, as_of, lang)
    report["evidence"] = _evidence(app, period, *_verify_chain(app))
    return report


def _figures(app: Context, period: Period, now: datetime, as_of: date, lang: str) -> dict[str, Any]:
    settings = app.settings.reports
    with app.db.session() as s:
        previous = queries.report_snapshots(s, period.month)
        report: dict[str, Any] = {
            **header(app, SCHEMA, lang),
            "period": period_json(period),
            "deadline_hours": app.settings.erasure.deadline_hours,
        }
        report["requests"], report["request_lines"] = _requests(s, period, now)
        report["weekly"] = _weekly(report["request_lines"], period)
        report["resurrections"] = _resurrections(s, period)
        report["legal_hold"] = _legal_hold(s, period, as_of, settings.legal_hold_horizon_days)
        at_end = queries.index_counts(s, period.end)
        report["sync_health"], report["index"] = _sync_health(app, s, period, previous, at_end)
        report["transfers"] = _transfers(app, s, period, previous, at_end[0])
        report["retention_review"] = _retention(app, s, period, as_of)
    return report


# -- requests ------------------------------------------------------------------------------------


def _requests(
    s: Session, period: Period, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    counts = queries.request_counts(s, period.start, period.end, now)
    figures = {}
    for kind in KINDS:
        c = counts.get(kind, queries.RequestCounts())
        hours = queries.completion_hours(s, kind, period.start, period.end)
        figures[kind] = {
            "received": c.received,
            "completed": c.completed,
            "completed_within_deadline": c.completed_within_deadline,
            "median_hours_to_complete": round(statistics.median(hours), 2) if hours else None,
            "longest_hours_to_complete": round(hours[-1], 2) if hours else None,
            "open_at_end": c.open_at_end,
            "breached": c.breached,
        }
    requests, tasks = queries.requests_in_view(s, period.start, period.end)
    extended = set(
        s.scalars(
            select(IntakeRequest.request_id).where(
                IntakeRequest.request_id.in_([r.id for r in requests]),
                IntakeRequest.extended_at.is_not(None),
            )
        )
    )
    lines = [
        _line(r, tasks[r.id], now, period.timezone, extended=r.id in extended) for r in requests
    ]
    return figures, lines


def _line(
    request: ErasureRequest,
    tasks: list[ErasureTask],
    now: datetime,
    timezone: str,
    *,
    extended: bool = False,
) -> dict[str, Any]:
    """A request with both clocks: the owner's promise (`deadline`) and Art. 12(3)'s month
    (`statutory_deadline`, two months more once extended)."""
    deadline = utc(request.deadline)
    completed = utc(request.completed_at) if request.completed_at else None
    if completed is not None:
        within: bool | None = completed <= deadline
    else:
        within = False if now > deadline else None
    statutory = statutory_deadline(utc(request.received_at), timezone, extended=extended)
    return {
        "id": request.id,
        "kind": request.kind,
        "origin": request.origin,
        "state": request.state,
        "received_at": iso(request.received_at),
        "deadline": iso(deadline),
        "completed_at": iso(completed),
        "hours_to_complete": hours_between(request.received_at, completed) if completed else None,
        "within_deadline": within,
        "statutory_deadline": iso(statutory),
        "statutory_extended": extended,
        "within_statutory": (completed <= statutory)
        if completed
        else (False if now > statutory else None),
        "systems": [_system_outcome(t) for t in tasks],
    }


def _system_outcome(task: ErasureTask) -> dict[str, Any]:
    """One word per system plus, for retained records, why and until when."""
    retained: dict[tuple[str, str], int] = {}
    for outcome in task.outcomes or []:
        if outcome.get("status") == "retained":
            key = (outcome.get("legal_basis") or "", outcome.get("retained_until") or "")
            retained[key] = retained.get(key, 0) + 1
    return {
        "system": task.system,
        "result": task_result(task),
        "finished_at": iso(task.finished_at),
        "retained": [
            {"legal_basis": basis, "retained_until": until or None, "records": n}
            for (basis, until), n in sorted(retained.items())
        ],
    }


def _weekly(lines: list[dict[str, Any]], period: Period) -> list[dict[str, Any]]:
    """Erasure requests received per week (Monday to Sunday, local), by how they stand."""
    weeks: dict[date, dict[str, Any]] = {}
    day = period.first_day
    while day <= period.last_day:
        monday = day - timedelta(days=day.weekday())
        weeks.setdefault(monday, {"week_start": monday.isoformat(), "received": 0,
                                  "in_time": 0, "late": 0, "open": 0})  # fmt: skip
        day += timedelta(days=1)
    for line in lines:
        received = datetime.fromisoformat(line["received_at"])
        if line["kind"] != "erasure" or not period.contains(received):
            continue
        local = received.astimezone(period.zone).date()
        week = weeks[local - timedelta(days=local.weekday())]
        week["received"] += 1
        status = {True: "in_time", False: "late", None: "open"}[line["within_deadline"]]
        week[status] += 1
    return list(weeks.values())


def _resurrections(s: Session, period: Period) -> dict[str, Any]:
    rows = queries.resurrections(s, period.start, period.end)
    by_system: dict[str, dict[str, Any]] = {}
    for system, action, n in rows:
        entry = by_system.setdefault(system, {"system": system, "count": 0, "re_erased": 0})
        entry["count"] += n
        if action == "erase":
            entry["re_erased"] += n
    return {"total": sum(n for _, _, n in rows), "by_system": list(by_system.values())}


# -- legal hold, sync health, transfers, retention -----------------------------------------------


def _legal_hold(s: Session, period: Period, as_of: date, horizon: int) -> dict[str, Any]:
    horizon_end = as_of + timedelta(days=horizon)
    per_system = queries.legal_hold_by_system(s, period.end, as_of, horizon_end)
    ending = queries.legal_hold_ending(s, period.end, as_of, horizon_end, LIST_LIMIT)
    return {
        "as_of": as_of.isoformat(),
        "horizon_days": horizon,
        "retained_records": sum(n for _, n, _ in per_system),
        "ending_within_horizon": sum(soon for _, _, soon in per_system),
        "by_system": [
            {"system": system, "records": n, "ending_within_horizon": soon}
            for system, n, soon in per_system
        ],
        "ending": [
            {
                "system": r.system,
                "kind": r.kind,
                "record": _record_label(r.details or {}, r.external_id),
                "legal_basis": r.legal_basis,
                "retained_until": iso(r.legal_hold_until),
            }
            for r in ending
        ],
    }


def _record_label(details: dict[str, Any], external_id: str) -> str:
    invoice = details.get("invoice")
    return f"invoice {invoice}" if invoice else external_id


def _sync_health(
    app: Context,
    s: Session,
    period: Period,
    previous: dict[str, Any] | None,
    counts: tuple[dict[str, queries.IndexCounts], queries.IndexCounts],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    stats = queries.sync_stats(s, period.start, period.end)
    at_end, total_end = counts
    baseline, baseline_total, source = _baseline(s, period, previous)
    names = [system.name for system in app.settings.systems]
    names += sorted((set(stats) | set(at_end)) - set(names))  # evidence of removed systems
    configured = {system.name: system for system in app.settings.systems}
    rows = []
    for name in names:
        run = stats.get(name, queries.SyncStats(last_success=None, runs=0, failed=0, partial=0))
        now = at_end.get(name, queries.IndexCounts(records=0, subjects=0))
        before = baseline.get(name, {"records": 0, "subjects": 0})
        rows.append(
            {
                "system": name,
                "type": configured[name].type if name in configured else None,
                "configured": name in configured,
                "enabled": configured[name].enabled if name in configured else False,
                "last_successful_pull": iso(run.last_success),
                "runs": run.runs,
                "failed_runs": run.failed,
                "partial_runs": run.partial,
                "records": now.records,
                "records_change": now.records - before["records"],
                "subjects": now.subjects,
                "subjects_change": now.subjects - before["subjects"],
            }
        )
    index = {
        "records": total_end.records,
        "records_change": total_end.records - baseline_total["records"],
        "subjects": total_end.subjects,
        "subjects_change": total_end.subjects - baseline_total["subjects"],
        "baseline": source,
    }
    return rows, index


def _baseline(
    s: Session, period: Period, previous: dict[str, Any] | None
) -> tuple[dict[str, dict[str, int]], dict[str, int], str]:
    """Figures at the start of the month: as the previous report recorded them, if it did
    (erased records are gone from the index, so recounting would understate last month)."""
    if previous is not None and previous.get("month") == period.previous().month:
        systems = {
            name: {"records": v.get("records", 0), "subjects": v.get("subjects", 0)}
            for name, v in previous.get("systems", {}).items()
        }
        return (
            systems,
            dict(previous.get("index", {"records": 0, "subjects": 0})),
            "previous_report",
        )
    at_start, total = queries.index_counts(s, period.start)
    systems = {n: {"records": c.records, "subjects": c.subjects} for n, c in at_start.items()}
    return systems, {"records": total.records, "subjects": total.subjects}, "index"


def _transfers(
    app: Context,
    s: Session,
    period: Period,
    previous: dict[str, Any] | None,
    at_end: dict[str, queries.IndexCounts],
) -> dict[str, Any]:
    as_of = period.last_day
    rows, totals = transfer_rows(app, s, period, as_of, at_end)
    last_month = previous if previous and previous.get("month") == period.previous().month else None
    for row in rows:
        before = (last_month or {}).get("systems", {}).get(row["system"], {})
        known = last_month is not None and "affected_subjects" in before
        row["affected_subjects_change"] = (
            row["affected_subjects"] - before["affected_subjects"] if known else None
        )
    return {
        "as_of": as_of.isoformat(),
        "transfer_check_max_days": app.settings.reports.transfer_check_max_days,
        "regions": regions_json(),
        "totals": totals,
        "systems": rows,
        "changes_since": previous.get("month") if previous else None,
        "changes": profile_changes(previous, rows),
    }


def _retention(app: Context, s: Session, period: Period, as_of: date) -> dict[str, Any]:
    settings = app.settings.reports
    # "Inactive" is the rights area's [retention].inactive_years (default 5, the register's
    # promise).
    years = app.settings.retention.inactive_years
    cutoff_day = _years_before(as_of, years)
    cutoff = datetime(cutoff_day.year, cutoff_day.month, cutoff_day.day, tzinfo=period.zone)
    total, listed = queries.inactive_subjects(
        s, utc(cutoff), period.end, settings.review_list_limit, not_for_review(app, s)
    )
    coaching = coaching_review(app, as_of, s)
    return {
        "inactivity_years": years,
        "inactive_since": cutoff_day.isoformat(),
        "inactive_subjects": total,
        "listed": [
            {"subject": app.pseudo.short(pseudonym), "last_activity": iso(last), "systems": systems}
            for pseudonym, last, systems in listed
        ],
        "truncated": total > len(listed),
        "coaching_summaries": {"configured": False}
        if coaching is None
        else {
            "configured": True,
            "limit_years": coaching.limit_years,
            "past_limit": coaching.past_limit,
            "items": list(coaching.items),
            "note": coaching.note,
        },
    }


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# -- evidence ------------------------------------------------------------------------------------


def _verify_chain(app: Context) -> tuple[int, str, audit.ChainCheck]:
    """The head and the recomputed chain, read in one session."""
    with app.db.session() as s:
        seq, head_hash = audit.head(s)
        return seq, head_hash, audit.verify(s)


def _evidence(
    app: Context, period: Period, seq: int, head_hash: str, check: audit.ChainCheck
) -> dict[str, Any]:
    with app.db.session() as s:
        count, first, last = queries.audit_period(s, period.start, period.end)
    return {
        "head_seq": seq,
        "head_hash": head_hash,
        "chain_ok": check.ok,
        "chain_entries": check.entries,
        "first_bad_seq": check.first_bad_seq,
        "problem": check.problem,
        "entries_in_period": count,
        "period_first_seq": first,
        "period_last_seq": last,
    }


# -- writing -------------------------------------------------------------------------------------

EXTENSIONS = {"html": "html", "pdf": "pdf", "md": "md", "json": "json"}
# Per system, what `report.monthly` keeps for next month's comparison (no personal data).
SNAPSHOT_KEYS = (
    "vendor",
    "country",
    "mechanism",
    "reference",
    "checked",
    "sub_processor_countries",
    "data_categories",
    "affected_subjects",
)


def report_filename(month: str, lang: str, fmt: str) -> str:
    return f"syncaudit-monthly-{month}-{lang}.{EXTENSIONS[fmt]}"


def write_monthly_report(
    app: Context, month: str, out_dir: Path, *, lang: str, fmt: str = "html"
) -> Path:
    """Write the report for `month` ("YYYY-MM") into `out_dir`; returns the file's path.

    The file appears whole or not at all (written aside, then renamed), and the audit chain
    records it with its SHA-256, so a later edit of the file is evident.
    """
    check_language(lang)
    check_format(fmt)
    month = month_period(month, app.settings.reports.timezone).month
    path = out_dir / report_filename(month, lang, fmt)
    issue_monthly(app, month, lang=lang, fmt=fmt, deliver=lambda content: write_file(path, content))
    return path


def issue_monthly(
    app: Context, month: str, *, lang: str, fmt: str, deliver: Callable[[bytes], object]
) -> dict[str, Any]:
    """Build, render, hand the bytes to `deliver` (a file, standard output), then record it."""
    check_language(lang)
    check_format(fmt)
    report = build_monthly(app, month, lang=lang)
    content = render_monthly(report, fmt)
    deliver(content)
    record_report(app, report, fmt, hashlib.sha256(content).hexdigest())
    return report


def write_file(path: Path, content: bytes) -> None:
    """Whole or not at all: written beside the target, then renamed over it. Readable by the
    owner and the group only: a compliance record, even without plaintext addresses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    partial.replace(path)


def record_report(app: Context, report: dict[str, Any], fmt: str, digest: str) -> None:
    """Append `report.monthly`: what was issued, and the figures next month compares with."""
    systems = {}
    health = {row["system"]: row for row in report["sync_health"]}
    for row in report["transfers"]["systems"]:
        keep = {k: row[k] for k in SNAPSHOT_KEYS}
        keep["subjects"] = health.get(row["system"], {}).get("subjects", 0)
        keep["records"] = health.get(row["system"], {}).get("records", 0)
        systems[row["system"]] = keep
    with app.db.session() as s, s.begin():
        audit.append(
            s,
            "report.monthly",
            at=app.clock.now(),
            month=report["period"]["month"],
            format=fmt,
            language=report["language"],
            file_sha256=digest,
            reported_head_seq=report["evidence"]["head_seq"],
            reported_head_hash=report["evidence"]["head_hash"],
            index={k: report["index"][k] for k in ("records", "subjects")},
            systems=systems,
        )
