"""Retention rules: inactive customers for review, coaching summaries past their limit.

The register description promises that the register is reviewed at least every 5 years and
inactive customers removed, and that per-client coaching summaries are destroyed 2 years after
the assignment ends. Functions for the daemon and the monthly report:

    inactive_subjects(app, years=None) -> list[InactiveSubject]    pseudonymous, no network
    expired_summaries(app) -> list[ExpiredSummary]                 from the last scan, no network
    evaluate(app) -> RetentionRun                                  the daemon's periodic step
    last_review(app) -> datetime | None                            the latest `retention review`

`syncaudit retention review` lists inactive subjects to the operator and queues erasures
(origin "review") for the ones picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.erasure.states import OPEN_REQUEST_STATES
from syncaudit.identity import try_normalize_email
from syncaudit.models import AuditEntry, ErasureRequest, Record, Subject
from syncaudit.rights.activity import activities, add_years
from syncaudit.rights.summaries import (
    ExpiredSummary,
    SummaryRun,
    evaluate_summaries,
    expired_summaries,
)

__all__ = [
    "ExpiredSummary",
    "InactiveSubject",
    "RetentionRun",
    "evaluate",
    "expired_summaries",
    "inactive_subjects",
    "last_review",
    "queue_erasures",
]

log = structlog.get_logger("syncaudit.rights")
REVIEWED_EVENT = "retention.reviewed"


@dataclass(frozen=True, kw_only=True)
class InactiveSubject:
    """A person with no activity for the configured years. Pseudonymous: reports print `short`;
    only `syncaudit retention review` shows the operator the address (`contact_details`)."""

    pseudonym: str
    short: str
    since: datetime  # newest activity, or when first seen (see `basis`)
    basis: str  # "last_activity" | "first_seen" (no dated record anywhere)
    systems: tuple[str, ...]  # where records are still present
    records: int  # records still present


@dataclass(frozen=True, kw_only=True)
class RetentionRun:
    inactive: int
    summaries: SummaryRun | None


def inactive_subjects(app: Context, years: int | None = None) -> list[InactiveSubject]:
    """Subjects with no calendar entry, invoice or audience sign-up in any system for `years`
    (default [retention].inactive_years); oldest first. Not listed: erased people, people with
    an open erasure request, and the controller's own addresses (its mailboxes, its email)."""
    span = years if years is not None else app.settings.retention.inactive_years
    cutoff = add_years(app.clock.now(), -span)
    with app.db.session() as s:
        excluded = not_for_review(app, s)
        found = [
            a for a in activities(s).values() if a.since <= cutoff and a.pseudonym not in excluded
        ]
        present = _present(s, [a.subject_id for a in found])
    found.sort(key=lambda a: (a.since, a.pseudonym))
    return [
        InactiveSubject(
            pseudonym=a.pseudonym,
            short=app.pseudo.short(a.pseudonym),
            since=a.since,
            basis=a.basis,
            systems=tuple(sorted(present.get(a.subject_id, {}))),
            records=sum(present.get(a.subject_id, {}).values()),
        )
        for a in found
    ]


def not_for_review(app: Context, s: Session) -> set[str]:
    """Never retention-review candidates: the controller's own addresses, people being erased.
    The one rule for this listing and the monthly report's count."""
    pending = set(
        s.scalars(
            select(ErasureRequest.pseudonym).where(
                ErasureRequest.kind == "erasure",
                ErasureRequest.state.in_([str(x) for x in OPEN_REQUEST_STATES]),
            )
        )
    )
    return _own_pseudonyms(app) | pending


def _own_pseudonyms(app: Context) -> set[str]:
    """The controller's addresses: its email and the mailboxes syncaudit reads."""
    addresses = [app.settings.controller.email]
    for system in app.settings.systems:
        addresses += list(getattr(system.settings, "mailboxes", ()) or ())
    return {app.pseudo.of_normalized(n) for a in addresses if a and (n := try_normalize_email(a))}


def _present(s: Session, subject_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for start in range(0, len(subject_ids), 500):
        for sid, system, count in s.execute(
            select(Record.subject_id, Record.system, func.count())
            .where(
                Record.subject_id.in_(subject_ids[start : start + 500]),
                Record.removed_at.is_(None),
            )
            .group_by(Record.subject_id, Record.system)
        ):
            out.setdefault(sid, {})[system] = int(count)
    return out


def contact_details(app: Context, pseudonyms: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """Pseudonym -> (address, display name), for the operator's review screen only."""
    out: dict[str, tuple[str, str | None]] = {}
    with app.db.session() as s:
        for start in range(0, len(pseudonyms), 500):
            for pseudonym, email, name in s.execute(
                select(Subject.pseudonym, Subject.email, Subject.display_name).where(
                    Subject.pseudonym.in_(list(pseudonyms[start : start + 500])),
                    Subject.email.is_not(None),
                )
            ):
                if email:
                    out[pseudonym] = (email, name)
    return out


def queue_erasures(
    app: Context, picked: Sequence[InactiveSubject], *, years: int, listed: int
) -> list[str]:
    """Submit an erasure (origin "review") for each picked subject; record the review."""
    from syncaudit.erasure.requests import submit

    details = contact_details(app, [p.pseudonym for p in picked])
    request_ids = [
        submit(
            app,
            details[p.pseudonym][0],
            reason=f"retention review: no activity for {years} years",
            origin="review",
        )
        for p in picked
        if p.pseudonym in details
    ]
    record_review(app, years=years, listed=listed, queued=request_ids)
    return request_ids


def record_review(app: Context, *, years: int, listed: int, queued: Sequence[str]) -> None:
    """Evidence that the register was reviewed (the register promises every 5 years)."""
    with app.db.session() as s, s.begin():
        audit.append(
            s,
            REVIEWED_EVENT,
            at=app.clock.now(),
            years=years,
            listed=listed,
            queued=len(queued),
            requests=list(queued),
        )
    log.info("rights.retention_reviewed", years=years, listed=listed, queued=len(queued))


def last_review(app: Context) -> datetime | None:
    with app.db.session() as s:
        at = s.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.event == REVIEWED_EVENT))
    return utc(at) if at else None


def evaluate(app: Context) -> RetentionRun:
    """The daemon's periodic step: count inactive subjects (logged for the operator); scan the
    coaching summaries, list the expired ones (the dry run) and, when [retention.summaries]
    delete = true, permanently delete those an earlier run listed."""
    inactive = inactive_subjects(app)
    if inactive:
        log.info("rights.inactive_subjects", count=len(inactive))
    return RetentionRun(inactive=len(inactive), summaries=evaluate_summaries(app))
