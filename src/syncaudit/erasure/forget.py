"""Forgetting: after verification, syncaudit's own copy of the person goes too.

What remains: the tombstone (keyed hash), the request id with per-system outcomes and times, and
for records under legal hold a bare reference (system, record id, basis, end date) without names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from syncaudit.models import Record, Subject, Tombstone


def purge_subject(session: Session, pseudonym: str, request_id: str, now: datetime) -> int:
    """Purge plaintext of `pseudonym` and add its tombstone; returns records kept under hold."""
    if session.get(Tombstone, pseudonym) is None:
        session.add(Tombstone(pseudonym=pseudonym, request_id=request_id, created_at=now))
    subject = session.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
    if subject is None:
        return 0
    held = Record.legal_hold_until.is_not(None)
    session.execute(delete(Record).where(Record.subject_id == subject.id, ~held))
    result = session.execute(
        update(Record)
        .where(Record.subject_id == subject.id, held)
        .values(name=None, restricted_at=now)
    )
    kept = int(getattr(result, "rowcount", 0) or 0)
    if kept:
        subject.email = None
        subject.display_name = None
    else:
        session.delete(subject)
    session.flush()
    return kept
