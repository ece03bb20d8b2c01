"""The deadline watch: warnings at half and three quarters of the deadline, a breach after it."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.states import OPEN_REQUEST_STATES, RequestState
from syncaudit.models import ErasureRequest

log = structlog.get_logger("syncaudit.deadlines")


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
