"""One intake run: read the folder, make pending requests, verify by reply, send, complete.

1. The folder's delta round since the stored cursor (`sync_state`, stream `intake:<folder>`).
   Each message is handled in its own transaction, with the letters it makes due, so a crash
   repeats at most the message it was on (messages already made into a request, or joined to
   one, are recognised by id). The cursor is stored after the round.
2. A message carrying an open request's verification token, from that request's address,
   verifies it. Any other message is classified (classify.py): no right asked for, nothing is
   stored; a request of a kind the person already has open joins it (counted).
3. Letters due are sent (letters.py: once, even across a crash).
4. Approved requests whose erasure / access / objection has completed get their completion
   letter; once every letter of a request is sent, it is closed and its address purged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.requests import task_result
from syncaudit.erasure.states import RequestState
from syncaudit.errors import ConfigError, PermanentError
from syncaudit.identity import try_normalize_email
from syncaudit.mailbox import InboundMessage, Letter, SupportsMailbox
from syncaudit.models import ErasureRequest, ErasureTask, IntakeLetter, IntakeRequest, SyncState
from syncaudit.requester import letters, store, verify
from syncaudit.requester.classify import ACCESS, classify
from syncaudit.requester.settings import IntakeSettings
from syncaudit.rights.requests import task_word

log = structlog.get_logger("syncaudit.requester")


@dataclass
class IntakeReport:
    read: int = 0
    ignored: int = 0
    too_old: int = 0  # received more than [intake].max_age_days ago: left to the operator
    created: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    letters_sent: int = 0
    closed: list[str] = field(default_factory=list)
    reset: bool = False


def intake_settings(app: Context) -> IntakeSettings:
    settings = app.settings.intake
    if settings is None:
        raise ConfigError(["intake: no [intake] section: requests are not read from a mailbox"])
    return settings


def mailbox_connector(app: Context, settings: IntakeSettings) -> SupportsMailbox:
    connector = app.connector(settings.system)
    if not isinstance(connector, SupportsMailbox):
        raise PermanentError(
            f"system {settings.system!r} cannot read a mailbox",
            next_step="Name a Microsoft Graph system in [intake].system.",
        )
    return connector


def run_intake(app: Context) -> IntakeReport:
    settings = intake_settings(app)
    connector = mailbox_connector(app, settings)
    report = IntakeReport()
    stream = "intake:" + settings.folder
    with app.db.session() as s:
        state = s.get(SyncState, (settings.system, stream))
        cursor = state.cursor if state else None
    batch = connector.new_messages(settings.mailbox, settings.folder, cursor)
    report.reset = batch.reset
    own = try_normalize_email(settings.mailbox)
    for message in batch.messages:
        if message.removed:
            continue
        report.read += 1
        with app.db.session() as s, s.begin():
            _one(app, s, settings, message, own, report)
    with app.db.session() as s, s.begin():
        state = s.get(SyncState, (settings.system, stream))
        if state is None:
            state = SyncState(system=settings.system, stream=stream, updated_at=app.clock.now())
            s.add(state)
        state.cursor, state.updated_at = batch.cursor, app.clock.now()
    queue_completions(app)
    report.letters_sent = send_letters(app)
    report.closed = close_answered(app)
    log.info(
        "requester.intake",
        read=report.read,
        created=len(report.created),
        joined=len(report.joined),
        verified=len(report.verified),
        letters=report.letters_sent,
    )
    return report


def _one(  # noqa: PLR0917
    app: Context,
    s: Session,
    settings: IntakeSettings,
    message: InboundMessage,
    own: str | None,
    report: IntakeReport,
) -> None:
    sender = try_normalize_email(message.sender) if message.sender else None
    if sender is None or sender == own:
        report.ignored += 1
        return
    now = app.clock.now()
    horizon = now - timedelta(days=settings.max_age_days)
    if message.received is not None and utc(message.received) < horizon:
        report.too_old += 1  # old mail is not a new request (a first run reads the folder)
        return
    if store.known_message(s, settings.system, message.id, horizon):
        return
    pseudonym = app.pseudo.of_normalized(sender)
    verified = verify.by_reply(s, message, pseudonym, now)
    if verified is not None:
        report.verified.append(verified)
        return
    found = classify(message.subject, message.body, settings.languages)
    if found.kind is None:
        report.ignored += 1  # nothing of the message is kept
        return
    joined = store.open_for(s, pseudonym, found.kind)
    if joined is not None:
        store.join(s, joined, message.id, now)
        report.joined.append(joined.id)
        return
    request = store.create(
        s,
        store.NewRequest(
            system=settings.system,
            message_id=message.id,
            received=utc(message.received) if message.received else now,
            email=sender,
            pseudonym=pseudonym,
            kind=found.kind,
            language=found.language,
            matched=found.matched,
            verify=settings.verify == "reply",
        ),
        now,
        app.settings.reports.timezone,
    )
    if settings.receipt:
        letters.intend(s, request, letters.RECEIPT, now)
    if request.verify_token:
        letters.intend(s, request, letters.VERIFICATION, now, marker=request.verify_token)
    report.created.append(request.id)


# -- letters ---------------------------------------------------------------------------------


def send_letters(app: Context) -> int:
    settings = intake_settings(app)
    connector = mailbox_connector(app, settings)

    def compose(s: Session, request: IntakeRequest, row: IntakeLetter) -> Letter:
        return compose_letter(app, s, request, row)

    return len(letters.send_due(app.db, app.clock, connector, settings.mailbox, compose))


def compose_letter(app: Context, s: Session, request: IntakeRequest, row: IntakeLetter) -> Letter:
    settings = intake_settings(app)
    if request.email is None:
        raise PermanentError(
            f"request {request.id} no longer holds an address: its letter cannot be sent",
            next_step="Nothing to do: the request was closed before the letter went out.",
        )
    zone = ZoneInfo(app.settings.reports.timezone)
    context: dict[str, Any] = {
        "ref": request.id,
        "kind": request.kind,
        "received": utc(request.received_at).astimezone(zone).date().isoformat(),
        "deadline": utc(request.statutory_deadline).astimezone(zone).date().isoformat(),
        "controller": app.settings.controller.name or settings.mailbox,
        "authority": settings.authority,
        "reason": row.reason or "",
        "systems": [],
        "retained": [],
        "delivery": settings.access_delivery,
    }
    attachments = []
    if row.kind == letters.COMPLETION and request.request_id:
        context["systems"], context["retained"] = _outcomes(s, request.request_id)
        if request.kind == ACCESS and settings.access_delivery == "attachment":
            attachments = access_files(settings.access_dir, request.request_id)
    language = request.language if request.language in settings.languages else "fi"
    text = letters.render(row.kind, language, context, marker=row.marker, extra=settings.templates)
    return Letter(
        to=request.email, subject=text.subject, body=text.body, attachments=tuple(attachments)
    )


def access_files(folder: Path, request_id: str) -> list[Any]:
    html, data = folder / f"access-{request_id}.html", folder / f"access-{request_id}.json"
    out = []
    if html.is_file():
        out.append(letters.attachment(html, "text/html"))
    if data.is_file():
        out.append(letters.attachment(data, "application/json"))
    return out


# Kinds whose tasks say in one word what was done to the data (erased, rectified, ...).
DIRECT = ("erasure", "rectification")


def _outcomes(s: Session, request_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    request = s.get(ErasureRequest, request_id)
    tasks = list(
        s.scalars(
            select(ErasureTask)
            .where(ErasureTask.request_id == request_id)
            .order_by(ErasureTask.system)
        )
    )
    systems, retained = [], []
    kind = request.kind if request else "erasure"
    for task in tasks:
        word = task_result(task) if kind in DIRECT else task_word(kind, _task_view(task))
        word = "exported" if word.startswith("exported") else word
        word = "nothing" if word == "nothing found" else word.replace(" ", "_")
        systems.append({"name": task.system, "result": word})
        for outcome in task.outcomes or []:
            if outcome.get("status") == "retained":
                retained.append(
                    {
                        "system": task.system,
                        "label": outcome.get("label") or outcome.get("kind") or "record",
                        "until": outcome.get("retained_until") or "",
                        "basis": outcome.get("legal_basis") or "",
                    }
                )
    return systems, retained


def _task_view(task: ErasureTask) -> dict[str, Any]:
    return {"state": task.state, "outcomes": task.outcomes, "result": str(task.state)}


# -- completion --------------------------------------------------------------------------------


def queue_completions(app: Context) -> list[str]:
    """Approved requests whose underlying request completed: their completion letter is due."""
    settings = intake_settings(app)
    now = app.clock.now()
    queued = []
    with app.db.session() as s, s.begin():
        for request in s.scalars(
            select(IntakeRequest).where(IntakeRequest.state == store.APPROVED)
        ):
            underlying = s.get(ErasureRequest, request.request_id) if request.request_id else None
            if underlying is None or underlying.state != RequestState.COMPLETED:
                continue
            if letters.exists(s, request.id, letters.COMPLETION):
                continue
            letters.intend(s, request, letters.COMPLETION, now)
            if request.kind == ACCESS and settings.access_delivery == "operator":
                record_access_delivery(s, request, now)
            queued.append(request.id)
    return queued


def close_answered(app: Context) -> list[str]:
    """Requests answered (completion or refusal letter sent, nothing left unsent): closed, and
    their address purged."""
    now = app.clock.now()
    closed = []
    with app.db.session() as s, s.begin():
        for request in s.scalars(
            select(IntakeRequest).where(IntakeRequest.state.in_(store.OPEN_STATES))
        ):
            final = s.scalar(
                select(IntakeLetter).where(
                    IntakeLetter.intake_id == request.id,
                    IntakeLetter.kind.in_([letters.COMPLETION, letters.REFUSAL]),
                )
            )
            if final is None or final.state != letters.SENT or letters.unsent(s, request.id):
                continue
            outcome = "completed" if final.kind == letters.COMPLETION else "rejected"
            store.close(s, request, outcome, now)
            closed.append(request.id)
    return closed


def record_access_delivery(s: Session, request: IntakeRequest, now: datetime) -> None:
    """`access_delivery = "operator"`: the document is the operator's to deliver (evidence)."""
    audit.append(
        s,
        "intake.access_left_for_operator",
        at=now,
        subject=request.pseudonym,
        request_id=request.id,
    )
