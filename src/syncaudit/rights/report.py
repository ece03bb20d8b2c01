"""The rights area's section of the monthly report: coaching summaries past their limit.

The monthly report (syncaudit.reports.monthly) calls `coaching_review` directly: reports may
import rights, never the reverse. References only: summary number, client pseudonym, dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from syncaudit.context import Context
from syncaudit.rights.summaries import expired_summaries, last_scan


@dataclass(frozen=True, kw_only=True)
class CoachingReview:
    """Coaching summaries past their limit at `as_of`, named by pseudonym or message id only."""

    limit_years: int
    past_limit: int  # how many summaries are kept longer than the limit
    items: tuple[str, ...] = field(default_factory=tuple)  # references, no names
    note: str = ""


def coaching_review(app: Context, as_of: date, session: Session) -> CoachingReview | None:
    """Summaries past their limit at the end of `as_of`; None when summaries are not set up."""
    settings = app.settings.retention.summaries
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
