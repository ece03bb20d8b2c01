"""Config sections owned by reports: [reports] and [[activities]] (the Art. 30 record).

The record of processing activities is written by the operator, not guessed: each activity names
its purposes and legal bases, and the systems it runs on; transfers (item e) are then derived from
those systems' profiles, so the ROPA and the transfer report cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncaudit.contract import SettingsReader

FORMATS = ("html", "pdf", "md", "json")
LANGUAGES = ("fi", "en")
# GDPR Art. 6(1) (a)-(f); the report prints the article with each.
LEGAL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)


@dataclass(frozen=True, kw_only=True)
class Activity:
    """One processing activity of the Art. 30(1) record."""

    name: str
    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]
    legal_basis_note: str = ""  # e.g. which legitimate interest, which law
    subject_categories: tuple[str, ...] = ()
    data_categories: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()  # names of [[systems]]: where it runs, whence the transfers
    retention: str = ""  # Art. 30(1)(f): the time limits for erasure, in words
    security_measures: tuple[str, ...] = ()  # added to [reports].security_measures


@dataclass(frozen=True, kw_only=True)
class ReportsSettings:
    formats: tuple[str, ...] = ("html",)  # what the scheduled monthly report writes
    timezone: str = "Europe/Helsinki"  # month boundaries and the times shown
    legal_hold_horizon_days: int = 90  # "retention ends soon" window
    review_list_limit: int = 200  # inactive subjects listed by pseudonym (all are counted)
    transfer_check_max_days: int = 365  # a DPF certification checked longer ago is flagged
    security_measures: tuple[str, ...] = ()  # Art. 30(1)(g), common to every activity
    activities: tuple[Activity, ...] = field(default_factory=tuple)


def parse_reports(
    raw: Mapping[str, Any], env: Mapping[str, str], problems: list[str]
) -> ReportsSettings:
    """Validate [reports] and [[activities]]; append every problem with its key path."""
    table = raw.get("reports", {})
    if not isinstance(table, dict):
        problems.append("reports: must be a table ([reports])")
        table = {}
    reader = SettingsReader(table, "reports", env)
    formats = reader.string_list("formats", ("html",))
    for fmt in formats:
        if fmt not in FORMATS:
            reader.problem("formats", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if not formats:
        reader.problem("formats", "must name at least one format")
    timezone = reader.string("timezone", "Europe/Helsinki")
    if not _valid_zone(timezone):
        reader.problem("timezone", f"{timezone!r} is not a time zone such as Europe/Helsinki")
    settings = ReportsSettings(
        formats=tuple(dict.fromkeys(f for f in formats if f in FORMATS)) or ("html",),
        timezone=timezone if _valid_zone(timezone) else "UTC",
        legal_hold_horizon_days=reader.integer("legal_hold_horizon_days", 90, minimum=1),
        review_list_limit=reader.integer("review_list_limit", 200, minimum=0),
        transfer_check_max_days=reader.integer("transfer_check_max_days", 365, minimum=1),
        security_measures=reader.string_list("security_measures"),
        activities=_activities(raw.get("activities", []), raw, env, problems),
    )
    _unknown_keys(reader, _REPORTS_KEYS, problems)
    return settings


def _valid_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_REPORTS_KEYS = frozenset(
    {
        "formats",
        "timezone",
        "legal_hold_horizon_days",
        "review_list_limit",
        "transfer_check_max_days",
        "security_measures",
    }
)
_ACTIVITY_KEYS = frozenset(
    {
        "name",
        "purposes",
        "legal_bases",
        "legal_basis_note",
        "subject_categories",
        "data_categories",
        "recipients",
        "systems",
        "retention",
        "security_measures",
    }
)


def _unknown_keys(reader: SettingsReader, known: frozenset[str], problems: list[str]) -> None:
    """Collect the reader's problems plus unknown keys (typos) — all of them, not the first."""
    problems.extend(reader.problems)
    problems.extend(
        f"{reader.path}.{key}: unknown key (typo?)" for key in reader.raw if key not in known
    )


def _system_names(raw: Mapping[str, Any]) -> set[str]:
    systems = raw.get("systems", [])
    if not isinstance(systems, list):
        return set()
    return {s["name"] for s in systems if isinstance(s, dict) and isinstance(s.get("name"), str)}


def _activities(
    value: Any, raw: Mapping[str, Any], env: Mapping[str, str], problems: list[str]
) -> tuple[Activity, ...]:
    if not isinstance(value, list):
        problems.append("activities: must be an array of tables ([[activities]])")
        return ()
    known_systems = _system_names(raw)
    out: list[Activity] = []
    names: set[str] = set()
    for index, table in enumerate(value):
        path = f"activities[{index}]"
        if not isinstance(table, dict):
            problems.append(f"{path}: must be a table")
            continue
        activity = _activity(SettingsReader(table, path, env), known_systems, problems)
        if activity.name in names:
            problems.append(f"{path}.name: {activity.name!r} is used by two activities")
        names.add(activity.name)
        out.append(activity)
    return tuple(out)


def _activity(reader: SettingsReader, known_systems: set[str], problems: list[str]) -> Activity:
    name = reader.string("name", required=True)
    purposes = reader.string_list("purposes")
    if not purposes:
        reader.problem("purposes", 'is required: why the data is processed, e.g. ["invoicing"]')
    bases = reader.string_list("legal_bases")
    if not bases:
        reader.problem("legal_bases", f"is required: one or more of {', '.join(LEGAL_BASES)}")
    for basis in bases:
        if basis not in LEGAL_BASES:
            reader.problem("legal_bases", f"{basis!r} is not one of {', '.join(LEGAL_BASES)}")
    systems = reader.string_list("systems")
    for system in systems:
        if system not in known_systems:
            known = ", ".join(sorted(known_systems)) or "none"
            reader.problem("systems", f"no system named {system!r} (configured: {known})")
    activity = Activity(
        name=name,
        purposes=purposes,
        legal_bases=tuple(b for b in bases if b in LEGAL_BASES),
        legal_basis_note=reader.string("legal_basis_note", ""),
        subject_categories=reader.string_list("subject_categories"),
        data_categories=reader.string_list("data_categories"),
        recipients=reader.string_list("recipients"),
        systems=systems,
        retention=reader.string("retention", ""),
        security_measures=reader.string_list("security_measures"),
    )
    _unknown_keys(reader, _ACTIVITY_KEYS, problems)
    return activity
