"""Letters to the requester: rendered from templates/ (Jinja2, fi / sv / en), each sent once.

Sending is crash-safe in three steps, each committed: the letter is *intended* (a row, no
text), then *sending* (just before the sendMail call), then *sent* (with the SHA-256 of what
went out, and an audit entry `letter.sent`: kind, time, digest — no plaintext). A letter found
`sending` after a crash is looked up in Sent Items by its marker (the reference at the end of
its subject) and only sent if it is not there. The text is never stored: it is rendered from the
request's state when sent.

Templates are plain files an operator can read and adjust: `<language>/<kind>.txt`, whose first
line is `Subject: ...`; [intake].templates names a folder whose files take precedence.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.mailbox import Attachment, Letter, SupportsMailbox
from syncaudit.models import IntakeLetter, IntakeRequest

log = structlog.get_logger("syncaudit.requester")

RECEIPT = "receipt"
VERIFICATION = "verification"
COMPLETION = "completion"
REFUSAL = "refusal"
EXTENSION = "extension"
KINDS = (RECEIPT, VERIFICATION, COMPLETION, REFUSAL, EXTENSION)

INTENDED = "intended"
SENDING = "sending"
SENT = "sent"
TEMPLATES = Path(__file__).with_name("templates")
SENT_ITEMS_SLACK = timedelta(minutes=10)  # clock skew between us and Exchange
SENDING_STALE = timedelta(minutes=5)  # a letter `sending` this long was interrupted


@dataclass(frozen=True, kw_only=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=4)
def _environment(extra: str) -> Environment:
    folders = [extra, str(TEMPLATES)] if extra else [str(TEMPLATES)]
    return Environment(
        loader=FileSystemLoader(folders),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain-text mail  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    kind: str, language: str, context: Mapping[str, Any], *, marker: str, extra: str = ""
) -> Rendered:
    """The letter's subject (its marker appended) and body."""
    text = _environment(extra).get_template(f"{language}/{kind}.txt").render(**context)
    head, _, body = text.partition("\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"template {language}/{kind}.txt must start with 'Subject: '")
    subject = head.removeprefix("Subject:").strip()
    return Rendered(subject=f"{subject} [{marker}]", body=body.lstrip("\n"))


def digest(letter: Letter) -> str:
    """SHA-256 of what was sent: recipient, subject, body and each attachment's digest."""
    h = hashlib.sha256()
    h.update(f"To: {letter.to}\nSubject: {letter.subject}\n\n{letter.body}".encode())
    for a in letter.attachments:
        h.update(f"\nAttachment: {a.name} {hashlib.sha256(a.data).hexdigest()}".encode())
    return h.hexdigest()


def intend(
    session: Session,
    request: IntakeRequest,
    kind: str,
    now: datetime,
    *,
    reason: str | None = None,
    marker: str | None = None,
) -> IntakeLetter:
    """Record that a letter is due (once per request and kind)."""
    existing = session.scalar(
        select(IntakeLetter).where(IntakeLetter.intake_id == request.id, IntakeLetter.kind == kind)
    )
    if existing is not None:
        return existing
    letter = IntakeLetter(
        intake_id=request.id,
        kind=kind,
        marker=marker or ("L" + secrets.token_hex(5).upper()),
        state=INTENDED,
        reason=reason,
        created_at=now,
    )
    session.add(letter)
    session.flush()
    return letter


Compose = Any  # (session, request, letter) -> Letter; built by intake.py


def send_due(
    db: Any, clock: Any, connector: SupportsMailbox, mailbox: str, compose: Compose
) -> list[int]:
    """Send every letter not yet sent, oldest first; return the ids sent now.

    A letter is claimed by a conditional update (intended -> sending), so two processes never
    both send it. One left `sending` for SENDING_STALE (a crash, or a send that failed without
    knowing whether Exchange took it) is looked up in Sent Items and sent only if absent."""
    now = clock.now()
    with db.session() as s:
        due = [
            (row.id, row.state, row.marker, row.attempted_at)
            for row in s.scalars(
                select(IntakeLetter)
                .where(IntakeLetter.state.in_([INTENDED, SENDING]))
                .order_by(IntakeLetter.id)
            )
            if row.state == INTENDED
            or (row.attempted_at is not None and utc(row.attempted_at) <= now - SENDING_STALE)
        ]
    interrupted = [(m, utc(a)) for _, state, m, a in due if state == SENDING and a is not None]
    already: set[str] = set()
    if interrupted:
        since = min(a for _, a in interrupted) - SENT_ITEMS_SLACK
        already = connector.was_sent(mailbox, [m for m, _ in interrupted], since)
    sent = []
    for letter_id, state, marker, attempted in due:
        with db.session() as s, s.begin():
            claimed = s.execute(
                update(IntakeLetter)
                .where(
                    IntakeLetter.id == letter_id,
                    IntakeLetter.state == state,
                    IntakeLetter.attempted_at.is_(None)
                    if attempted is None
                    else IntakeLetter.attempted_at == attempted,
                )
                .values(state=SENDING, attempted_at=clock.now())
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                continue  # another process took it
            row = s.get(IntakeLetter, letter_id)
            request = s.get(IntakeRequest, row.intake_id) if row else None
            assert row is not None
            assert request is not None
            letter = compose(s, request, row)
            if state == SENDING and marker in already:
                _mark_sent(s, row, request, letter, clock.now(), recovered=True)
                continue
        connector.send_letter(mailbox, letter)
        with db.session() as s, s.begin():
            row = s.get(IntakeLetter, letter_id)
            request = s.get(IntakeRequest, row.intake_id) if row else None
            assert row is not None
            assert request is not None
            _mark_sent(s, row, request, letter, clock.now(), recovered=False)
        sent.append(letter_id)
    return sent


def _mark_sent(
    s: Session,
    row: IntakeLetter,
    request: IntakeRequest,
    letter: Letter,
    now: datetime,
    *,
    recovered: bool,
) -> None:
    row.state, row.sent_at, row.sha256 = SENT, now, digest(letter)
    row.reason = None  # the operator's words went out in the letter; not kept beside it
    audit.append(
        s,
        "letter.sent",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
        letter=row.kind,
        language=request.language,
        marker=row.marker,
        sha256=row.sha256,
        attachments=[a.name for a in letter.attachments],
        found_in_sent_items=recovered,
    )
    log.info("requester.letter_sent", request=request.id, letter=row.kind, recovered=recovered)


def exists(session: Session, request_id: str, kind: str) -> bool:
    return (
        session.scalar(
            select(IntakeLetter.id).where(
                IntakeLetter.intake_id == request_id, IntakeLetter.kind == kind
            )
        )
        is not None
    )


def unsent(session: Session, request_id: str) -> int:
    return len(
        list(
            session.scalars(
                select(IntakeLetter.id).where(
                    IntakeLetter.intake_id == request_id, IntakeLetter.state != SENT
                )
            )
        )
    )


def attachment(path: Path, content_type: str) -> Attachment:
    return Attachment(name=path.name, content_type=content_type, data=path.read_bytes())
