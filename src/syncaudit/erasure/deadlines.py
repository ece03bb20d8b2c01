"""The deadline watch: warnings at half and three quarters of the deadline, a breach after it.

Two clocks run for every request: the owner's promise (`ErasureRequest.deadline`, 48 hours by
default, watched here) and the statutory one of GDPR Art. 12(3), `statutory_deadline`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.states import OPEN_REQUEST_STATES, RequestState
from syncaudit.models import ErasureRequest

log = structlog.get_logger("syncaudit.deadlines")
STATUTORY_MONTHS = 1  # Art. 12(3): "within one month of receipt of the request"
EXTENSION_MONTHS = 2  # "may be extended by two further months where necessary", once


def statutory_deadline(
    received_at: datetime, timezone: str = "Europe/Helsinki", *, extended: bool = False
) -> datetime:
    """The last moment of the answer under Art. 12(3): one *calendar* month from receipt.

    As in the EU rule on periods (Regulation 1182/71, Art. 3(2)(c)), the period ends at the end of
    the day of the last month with the same date as the day of receipt, or of that month's last
    day when it has no such date (31 January -> 28/29 February); `extended` adds the two further
    months. Dates are local to `timezone`. A deadline on a weekend or holiday is not moved to the
    next working day: the earlier date is the safe one to warn about.
    """
    zone = ZoneInfo(timezone)
    local = received_at.astimezone(zone)
    months = STATUTORY_MONTHS + (EXTENSION_MONTHS if extended else 0)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    next_day = datetime.combine(local.date().replace(year=year, month=month, day=day), time())
    end = next_day.replace(tzinfo=zone) + timedelta(days=1)  # midnight after the last day
    return end.astimezone(UTC) - timedelta(microseconds=1)


@dataclass(frozen=True, kw_only=True)
class DeadlineEvent:
    request_id: str
    kind: str  # warning_half | warning_three_quarters | breach
    hours_left: float


def watch(app: Context) -> list[DeadlineEvent]:
    """Record each warning and breach once, as it happens; return the new ones."""
    now = app.clock.now()
    events: list[DeadlineEvent] = []
    with app.db.session() as s, s.begin():
        open_states = [str(x) for x in OPEN_REQUEST_STATES]
        query = select(ErasureRequest).where(ErasureRequest.state.in_(open_states))
        if not app.db.is_sqlite:  # a worker completing one meanwhile must not be overwritten
            query = query.with_for_update()
        for request in s.scalars(query):
            received, deadline = utc(request.received_at), utc(request.deadline)
            total = (deadline - received).total_seconds() or 1.0
            fraction = (now - received).total_seconds() / total
            hours_left = round((deadline - now).total_seconds() / 3600, 1)
            kind = None
            if now >= deadline and request.breached_at is None:
                request.breached_at = now
                request.state = RequestState.OVERDUE
                kind = "breach"
            elif fraction >= 0.75 and request.warned_three_quarters_at is None and now < deadline:
                request.warned_three_quarters_at = now
                request.warned_half_at = request.warned_half_at or now
                kind = "warning_three_quarters"
            elif fraction >= 0.5 and request.warned_half_at is None and now < deadline:
                request.warned_half_at = now
                kind = "warning_half"
            if kind is None:
                continue
            audit.append(
                s,
                f"deadline.{kind}",
                at=now,
                subject=request.pseudonym,
                request_id=request.id,
                hours_left=hours_left,
            )
            events.append(DeadlineEvent(request_id=request.id, kind=kind, hours_left=hours_left))
            log.warning(f"erasure.deadline_{kind}", request=request.id, hours_left=hours_left)
    return events
