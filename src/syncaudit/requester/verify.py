"""The proportionate identity check: a reply from the address the request is about.

The Finnish DPA found ID copies and HETU requests excessive for ordinary requests. The
verification letter carries the request's token at the end of its subject (`[V…]`); a reply
(mail clients keep the subject and quote the original) that carries it, *from the same
address*, marks the request verified. The operator may verify by other means, with a note
(only its SHA-256 is kept).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.mailbox import InboundMessage
from syncaudit.models import IntakeRequest
from syncaudit.requester import store

TOKEN = re.compile(r"\bV[A-HJ-NP-Z2-9]{9}\b")


def by_reply(s: Session, message: InboundMessage, pseudonym: str, now: datetime) -> str | None:
    """The id of the request this message verifies, or None (not a verification reply)."""
    tokens = set(TOKEN.findall(message.subject)) | set(TOKEN.findall(message.body))
    if not tokens:
        return None
    for request in s.scalars(
        select(IntakeRequest).where(
            IntakeRequest.verify_token.in_(sorted(tokens)),
            IntakeRequest.state.in_(store.OPEN_STATES),
        )
    ):
        if request.pseudonym != pseudonym:
            audit.append(
                s,
                "intake.verification_mismatch",
                at=now,
                subject=request.pseudonym,
                request_id=request.id,
            )
            continue
        if request.verification != store.VERIFIED:
            mark(s, request, now, by="reply")
        return request.id
    return None


def mark(
    s: Session, request: IntakeRequest, now: datetime, *, by: str, note: str | None = None
) -> None:
    request.verification = store.VERIFIED
    request.verified_at = now
    request.verified_by = by
    audit.append(
        s,
        "intake.verified",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        by=by,
        note_sha256=hashlib.sha256(note.encode()).hexdigest() if note else None,
    )
