"""The operator's side of requests from the mailbox: list, approve, reject, extend, verify.

Approving starts the existing machinery with the message's received time, so both clocks run
from when the person asked: erasure (`erasure.requests.submit`), access
(`rights.access.access_export`, written to [intake].access_dir) or objection
(`rights.objection.object_to_marketing`). An access request is released only once verified
(Art. 15 data goes out); with `verify = "reply"` an erasure or objection for the sender's own
address may be approved before the reply.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure import rectification
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.deadlines import statutory_deadline
from syncaudit.errors import UsageError
from syncaudit.identity import normalize_email
from syncaudit.models import IntakeRequest
from syncaudit.requester import intake, letters, store, verify
from syncaudit.requester.classify import ACCESS, ERASURE, KINDS, OBJECTION, RECTIFICATION
from syncaudit.rights.access import access_export
from syncaudit.rights.objection import object_to_marketing


def pending(app: Context, *, include_approved: bool = False) -> list[dict[str, Any]]:
    """Open requests from the mailbox with both clocks: the owner's promise and Art. 12(3)."""
    now = app.clock.now()
    states = list(store.OPEN_STATES) if include_approved else [store.PENDING]
    hours = app.settings.erasure.deadline_hours
    with app.db.session() as s:
        rows = s.scalars(
            select(IntakeRequest)
            .where(IntakeRequest.state.in_(states))
            .order_by(IntakeRequest.received_at)
        )
        return [_view(r, now, hours, app.pseudo.short(r.pseudonym)) for r in rows]


def _view(r: IntakeRequest, now: datetime, hours: int, short: str) -> dict[str, Any]:
    promise = store.promise_deadline(r, hours)
    statutory = utc(r.statutory_deadline)
    return {
        "id": r.id,
        "kind": r.kind,
        "language": r.language,
        "received_at": utc(r.received_at).isoformat(),
        "state": r.state,
        "verification": r.verification,
        "messages": r.messages,
        "matched": list(r.matched or []),
        "subject": short,
        "request_id": r.request_id,
        "promise_deadline": promise.isoformat(),
        "promise_hours_left": round((promise - now).total_seconds() / 3600, 1),
        "statutory_deadline": statutory.isoformat(),
        "statutory_days_left": round((statutory - now).total_seconds() / 86400, 1),
        "extended": r.extended_at is not None,
    }


def approve(
    app: Context,
    intake_id: str,
    *,
    kind: str | None = None,
    email: str | None = None,
    name: str | None = None,
    new_email: str | None = None,
) -> dict[str, Any]:
    """Start the request; a rectification needs the corrected name and/or address the person
    asked for (`name`, `new_email`), which the operator reads from the message."""
    settings = intake.intake_settings(app)
    with app.db.session() as s:
        request = store.get(s, intake_id)
        if request.state != store.PENDING:
            raise UsageError(
                f"request {intake_id} is {request.state}, not pending",
                next_step="See `syncaudit requests --pending`.",
            )
        chosen = kind or request.kind
        if chosen not in KINDS:
            raise UsageError(
                f"request {intake_id} asks for more than one thing ({request.kind})",
                next_step="Read the message and give --kind erasure|access|objection.",
            )
        sender, verified = request.email, request.verification != store.UNVERIFIED
        received = utc(request.received_at)
        language = request.language
    address = normalize_email(email) if email else sender
    if address is None:
        raise UsageError(f"request {intake_id} holds no address", next_step="Give --email.")
    if chosen == ACCESS and not verified:
        raise UsageError(
            "an access request is released only once the person is verified",
            next_step=f"Wait for the reply to the verification mail, or run `syncaudit request "
            f"verify {intake_id} --note ...` if you confirmed it another way.",
        )
    if address != sender and not verified:
        raise UsageError(
            "the address differs from the sender's, and the sender is not verified",
            next_step="Wait for the reply to the verification mail, or verify with a note.",
        )
    if chosen == ERASURE:
        request_id = erasure.submit(
            app, address, reason=f"requested by mail ({intake_id})", received_at=received
        )
    elif chosen == ACCESS:
        lang = "fi" if language == "fi" else "en"
        request_id = access_export(
            app, address, settings.access_dir, lang=lang, received_at=received
        ).request_id
    elif chosen == OBJECTION:
        request_id = object_to_marketing(app, address, received_at=received).request_id
    else:
        assert chosen == RECTIFICATION
        if not (name or new_email):
            raise UsageError(
                "a rectification needs what to correct",
                next_step=f"Read the message, then `syncaudit request approve {intake_id} "
                '--name "New Name"` and/or `--new-email ADDRESS`.',
            )
        correction = rectification.correction_of(app, name, new_email)
        request_id = rectification.submit(
            app,
            address,
            correction,
            reason=f"requested by mail ({intake_id})",
            received_at=received,
        ).request_id
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = store.get(s, intake_id)
        request.state, request.kind, request.request_id = store.APPROVED, chosen, request_id
        audit.append(
            s,
            "intake.approved",
            at=now,
            subject=request.pseudonym,
            request_id=request.id,
            kind=chosen,
            started=request_id,
            other_address=address != sender,
        )
    finish(app)
    return {"id": intake_id, "kind": chosen, "request_id": request_id}


def finish(app: Context) -> None:
    """Completion letters for what has completed, every letter due, closing what is answered."""
    intake.queue_completions(app)
    intake.send_letters(app)
    intake.close_answered(app)


def reject(app: Context, intake_id: str, reason: str) -> None:
    if not reason.strip():
        raise UsageError("a refusal needs its reason", next_step='Give --reason "...".')
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = store.get(s, intake_id)
        if request.state != store.PENDING:
            raise UsageError(
                f"request {intake_id} is {request.state}, not pending",
                next_step="Only a pending request can be refused.",
            )
        letters.intend(s, request, letters.REFUSAL, now, reason=reason.strip())
        audit.append(
            s,
            "intake.rejected",
            at=now,
            subject=request.pseudonym,
            request_id=request.id,
            reason_sha256=hashlib.sha256(reason.strip().encode()).hexdigest(),
        )
    finish(app)


def extend(app: Context, intake_id: str, reason: str) -> datetime:
    """The one extension of Art. 12(3): two further months, told within the first month."""
    if not reason.strip():
        raise UsageError("an extension needs its reason", next_step='Give --reason "...".')
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = store.get(s, intake_id)
        if request.state not in store.OPEN_STATES:
            raise UsageError(f"request {intake_id} is closed", next_step="Nothing to extend.")
        if request.extended_at is not None:
            raise UsageError(
                f"request {intake_id} was extended already",
                next_step="Art. 12(3) allows one extension.",
            )
        if now > utc(request.statutory_deadline):
            raise UsageError(
                "the first month has passed: the extension had to be told within it",
                next_step="Answer the request now.",
            )
        request.extended_at = now
        request.statutory_deadline = statutory_deadline(
            utc(request.received_at), app.settings.reports.timezone, extended=True
        )
        new_deadline = utc(request.statutory_deadline)
        letters.intend(s, request, letters.EXTENSION, now, reason=reason.strip())
        audit.append(
            s,
            "intake.extended",
            at=now,
            subject=request.pseudonym,
            request_id=request.id,
            statutory_deadline=new_deadline.isoformat(),
            reason_sha256=hashlib.sha256(reason.strip().encode()).hexdigest(),
        )
    finish(app)
    return new_deadline


def verify_by_operator(app: Context, intake_id: str, note: str) -> None:
    if not note.strip():
        raise UsageError(
            "say how the person was verified", next_step='Give --note "called back ...".'
        )
    with app.db.session() as s, s.begin():
        request = store.get(s, intake_id)
        if request.state not in store.OPEN_STATES:
            raise UsageError(f"request {intake_id} is closed", next_step="Nothing to verify.")
        verify.mark(s, request, app.clock.now(), by="operator", note=note.strip())
