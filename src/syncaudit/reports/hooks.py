"""Sections other areas fill in. Until one is provided the report says "not configured".

The rights area owns coaching summaries (kept 2 years after the assignment ends); it registers a
provider here, and the monthly report's retention review shows what it returns:

    from syncaudit.reports.hooks import CoachingReview, register_coaching_review

    def review(app: Context, as_of: date, session: Session) -> CoachingReview: ...
    register_coaching_review(review)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from syncaudit.context import Context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, kw_only=True)
class CoachingReview:
    """Coaching summaries past their limit at `as_of`, named by pseudonym or message id only."""

    limit_years: int
    past_limit: int  # how many summaries are kept longer than the limit
    items: tuple[str, ...] = field(default_factory=tuple)  # references, no names
    note: str = ""


CoachingProvider = Callable[["Context", date, "Session"], CoachingReview | None]
_coaching: list[CoachingProvider] = []


def register_coaching_review(provider: CoachingProvider) -> None:
    """Install the provider (replacing any earlier one)."""
    _coaching[:] = [provider]


def coaching_review(app: Context, as_of: date, session: Session) -> CoachingReview | None:
    """None: nobody provides coaching summaries (the report shows "not configured")."""
    return _coaching[0](app, as_of, session) if _coaching else None
