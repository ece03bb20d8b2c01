"""What every report shares: its settings, its header and how values become JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.models import Record


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("syncaudit")
    except PackageNotFoundError:
        return "unknown"


def header(app: Context, schema: str, lang: str) -> dict[str, Any]:
    controller = asdict(app.settings.controller)
    controller.pop("language", None)
    return {
        "schema": schema,
        "language": lang,
        "timezone": app.settings.reports.timezone,
        "generated_at": iso(app.clock.now()),
        "syncaudit_version": version(),
        "controller": controller,
    }


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value).isoformat()
    return value.isoformat()


def hours_between(start: datetime, end: datetime) -> float:
    return round((utc(end) - utc(start)).total_seconds() / 3600, 2)


def active_at(when: datetime) -> ColumnElement[bool]:
    """A record that was in its system at `when` (seen by then, not yet removed)."""
    return and_(
        Record.first_seen < when, or_(Record.removed_at.is_(None), Record.removed_at >= when)
    )
