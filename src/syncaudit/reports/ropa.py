"""The record of processing activities, Art. 30(1) GDPR, items (a)-(g), from the configuration.

(a) the controller, its representative and DPO from [controller]; (b)-(d) and (f)-(g) from each
[[activities]] table; (e) the transfers are not typed in but derived from the systems the activity
runs on, with the same verdict as the transfer report. Every processor of those systems is a
recipient too (item d).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from syncaudit.context import Context
from syncaudit.regions import assess
from syncaudit.reports.common import header
from syncaudit.reports.transfers import regions_json

if TYPE_CHECKING:
    from syncaudit.reports.settings import Activity

SCHEMA = "syncaudit.report.ropa/1"


def build_ropa(app: Context, *, lang: str) -> dict[str, Any]:
    settings = app.settings.reports
    today = app.clock.now().astimezone(_zone(settings.timezone)).date()
    activities = [_activity(app, a, today) for a in settings.activities]
    return {
        **header(app, SCHEMA, lang),
        "as_of": today.isoformat(),
        "erasure_deadline_hours": app.settings.erasure.deadline_hours,
        "regions": regions_json(),
        "activities": activities,
        "problems": _problems(app, activities),
    }


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _activity(app: Context, activity: Activity, today: Any) -> dict[str, Any]:
    settings = app.settings.reports
    systems = [app.settings.system(name) for name in activity.systems]
    transfers = []
    for system in systems:
        verdict = assess(system.profile, today, max_check_days=settings.transfer_check_max_days)
        if verdict.eea:
            continue
        transfers.append(
            {
                "system": system.name,
                "vendor": system.profile.vendor,
                "countries": list(verdict.outside_eea),
                "safeguard": str(verdict.safeguard),
                "reference": system.profile.transfer_reference,
                "checked": system.profile.transfer_checked.isoformat()
                if system.profile.transfer_checked
                else None,
                "flags": [str(f) for f in verdict.flags],
            }
        )
    processors = [
        {
            "system": s.name,
            "vendor": s.profile.vendor,
            "role": s.profile.role,
            "country": s.profile.country,
        }
        for s in systems
        if s.profile.vendor
    ]
    return {
        "name": activity.name,
        "purposes": list(activity.purposes),
        "legal_bases": list(activity.legal_bases),
        "legal_basis_note": activity.legal_basis_note,
        "subject_categories": list(activity.subject_categories),
        "data_categories": list(activity.data_categories),
        "recipients": list(activity.recipients),
        "processors": processors,
        "systems": list(activity.systems),
        "transfers": transfers,
        "retention": activity.retention,
        "security_measures": list(
            dict.fromkeys((*settings.security_measures, *activity.security_measures))
        ),
    }


def _problems(app: Context, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the record lacks, as codes the report words; the operator fixes the config."""
    problems: list[dict[str, Any]] = []
    controller = app.settings.controller
    if not controller.name or not (controller.email or controller.address):
        problems.append({"problem": "controller_incomplete", "activity": None})
    if not activities:
        problems.append({"problem": "no_activities", "activity": None})
    for activity in activities:
        missing = {
            "retention_missing": not activity["retention"],
            "security_missing": not activity["security_measures"],
            "categories_missing": not activity["subject_categories"]
            or not activity["data_categories"],
            "transfer_flagged": any(t["flags"] for t in activity["transfers"]),
        }
        problems.extend(
            {"problem": code, "activity": activity["name"]} for code, bad in missing.items() if bad
        )
    return problems
