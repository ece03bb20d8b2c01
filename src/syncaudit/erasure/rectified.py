"""How a rectification ends: the index follows the corrections, the old address is forgotten.

Called by `lifecycle.finish_request_if_done` in the transaction that completes the request:

- records whose id changed with the address (a Mailchimp member's id is the MD5 of it) take
  their new id; corrected records (contacts, audience members) and the subject take the new name;
- on a new address the old subject becomes the new one (merged into it if a sync already met
  the new address), and the old address stays only as its keyed hash (`RectifiedAddress`);
- the request keeps which fields changed, not their values; tasks lose the record ids and refs
  that could be the old address's unkeyed hash.

`check_after_sync` notices a sync meeting a replaced address again (stale data re-imported):
one audit entry and a warning per address, no erasure (the person did not ask for one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import RecordKind
from syncaudit.erasure.states import RequestState
from syncaudit.models import ErasureRequest, ErasureTask, Record, RectifiedAddress, Subject

log = structlog.get_logger("syncaudit.rectification")
RENAMED_KINDS = (RecordKind.CONTACT.value, RecordKind.AUDIENCE_MEMBER.value)
SEEN_AGAIN = "rectification.old_address_seen"


def complete(
    s: Session, request: ErasureRequest, now: datetime, pseudonymize: Callable[[str], str]
) -> None:
    changes = request.changes or {}
    name, email = changes.get("name"), changes.get("email")
    tasks = list(s.scalars(select(ErasureTask).where(ErasureTask.request_id == request.id)))
    subject = s.scalar(select(Subject).where(Subject.pseudonym == request.pseudonym))
    new_pseudonym = pseudonymize(email) if email else request.pseudonym
    moved = 0
    if subject is not None:
        moved = _move_ids(s, subject, tasks)
        if name:
            subject.display_name = name
            s.execute(
                update(Record)
                .where(Record.subject_id == subject.id, Record.kind.in_(RENAMED_KINDS))
                .values(name=name)
            )
        if email:
            subject = _readdress(s, subject, new_pseudonym, email)
    if email and s.get(RectifiedAddress, request.pseudonym) is None:
        s.add(RectifiedAddress(pseudonym=request.pseudonym, request_id=request.id, created_at=now))
    for task in tasks:
        task.outcomes = [
            {**{k: v for k, v in o.items() if k != "moved_to"}, "external_id": None, "key": None}
            for o in task.outcomes or []
        ]
        task.refs = []
        task.instructions = _scrub(task.instructions, [name, email, request.email])
    request.state = RequestState.COMPLETED
    request.completed_at = request.purged_at = now
    request.email = None
    request.names = None
    request.changes = {"name": bool(name), "email": bool(email)}
    audit.append(
        s,
        "request.completed",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        kind=request.kind,
        new_subject=new_pseudonym,
        moved_records=moved,
        within_deadline=now <= utc(request.deadline),
    )
    log.info("rectification.request_completed", request=request.id)


def _move_ids(s: Session, subject: Subject, tasks: list[ErasureTask]) -> int:
    """Index records whose id changed with the address take the new id."""
    moved = 0
    for task in tasks:
        for outcome in task.outcomes or []:
            to: dict[str, Any] | None = outcome.get("moved_to")
            if not to or to.get("external_id") == outcome.get("external_id"):
                continue
            where = (  # the id changes, the stream (e.g. the audience) does not
                Record.subject_id == subject.id,
                Record.system == task.system,
                Record.stream == to["stream"],
                Record.kind == outcome["kind"],
            )
            # a sync may have met the moved record already: keep that row, drop the old one
            old = (*where, Record.external_id == outcome["external_id"])
            met = s.scalar(select(Record.id).where(*where, Record.external_id == to["external_id"]))
            if met is not None:
                s.execute(delete(Record).where(*old))
            else:
                s.execute(update(Record).where(*old).values(external_id=to["external_id"]))
            moved += 1
    return moved


def _readdress(s: Session, subject: Subject, pseudonym: str, email: str) -> Subject:
    """The subject under its new address; merged into the subject a sync already made of it."""
    other = s.scalar(select(Subject).where(Subject.pseudonym == pseudonym))
    if other is None:
        subject.pseudonym, subject.email = pseudonym, email
        return subject
    theirs = {
        (r.system, r.stream, r.external_id, r.kind)
        for r in s.scalars(select(Record).where(Record.subject_id == other.id))
    }
    for record in list(s.scalars(select(Record).where(Record.subject_id == subject.id))):
        if (record.system, record.stream, record.external_id, record.kind) in theirs:
            s.delete(record)
        else:
            record.subject_id = other.id
    other.display_name = subject.display_name or other.display_name
    other.first_seen = min(utc(other.first_seen), utc(subject.first_seen))
    s.flush()
    s.delete(subject)
    s.flush()
    return other


def _scrub(text: str | None, values: list[str | None]) -> str | None:
    """Instructions kept as evidence, without the values they carried."""
    if not text:
        return text
    for value in values:
        if value:
            text = text.replace(value, "[…]")
    return text


def check_after_sync(app: Context) -> int:
    """Replaced addresses a sync has met again, each noticed once (audit entry + warning)."""
    now = app.clock.now()
    noticed = 0
    with app.db.session() as s, s.begin():
        rows = s.execute(
            select(RectifiedAddress, Subject.id)
            .join(Subject, Subject.pseudonym == RectifiedAddress.pseudonym)
            .where(RectifiedAddress.noticed_at.is_(None))
        ).all()
        for row, _ in rows:
            row.noticed_at = now
            systems = sorted(
                set(
                    s.scalars(
                        select(Record.system)
                        .join(Subject, Subject.id == Record.subject_id)
                        .where(Subject.pseudonym == row.pseudonym)
                    )
                )
            )
            audit.append(
                s,
                SEEN_AGAIN,
                at=now,
                subject=row.pseudonym,
                request_id=row.request_id,
                systems=systems,
            )
            log.warning(
                "rectification.old_address_seen",
                subject=app.pseudo.short(row.pseudonym),
                request=row.request_id,
                systems=systems,
                next_step="A system holds the address the person corrected: correct it there "
                "too (`syncaudit subject` with the old address shows where).",
            )
            noticed += 1
    return noticed
