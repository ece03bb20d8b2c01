"""The rights area's section of the monthly report: coaching summaries past their limit.

Registered with `syncaudit.reports.hooks` when the rights package is imported (configuration
parsing imports it). References only: summary number, client pseudonym, dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from syncaudit.context import Context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from syncaudit.reports.hooks import CoachingReview


def coaching_review(app: Context, as_of: date, session: Session) -> CoachingReview | None:
    """Summaries past their limit at the end of `as_of`; None when summaries are not set up."""
    from syncaudit.reports.hooks import CoachingReview
    from syncaudit.rights.settings import retention_settings
    from syncaudit.rights.summaries import expired_summaries, last_scan

    settings = retention_settings(app).summaries
    if settings is None:
        return None
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    expired = expired_summaries(app, as_of=end, session=session)
    items = tuple(
        f"#{e.id} {e.short or 'unknown client'}: sent {_day(e.sent_at)}, "
        f"limit {e.limit.date().isoformat()} ({e.reason.replace('_', ' ')})"
        for e in expired
    )
    scanned = last_scan(app, session)
    note = (
        f"last read {scanned.date().isoformat()}" if scanned else "the folders were never read"
    ) + ("; deleted automatically after a dry run" if settings.delete else "; listed only")
    return CoachingReview(
        limit_years=settings.keep_years, past_limit=len(expired), items=items, note=note
    )


def _day(when: datetime | None) -> str:
    return when.date().isoformat() if when else "undated"
