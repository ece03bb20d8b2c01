"""The third-country transfer report: per system, where data goes, on what safeguard, for whom.

Profiles come from the configuration (vendor, country, mechanism, reference, last check); the
verdict from `syncaudit.regions`; the people affected from the index. The monthly report reuses
`transfer_rows` and adds what changed since the previous report.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from syncaudit.config import SystemConfig
from syncaudit.context import Context
from syncaudit.regions import AS_OF, SOURCES, assess
from syncaudit.reports import queries
from syncaudit.reports.common import header, iso
from syncaudit.reports.period import Period, current_month, month_period

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


SCHEMA = "syncaudit.report.transfers/1"


def profile_json(system: SystemConfig) -> dict[str, Any]:
    """The transfer facts of one system as configured (compared month to month)."""
    p = system.profile
    return {
        "vendor": p.vendor,
        "country": p.country,
        "mechanism": str(p.transfer_mechanism),
        "reference": p.transfer_reference,
        "checked": iso(p.transfer_checked),
        "sub_processor_countries": list(p.sub_processor_countries),
        "data_categories": list(p.data_categories),
        "role": p.role,
    }


def transfer_rows(
    app: Context,
    s: Session,
    period: Period,
    as_of: date,
    at_end: dict[str, queries.IndexCounts] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One row per configured system, and the totals (`at_end`: index counts already made)."""
    settings = app.settings.reports
    per_system = at_end if at_end is not None else queries.index_counts(s, period.end)[0]
    new = queries.new_subjects(s, period.start, period.end)
    rows = []
    for system in app.settings.systems:
        verdict = assess(system.profile, as_of, max_check_days=settings.transfer_check_max_days)
        counts = per_system.get(system.name)
        rows.append(
            {
                "system": system.name,
                "type": system.type,
                "enabled": system.enabled,
                **profile_json(system),
                "destinations": list(verdict.destinations),
                "outside_eea": list(verdict.outside_eea),
                "eea": verdict.eea,
                "safeguard": str(verdict.safeguard),
                "check_age_days": verdict.check_age_days,
                "flags": [str(f) for f in verdict.flags],
                "affected_subjects": counts.subjects if counts else 0,
                "new_subjects": new.get(system.name, 0),
            }
        )
    outside = [r["system"] for r in rows if not r["eea"]]
    totals = {
        "systems": len(rows),
        "systems_outside_eea": len(outside),
        "systems_flagged": sum(1 for r in rows if r["flags"]),
        "subjects_outside_eea": queries.subjects_in_systems(s, outside, period.end),
    }
    return rows, totals


def regions_json() -> dict[str, Any]:
    return {"as_of": AS_OF.isoformat(), "sources": list(SOURCES)}


def build_transfers(app: Context, *, lang: str, month: str | None = None) -> dict[str, Any]:
    """The transfer report now ("newly" = this month so far), or at the end of `month`."""
    settings = app.settings.reports
    now = app.clock.now()
    period = month_period(month or current_month(now, settings.timezone), settings.timezone)
    if period.end > now:  # the month is still running: count up to now
        period = Period(month=period.month, timezone=period.timezone, start=period.start, end=now)
    as_of = min(period.end, now).astimezone(period.zone).date()
    with app.db.session() as s:
        rows, totals = transfer_rows(app, s, period, as_of)
    return {
        **header(app, SCHEMA, lang),
        "period": period_json(period),
        "as_of": as_of.isoformat(),
        "transfer_check_max_days": settings.transfer_check_max_days,
        "regions": regions_json(),
        "totals": totals,
        "systems": rows,
    }


def period_json(period: Period) -> dict[str, Any]:
    return {
        "month": period.month,
        "timezone": period.timezone,
        "start": iso(period.start),
        "end": iso(period.end),
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
    }


def profile_changes(
    previous: dict[str, Any] | None, rows: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """What changed in each system's transfer facts since the previous report (None: no report)."""
    if previous is None:
        return None
    before: dict[str, Any] = previous.get("systems", {})
    changes: list[dict[str, Any]] = []
    now = {r["system"]: r for r in rows}
    for name, row in now.items():
        old = before.get(name)
        if old is None:
            changes.append({"system": name, "change": "added", "field": None})
            continue
        for key in ("vendor", "country", "mechanism", "reference", "checked"):
            if old.get(key) != row[key]:
                changes.append(_changed(name, key, old.get(key), row[key]))
        for key in ("sub_processor_countries", "data_categories"):
            if sorted(old.get(key, [])) != sorted(row[key]):
                changes.append(_changed(name, key, old.get(key, []), row[key]))
    changes.extend(
        {"system": name, "change": "removed", "field": None}
        for name in sorted(set(before) - set(now))
    )
    return changes


def _changed(system: str, key: str, before: Any, after: Any) -> dict[str, Any]:
    return {"system": system, "change": "changed", "field": key, "before": before, "after": after}
