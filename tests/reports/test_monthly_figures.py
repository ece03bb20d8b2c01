"""Each figure of the monthly JSON, recounted in Python from the rows it claims to count.

The report aggregates in SQL; these tests load the plain rows and count them a second, naive way,
on SQLite and PostgreSQL. They also pin the scenario's known facts, so a recount that agrees with
a wrong report cannot pass unnoticed.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from syncaudit import audit
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
from syncaudit.reports.monthly import build_monthly
from syncaudit.reports.period import month_period

from .scenario import PEOPLE, Scenario


@pytest.fixture(scope="module")
def world(scenario: Scenario) -> dict[str, Any]:
    app = scenario.app
    report = build_monthly(app, "2026-03", lang="en")
    period = month_period("2026-03", "Europe/Helsinki")
    with app.db.session() as s:
        rows = {
            "requests": list(s.scalars(select(ErasureRequest))),
            "tasks": list(s.scalars(select(ErasureTask))),
            "records": list(s.scalars(select(Record))),
            "subjects": list(s.scalars(select(Subject))),
            "runs": list(s.scalars(select(SyncRun))),
            "resurrections": list(s.scalars(select(Resurrection))),
            "audit": list(s.scalars(select(AuditEntry))),
        }
    return {
        "report": report,
        "start": period.start,
        "end": period.end,
        "now": app.clock.now(),
        **rows,
    }


def _in(when: datetime | None, w: dict[str, Any]) -> bool:
    return when is not None and w["start"] <= utc(when) < w["end"]


def test_request_figures_match_the_request_rows(world: dict[str, Any]) -> None:
    for kind, figures in world["report"]["requests"].items():
        rows = [r for r in world["requests"] if r.kind == kind]
        done = [r for r in rows if _in(r.completed_at, world)]
        hours = sorted(
            (utc(r.completed_at) - utc(r.received_at)).total_seconds() / 3600 for r in done
        )
        end, cutoff = world["end"], min(world["end"], world["now"])
        assert figures == {
            "received": sum(_in(r.received_at, world) for r in rows),
            "completed": len(done),
            "completed_within_deadline": sum(r.completed_at <= r.deadline for r in done),
            "median_hours_to_complete": round(statistics.median(hours), 2) if hours else None,
            "longest_hours_to_complete": round(max(hours), 2) if hours else None,
            "open_at_end": sum(
                utc(r.received_at) < end and (r.completed_at is None or utc(r.completed_at) >= end)
                for r in rows
            ),
            "breached": sum(
                world["start"] <= utc(r.deadline) < cutoff
                and (r.completed_at is None or r.completed_at > r.deadline)
                for r in rows
            ),
        }, kind


def test_erasure_headline_is_the_scenario(world: dict[str, Any]) -> None:
    erasure = world["report"]["requests"]["erasure"]
    assert erasure["received"] == 4  # Anna, Bob, the resurrection, Carl
    assert erasure["completed_within_deadline"] == 3
    assert erasure["breached"] == 1  # Carl's manual step, confirmed after 71 h
    assert erasure["longest_hours_to_complete"] == 71.0
    assert world["report"]["requests"]["access"]["completed"] == 1
    assert world["report"]["requests"]["objection"]["open_at_end"] == 1


def test_request_lines_are_the_requests_open_in_the_month(world: dict[str, Any]) -> None:
    expected = sorted(
        r.id
        for r in world["requests"]
        if utc(r.received_at) < world["end"]
        and (r.completed_at is None or utc(r.completed_at) >= world["start"])
    )
    lines = world["report"]["request_lines"]
    assert sorted(line["id"] for line in lines) == expected
    tasks: dict[str, list[ErasureTask]] = {}
    for task in world["tasks"]:
        tasks.setdefault(task.request_id, []).append(task)
    for line in lines:
        assert [t["system"] for t in line["systems"]] == sorted(
            t.system for t in tasks.get(line["id"], [])
        )
        for outcome in line["systems"]:
            task = next(t for t in tasks[line["id"]] if t.system == outcome["system"])
            retained = [o for o in task.outcomes if o["status"] == "retained"]
            assert sum(h["records"] for h in outcome["retained"]) == len(retained)
    results = {
        (line["origin"], t["system"]): t["result"] for line in lines for t in line["systems"]
    }
    assert results[("operator", "books")] in {"retained", "already_absent"}
    assert "confirmed" in {t["result"] for line in lines for t in line["systems"]}
    assert [line["within_deadline"] for line in lines if line["kind"] == "erasure"].count(
        False
    ) == 1


def test_resurrections_match_their_rows(world: dict[str, Any]) -> None:
    rows = [r for r in world["resurrections"] if _in(r.seen_at, world)]
    got = world["report"]["resurrections"]
    assert got["total"] == len(rows) == 1
    for entry in got["by_system"]:
        mine = [r for r in rows if r.system == entry["system"]]
        assert entry["count"] == len(mine)
        assert entry["re_erased"] == sum(r.action == "erase" for r in mine)


def test_legal_hold_matches_the_restricted_records(world: dict[str, Any]) -> None:
    hold = world["report"]["legal_hold"]
    as_of = date.fromisoformat(hold["as_of"])
    held = [
        r
        for r in world["records"]
        if r.restricted_at is not None
        and utc(r.restricted_at) < world["end"]
        and r.legal_hold_until is not None
        and r.legal_hold_until >= as_of
    ]
    soon = [r for r in held if r.legal_hold_until < as_of + timedelta(days=hold["horizon_days"])]
    assert hold["retained_records"] == len(held) == 2  # Anna's two invoices
    assert hold["ending_within_horizon"] == len(soon) == 1
    assert [(e["system"], e["retained_until"]) for e in hold["ending"]] == [
        (r.system, r.legal_hold_until.isoformat()) for r in soon
    ]
    assert all(r.name is None for r in held)  # kept as a bare reference


def _present(record: Record, when: datetime) -> bool:
    return utc(record.first_seen) < when and (
        record.removed_at is None or utc(record.removed_at) >= when
    )


def test_sync_health_matches_runs_and_records(world: dict[str, Any]) -> None:
    for row in world["report"]["sync_health"]:
        runs = [r for r in world["runs"] if r.system == row["system"]]
        month = [r for r in runs if _in(r.started_at, world)]
        ok = [
            utc(r.finished_at)
            for r in runs
            if r.status in ("ok", "partial") and r.finished_at and utc(r.finished_at) < world["end"]
        ]
        records = [
            r for r in world["records"] if r.system == row["system"] and _present(r, world["end"])
        ]
        assert row["runs"] == len(month)
        assert row["failed_runs"] == sum(r.status == "failed" for r in month)
        assert row["last_successful_pull"] == (max(ok).isoformat() if ok else None)
        assert row["records"] == len(records)
        assert row["subjects"] == len({r.subject_id for r in records})
    crm = next(r for r in world["report"]["sync_health"] if r["system"] == "crm")
    assert crm["failed_runs"] == 1


def test_changes_are_against_what_the_february_report_recorded(world: dict[str, Any]) -> None:
    """Erased records leave the index, so February is taken from its report's audit entry."""
    import json

    recorded = [json.loads(e.data) for e in world["audit"] if e.event == "report.monthly"]
    february = next(d for d in recorded if d["month"] == "2026-02")
    report = world["report"]
    assert report["index"]["baseline"] == "previous_report"
    for row in report["sync_health"]:
        old = february["systems"].get(row["system"], {"records": 0, "subjects": 0})
        assert row["records_change"] == row["records"] - old["records"]
        assert row["subjects_change"] == row["subjects"] - old["subjects"]
    assert report["index"]["subjects_change"] == (
        report["index"]["subjects"] - february["index"]["subjects"]
    )
    crm = next(r for r in report["sync_health"] if r["system"] == "crm")
    assert february["systems"]["crm"]["records"] == 4  # Anna, Bob, Carl, Eeva in February
    assert crm["records_change"] == crm["records"] - 4
    changes = {(c["system"], c["change"], c["field"]) for c in report["transfers"]["changes"]}
    assert ("forms", "added", None) in changes
    assert ("newsletter", "changed", "mechanism") in changes


def test_transfer_counts_match_the_records(world: dict[str, Any]) -> None:
    transfers = world["report"]["transfers"]
    for row in transfers["systems"]:
        records = [r for r in world["records"] if r.system == row["system"]]
        present = {r.subject_id for r in records if _present(r, world["end"])}
        first: dict[int, datetime] = {}
        for r in records:
            first[r.subject_id] = min(first.get(r.subject_id, utc(r.first_seen)), utc(r.first_seen))
        new = {s for s in present if world["start"] <= first[s] < world["end"]}
        assert row["affected_subjects"] == len(present)
        assert row["new_subjects"] == len(new)
    outside = {r["system"] for r in transfers["systems"] if not r["eea"]}
    people = {
        r.subject_id for r in world["records"] if r.system in outside and _present(r, world["end"])
    }
    assert transfers["totals"]["subjects_outside_eea"] == len(people)
    flags = {r["system"]: r["flags"] for r in transfers["systems"]}
    assert flags["forms"] == ["no_safeguard"]
    assert flags["newsletter"] == ["dpf_check_stale"]
    assert flags["crm"] == []


def test_retention_review_matches_the_subjects(scenario: Scenario, world: dict[str, Any]) -> None:
    review = world["report"]["retention_review"]
    cutoff = date.fromisoformat(review["inactive_since"])
    inactive = [
        s
        for s in world["subjects"]
        if s.email is not None
        and utc(s.first_seen) < world["end"]
        and utc(s.last_activity or s.first_seen).astimezone(ZoneInfo("Europe/Helsinki")).date()
        < cutoff
    ]
    assert review["inactive_subjects"] == len(inactive) == 1
    assert [x["subject"] for x in review["listed"]] == [
        scenario.app.pseudo.short(s.pseudonym) for s in inactive
    ]
    assert review["coaching_summaries"] == {"configured": False}


def test_evidence_matches_the_audit_log(scenario: Scenario, world: dict[str, Any]) -> None:
    evidence = world["report"]["evidence"]
    entries = world["audit"]
    in_month = [e.seq for e in entries if _in(e.at, world)]
    assert evidence["entries_in_period"] == len(in_month)
    assert evidence["period_first_seq"] == min(in_month)
    assert evidence["period_last_seq"] == max(in_month)
    last = max(entries, key=lambda e: e.seq)
    assert (evidence["head_seq"], evidence["head_hash"]) == (last.seq, last.hash)
    with scenario.app.db.session() as s:
        assert audit.count_between(s, world["start"], world["end"]) == len(in_month)
    assert evidence["chain_ok"] is True
    assert evidence["chain_entries"] == len(entries)


def test_the_report_names_nobody(world: dict[str, Any]) -> None:
    import json

    text = json.dumps(world["report"]).lower()
    for email, name in PEOPLE:
        assert email not in text
        assert name.lower() not in text
        assert name.split()[0].lower() not in text


def test_the_review_count_leaves_out_whoever_is_never_a_review_candidate(
    scenario: Scenario,
) -> None:
    """One rule with `syncaudit retention review`: the controller's own addresses and people
    being erased are never listed, so the report must not count them either."""
    from syncaudit.identity import normalize_email
    from syncaudit.reports import queries
    from syncaudit.rights.retention import not_for_review

    app = scenario.app
    cutoff, end = (
        datetime(2030, 1, 1, tzinfo=ZoneInfo("UTC")),
        datetime(2030, 1, 2, tzinfo=ZoneInfo("UTC")),
    )
    with app.db.session() as s:
        total, listed = queries.inactive_subjects(s, cutoff, end, 1000)
        assert total >= 1
        someone = listed[0][0]
        fewer, rest = queries.inactive_subjects(s, cutoff, end, 1000, {someone})
        assert fewer == total - 1
        assert someone not in [p for p, _, _ in rest]
        own = app.pseudo.of_normalized(normalize_email(app.settings.controller.email))
        assert own in not_for_review(app, s)
