"""Rectification (Art. 16, told to recipients under Art. 19): correct a person's name or address.

The same fan-out as erasure, with another operation: a row of `erasure_requests` with kind
`rectification`, one pending task per system on the same queue, claimed with leases by the same
worker (`rectify_step` does a task's work), verified by re-reading each record, completed
through `lifecycle` (`rectified.complete`: the index follows). Per system:

- a connector with capability RECTIFY corrects its records (Outlook contacts, Mailchimp members);
- an accounting system (LEGAL_HOLD) rewrites nothing: invoices are vouchers. Its task waits for
  the operator with the Art. 19 notice to the accounting firm (fi/en) to send;
- any other system (manual, or a connector without the capability) gets a manual task.

The old address is held only while the request is open (`email`, like an erasure), the
corrections in `changes`; the completed request keeps which fields changed, and the old
address survives only as a keyed hash (`rectified_addresses`).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit.bookkeeping_notice import rectification_notice
from syncaudit.context import Context
from syncaudit.contract import (
    Action,
    Capability,
    Connector,
    Correction,
    ErasureTarget,
    PlannedAction,
    RecordKind,
    RecordRef,
    SupportsRectification,
)
from syncaudit.erasure.refs import merge
from syncaudit.erasure.requests import (
    NewRequest,
    SystemPlan,
    received_time,
    target_for,
    write_request,
)
from syncaudit.erasure.states import OPEN_REQUEST_STATES, Origin
from syncaudit.errors import ConnectorError, InvalidEmail, UsageError
from syncaudit.identity import normalize_email
from syncaudit.index import index_refs
from syncaudit.models import ErasureRequest

KIND = "rectification"
INVOICE_KINDS = frozenset(
    {RecordKind.INVOICE_BUYER, RecordKind.INVOICE_RECIPIENT, RecordKind.BUSINESS_PARTNER}
)


class Mode(enum.StrEnum):
    """How a system takes part in a rectification."""

    RECTIFY = "rectify"  # the connector corrects its records
    NOTICE = "notice"  # accounting: nothing rewritten; the firm is told (Art. 19)
    MANUAL = "manual"  # the operator corrects it by hand and confirms


def mode_of(connector: Connector) -> Mode:
    if Capability.RECTIFY in connector.capabilities and isinstance(
        connector, SupportsRectification
    ):
        return Mode.RECTIFY
    if Capability.LEGAL_HOLD in connector.capabilities:
        return Mode.NOTICE
    return Mode.MANUAL


def correction_of(app: Context, name: str | None, new_email: str | None) -> Correction:
    """The validated correction; a UsageError when it changes nothing or the address is bad."""
    name = " ".join((name or "").split()) or None
    email = None
    if new_email:
        try:
            email = normalize_email(new_email)
        except InvalidEmail:
            raise UsageError(
                "--new-email is not a valid address",
                next_step="Give the person's new address, e.g. anna.virtanen@example.fi.",
            ) from None
    if name is None and email is None:
        raise UsageError(
            "nothing to correct", next_step='Give --name "New Name" and/or --new-email ADDRESS.'
        )
    if name is not None and ("@" in name or len(name) > 200):
        raise UsageError(
            "--name must be a person's name (no address, at most 200 characters)",
            next_step='Give the full name, e.g. --name "Anna Virtanen".',
        )
    return Correction(name=name, email=email)


def new_request_id(now: datetime) -> str:
    return f"R-{now:%Y%m%d}-{secrets.token_hex(3)}"


def correction_from(request: ErasureRequest) -> Correction:
    changes = request.changes or {}
    return Correction(name=changes.get("name"), email=changes.get("email"))


# -- the dry run ------------------------------------------------------------------------------


def plan(app: Context, email: str, correction: Correction) -> list[SystemPlan]:
    """What a rectification would do in every system, from a live look-up plus the index."""
    target = target_for(app, email)
    _check_new_address(app, target, correction)
    plans = []
    for system in app.systems():
        entry = SystemPlan(system=system.name)
        try:
            connector = app.connector(system.name)
            refs = _refs(app, connector, target)
            mode = mode_of(connector)
            entry.manual = mode is not Mode.RECTIFY
            if isinstance(connector, SupportsRectification) and mode is Mode.RECTIFY:
                entry.actions = [
                    connector.preview_rectification(ref, target, correction) for ref in refs
                ]
            else:
                entry.actions = [
                    PlannedAction(ref=ref, action=Action.MANUAL, explanation=why)
                    for ref, why in _manual_plan(system.name, mode, refs)
                ]
        except ConnectorError as exc:
            entry.error = f"{exc} — {exc.next_step}"
        plans.append(entry)
    return plans


def _manual_plan(system: str, mode: Mode, refs: list[RecordRef]) -> list[tuple[RecordRef, str]]:
    if mode is Mode.NOTICE:
        why = (
            "invoices are accounting vouchers and are not rewritten; a task for the accounting "
            "firm with the Art. 19 notice (fi/en) to use the corrected data on future invoices"
        )
    else:
        why = f"correct it by hand in {system}, then confirm"
    shown = refs or [RecordRef(system=system, kind=RecordKind.MANUAL, external_id="", label=system)]
    return [(ref, why) for ref in shown]


def _refs(app: Context, connector: Connector, target: ErasureTarget) -> list[RecordRef]:
    with app.db.session() as s:
        known = index_refs(s, target.pseudonym, connector.name)
    return merge(connector.locate(target), known)


def _check_new_address(app: Context, target: ErasureTarget, correction: Correction) -> None:
    if correction.email is not None and correction.email == target.email:
        raise UsageError(
            "--new-email is the address the person has already",
            next_step="Give the new address, or only --name.",
        )


# -- submitting -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Submitted:
    request_id: str
    resumed: bool  # an open rectification of the person with the same corrections


def submit(
    app: Context,
    email: str,
    correction: Correction,
    *,
    reason: str | None = None,
    received_at: datetime | None = None,
) -> Submitted:
    """Store the request and one pending task per system (the worker acts); running it again
    while the request is open resumes it."""
    target = target_for(app, email)
    _check_new_address(app, target, correction)
    received = received_time(app, received_at)
    with app.db.session() as s, s.begin():
        existing = open_request_for(s, target.pseudonym)
        if existing is not None:
            if correction_from(existing) != correction:
                raise UsageError(
                    f"{existing.id} is an open rectification of this person with other corrections",
                    next_step=f"Let it finish (`syncaudit erasure show {existing.id}`), then "
                    "rectify again.",
                )
            return Submitted(request_id=existing.id, resumed=True)
        systems = [system.name for system in app.systems()]
        request_id = write_request(
            app,
            s,
            NewRequest(
                pseudonym=target.pseudonym,
                email=target.email,
                names=target.names,
                reason=reason,
                origin=str(Origin.OPERATOR),
                received=received,
                tasks=dict.fromkeys(systems),
                kind=KIND,
                new_id=new_request_id,
                changes={"name": correction.name, "email": correction.email},
                evidence={
                    "kind": KIND,
                    "fields": changed_fields(correction),
                    "new_subject": _new_pseudonym(app, correction),
                },
            ),
        )
    return Submitted(request_id=request_id, resumed=False)


def changed_fields(correction: Correction) -> list[str]:
    return [f for f, v in (("name", correction.name), ("email", correction.email)) if v]


def _new_pseudonym(app: Context, correction: Correction) -> str | None:
    return app.pseudo.of_normalized(correction.email) if correction.email else None


def open_request_for(session: Session, pseudonym: str) -> ErasureRequest | None:
    return session.scalar(
        select(ErasureRequest)
        .where(
            ErasureRequest.pseudonym == pseudonym,
            ErasureRequest.kind == KIND,
            ErasureRequest.state.in_([str(s) for s in OPEN_REQUEST_STATES]),
        )
        .order_by(ErasureRequest.created_at)
        .limit(1)
    )


# -- manual instructions --------------------------------------------------------------------


def instructions(
    system: str, mode: Mode, request_id: str, correction: Correction, refs: list[RecordRef]
) -> str:
    """What the operator does for a system the worker cannot correct itself."""
    confirm = f"then confirm: `syncaudit erasure confirm {request_id} {system}`."
    if mode is Mode.NOTICE:
        invoices = [r for r in refs if r.kind in INVOICE_KINDS]
        notices = [
            rectification_notice(invoices, lang, name=correction.name, email=correction.email)
            for lang in ("fi", "en")
        ]
        return (
            f"{system}: invoices are not rewritten (accounting vouchers). Send the accounting "
            f"firm the notice below (Finnish, English follows), {confirm}\n\n"
            + "\n---\n\n".join(notices)
        )
    what = " and ".join(
        part
        for part in (
            f"the name to {correction.name!r}" if correction.name else "",
            "the address to the new one given with `syncaudit rectify`" if correction.email else "",
        )
        if part
    )
    return f"In {system}, correct {what} wherever the person appears, {confirm}"


def summary_fields(request: ErasureRequest) -> dict[str, Any]:
    """For listings: which fields the request changes (never their values)."""
    changes = request.changes or {}
    return {"fields": [f for f in ("name", "email") if changes.get(f)]}
