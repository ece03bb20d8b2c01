"""Pending requests from the mailbox: made, joined by duplicates, found, closed.

An intake request (`M-...`) holds the requester's address only while it is open (the letters
go to it); closing it purges the address, leaving the pseudonym, as erasure requests do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.erasure.deadlines import statutory_deadline
from syncaudit.errors import UsageError
from syncaudit.models import IntakeRequest

PENDING = "pending"  # waiting for the operator (and, for access, the person's reply)
APPROVED = "approved"  # handed to the erasure / access / objection machinery
CLOSED = "closed"  # answered (completed or rejected); the address is purged
OPEN_STATES = (PENDING, APPROVED)

UNVERIFIED = "unverified"
VERIFIED = "verified"
NOT_REQUIRED = "not_required"


@dataclass(frozen=True, kw_only=True)
class NewRequest:
    system: str
    message_id: str
    received: datetime
    email: str  # normalised
    pseudonym: str
    kind: str
    language: str
    matched: tuple[str, ...]
    verify: bool  # a verification mail will be sent


def new_id(now: datetime) -> str:
    return f"M-{now:%Y%m%d}-{secrets.token_hex(3)}"


def known_message(session: Session, system: str, message_id: str, horizon: datetime) -> bool:
    """Made into a request already, or joined one (a delta reset re-reads the folder).

    A message joins only an open request, so one it joined is open or was closed after the
    message came; messages older than `horizon` are not read at all."""
    if session.scalar(
        select(IntakeRequest.id).where(
            IntakeRequest.system == system, IntakeRequest.message_id == message_id
        )
    ):
        return True
    rows = session.scalars(
        select(IntakeRequest).where(
            IntakeRequest.system == system,
            or_(IntakeRequest.state.in_(OPEN_STATES), IntakeRequest.closed_at >= horizon),
        )
    )
    return any(message_id in (r.message_ids or []) for r in rows)


def open_for(session: Session, pseudonym: str, kind: str) -> IntakeRequest | None:
    return session.scalar(
        select(IntakeRequest)
        .where(
            IntakeRequest.pseudonym == pseudonym,
            IntakeRequest.kind == kind,
            IntakeRequest.state.in_(OPEN_STATES),
        )
        .order_by(IntakeRequest.received_at)
        .limit(1)
    )


def create(session: Session, new: NewRequest, now: datetime, timezone: str) -> IntakeRequest:
    request = IntakeRequest(
        id=new_id(now),
        system=new.system,
        message_id=new.message_id,
        message_ids=[new.message_id],
        messages=1,
        received_at=new.received,
        pseudonym=new.pseudonym,
        email=new.email,
        kind=new.kind,
        language=new.language,
        matched=list(new.matched),
        state=PENDING,
        verification=UNVERIFIED if new.verify else NOT_REQUIRED,
        verify_token=token() if new.verify else None,
        statutory_deadline=statutory_deadline(new.received, timezone),
        created_at=now,
    )
    session.add(request)
    session.flush()
    audit.append(
        session,
        "intake.received",
        at=now,
        subject=new.pseudonym,
        request_id=request.id,
        kind=new.kind,
        language=new.language,
        matched=list(new.matched),
        received_at=utc(new.received).isoformat(),
        statutory_deadline=utc(request.statutory_deadline).isoformat(),
    )
    return request


def join(session: Session, request: IntakeRequest, message_id: str, now: datetime) -> None:
    """A further message of the same person for the same kind: counted, no second request."""
    request.message_ids = [*(request.message_ids or []), message_id]
    request.messages = len(request.message_ids)
    audit.append(
        session,
        "intake.joined",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        messages=request.messages,
    )


def token() -> str:
    """The verification reference in the subject: short, unguessable, easy to spot in a reply."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "V" + "".join(secrets.choice(alphabet) for _ in range(9))


def get(session: Session, intake_id: str) -> IntakeRequest:
    request = session.get(IntakeRequest, intake_id)
    if request is None:
        raise UsageError(f"no request {intake_id}", next_step="See `syncaudit requests --pending`.")
    return request


def close(session: Session, request: IntakeRequest, outcome: str, now: datetime) -> None:
    """Answered: purge the address (only the pseudonym stays)."""
    request.state = CLOSED
    request.outcome = outcome
    request.closed_at = now
    request.email = None
    audit.append(
        session,
        "intake.closed",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        outcome=outcome,
        within_statutory=now <= utc(request.statutory_deadline),
    )


def promise_deadline(request: IntakeRequest, hours: int) -> datetime:
    """The owner's promise (48 h by default) runs from the message's received time too."""
    return utc(request.received_at) + timedelta(hours=hours)
