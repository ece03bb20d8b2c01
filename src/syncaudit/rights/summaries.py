"""Coaching summaries: kept 2 years after the client's last activity, then destroyed.

The summaries live in Outlook: a configured mail folder, and optionally messages the coach sent
from Sent Items whose subject starts with a configured prefix. They are read through the msgraph
connector's capability MAIL (`Mail.ReadWrite`, the same credentials). Only the message id, its
date and the counterpart's keyed pseudonym are kept (table `coaching_summaries`).

The limit of a summary: (its date, or the client's last activity if later) + keep_years. A
summary whose client was erased is past its limit at once; one whose counterpart the index does
not know counts from its own date.

Deletion is permanent (`permanentDelete`) and always follows a dry run: the daemon
(`evaluate_summaries`) first only lists (records `listed_at`), and when [retention.summaries]
delete = true deletes on a later run what an earlier one listed; the CLI shows the list and asks.
Each deletion re-checks the limit at that moment and is recorded as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import Capability, MailMessage, SupportsMail
from syncaudit.errors import ConnectorError, UsageError
from syncaudit.identity import try_normalize_email
from syncaudit.models import CoachingSummary, Tombstone
from syncaudit.rights.activity import activities, add_years
from syncaudit.rights.settings import SummarySettings

log = structlog.get_logger("syncaudit.rights")


@dataclass(frozen=True, kw_only=True)
class ExpiredSummary:
    id: int  # row in coaching_summaries
    system: str
    mailbox: str
    folder: str
    message_id: str
    sent_at: datetime | None
    counterpart: str | None  # the client's pseudonym
    short: str | None
    client_last_activity: datetime | None
    limit: datetime  # from this moment it may be destroyed
    reason: str  # client_inactive | client_erased | client_unknown
    listed_at: datetime | None  # when a dry run first listed it


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    messages: int
    new: int
    gone: int


@dataclass(frozen=True, kw_only=True)
class DeletionResult:
    deleted: list[int] = field(default_factory=list)
    already_gone: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # no longer past the limit, or unknown
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class SummaryRun:
    scan: ScanResult | None
    expired: int
    newly_listed: int
    deletion: DeletionResult | None = None
    error: str | None = None


def summary_settings(app: Context) -> SummarySettings:
    settings = app.settings.retention.summaries
    if settings is None:
        raise UsageError(
            "coaching summaries are not configured",
            next_step="Add [retention.summaries] (system, folders) to the configuration.",
        )
    return settings


def _mail(app: Context, settings: SummarySettings) -> SupportsMail:
    connector = app.connector(settings.system)
    if Capability.MAIL not in connector.capabilities or not isinstance(connector, SupportsMail):
        raise UsageError(
            f"system {settings.system} cannot read mail folders",
            next_step="Point [retention.summaries].system at a msgraph system.",
        )
    return connector


# -- scanning ------------------------------------------------------------------------------------


def scan_summaries(app: Context) -> ScanResult:
    """Read the configured folders and store ids, dates and counterpart pseudonyms."""
    settings = summary_settings(app)
    connector = _mail(app, settings)
    messages: dict[str, tuple[str, MailMessage]] = {}
    for folder, prefixes in settings.sources():
        for message in connector.messages(settings.mailbox, folder, subject_prefixes=prefixes):
            messages.setdefault(message.id, (folder, message))
    own = _own_addresses(app)
    now = app.clock.now()
    new = gone = 0
    with app.db.session() as s, s.begin():
        rows = {
            r.message_id: r
            for r in s.scalars(
                select(CoachingSummary).where(
                    CoachingSummary.system == settings.system,
                    CoachingSummary.mailbox == settings.mailbox,
                )
            )
        }
        for message_id, (folder, message) in messages.items():
            other = counterpart(message, own)
            pseudonym = app.pseudo.of_normalized(other) if other else None
            row = rows.get(message_id)
            if row is None:
                new += 1
                row = CoachingSummary(
                    system=settings.system,
                    mailbox=settings.mailbox,
                    message_id=message_id,
                    first_seen=now,
                )
                s.add(row)
            row.folder, row.sent_at, row.counterpart = folder, message.when, pseudonym
            row.last_seen, row.gone_at, row.deleted_at = now, None, None
        for message_id, row in rows.items():
            if message_id not in messages and row.gone_at is None and row.deleted_at is None:
                row.gone_at = now
                gone += 1
    log.info("rights.summaries_scanned", messages=len(messages), new=new, gone=gone)
    return ScanResult(messages=len(messages), new=new, gone=gone)


def counterpart(message: MailMessage, own: set[str]) -> str | None:
    """The client: the sender when someone else sent it, else the first other recipient."""
    for raw in (message.sender, *message.recipients):
        normalized = try_normalize_email(raw)
        if normalized and normalized not in own:
            return normalized
    return None


def _own_addresses(app: Context) -> set[str]:
    addresses = [app.settings.controller.email]
    for system in app.settings.systems:
        addresses += list(getattr(system.settings, "mailboxes", ()) or ())
    return {n for a in addresses if a and (n := try_normalize_email(a))}


# -- the rule ------------------------------------------------------------------------------------


def expired_summaries(
    app: Context, *, as_of: datetime | None = None, session: Session | None = None
) -> list[ExpiredSummary]:
    """Summaries past their limit at `as_of` (default: now) and still in Outlook as of the last
    scan, oldest limit first. Pseudonymous; no network. Empty when not configured.

    `session`: read inside the caller's transaction (on SQLite a second one would wait for it)."""
    settings = app.settings.retention.summaries
    if settings is None:
        return []
    now = as_of or app.clock.now()
    with _reading(app, session) as s:
        rows = list(
            s.scalars(
                select(CoachingSummary)
                .where(
                    CoachingSummary.system == settings.system,
                    CoachingSummary.deleted_at.is_(None),
                    CoachingSummary.gone_at.is_(None),
                )
                .order_by(CoachingSummary.id)
            )
        )
        found = [e for e in _limits(app, s, rows, settings.keep_years) if e.limit <= now]
    return sorted(found, key=lambda e: (e.limit, e.id))


def _limits(
    app: Context, s: Session, rows: Sequence[CoachingSummary], keep_years: int
) -> list[ExpiredSummary]:
    pseudonyms = sorted({r.counterpart for r in rows if r.counterpart})
    acts = activities(s, pseudonyms)
    erased: set[str] = set()
    for start in range(0, len(pseudonyms), 500):
        erased.update(
            s.scalars(
                select(Tombstone.pseudonym).where(
                    Tombstone.pseudonym.in_(pseudonyms[start : start + 500])
                )
            )
        )
    out = []
    for row in rows:
        base = utc(row.sent_at or row.first_seen)
        last = acts[row.counterpart].last_activity if row.counterpart in acts else None
        if row.counterpart in erased:
            reason, limit = "client_erased", base
        elif row.counterpart in acts:
            reason, limit = "client_inactive", add_years(max(base, last or base), keep_years)
        else:
            reason, limit = "client_unknown", add_years(base, keep_years)
        out.append(
            ExpiredSummary(
                id=row.id,
                system=row.system,
                mailbox=row.mailbox,
                folder=row.folder,
                message_id=row.message_id,
                sent_at=utc(row.sent_at) if row.sent_at else None,
                counterpart=row.counterpart,
                short=app.pseudo.short(row.counterpart) if row.counterpart else None,
                client_last_activity=last,
                limit=limit,
                reason=reason,
                listed_at=utc(row.listed_at) if row.listed_at else None,
            )
        )
    return out


# -- the dry run and the deletion ----------------------------------------------------------------


def mark_listed(app: Context, summaries: Sequence[ExpiredSummary]) -> int:
    """Record that these were shown (the dry run); returns how many were listed for the first
    time."""
    now = app.clock.now()
    fresh = [e.id for e in summaries if e.listed_at is None]
    if not fresh:
        return 0
    with app.db.session() as s, s.begin():
        for row in s.scalars(select(CoachingSummary).where(CoachingSummary.id.in_(fresh))):
            row.listed_at = now
        audit.append(s, "summaries.listed", at=now, summaries=fresh, count=len(fresh))
    log.info("rights.summaries_listed", count=len(fresh))
    return len(fresh)


def delete_summaries(app: Context, ids: Sequence[int]) -> DeletionResult:
    """Permanently delete these summaries, each only if it is past its limit right now."""
    settings = summary_settings(app)
    connector = _mail(app, settings)
    expired = {e.id: e for e in expired_summaries(app)}
    result = DeletionResult()
    for summary_id in sorted(set(ids)):
        entry = expired.get(summary_id)
        if entry is None:
            result.skipped.append(summary_id)
            continue
        try:
            deleted = connector.delete_message(entry.mailbox, entry.message_id)
        except ConnectorError as exc:
            log.warning("rights.summary_delete_failed", summary=summary_id, error=str(exc))
            return DeletionResult(
                deleted=result.deleted,
                already_gone=result.already_gone,
                skipped=result.skipped,
                error=f"{exc} — {exc.next_step}",
            )
        _record_deletion(app, entry, deleted)
        (result.deleted if deleted else result.already_gone).append(summary_id)
    log.info("rights.summaries_deleted", deleted=len(result.deleted), gone=len(result.already_gone))
    return result


def _record_deletion(app: Context, entry: ExpiredSummary, deleted: bool) -> None:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        row = s.get(CoachingSummary, entry.id)
        assert row is not None
        if deleted:
            row.deleted_at = now
        else:
            row.gone_at = now
        audit.append(
            s,
            "summary.deleted" if deleted else "summary.already_gone",
            at=now,
            subject=entry.counterpart,
            system=entry.system,
            summary=entry.id,
            sent_at=entry.sent_at.isoformat() if entry.sent_at else None,
            limit=entry.limit.isoformat(),
            reason=entry.reason,
        )


def evaluate_summaries(app: Context) -> SummaryRun | None:
    """The daemon's step: scan, list what is past its limit (dry run), and with delete = true
    delete what an earlier run listed. None when summaries are not configured."""
    settings = app.settings.retention.summaries
    if settings is None:
        return None
    try:
        scan = scan_summaries(app)
    except ConnectorError as exc:
        log.warning("rights.summaries_scan_failed", error=str(exc), next_step=exc.next_step)
        return SummaryRun(scan=None, expired=0, newly_listed=0, error=f"{exc} — {exc.next_step}")
    expired = expired_summaries(app)
    listed_before = [e.id for e in expired if e.listed_at is not None]
    newly = mark_listed(app, expired)
    deletion = delete_summaries(app, listed_before) if settings.delete and listed_before else None
    return SummaryRun(scan=scan, expired=len(expired), newly_listed=newly, deletion=deletion)


def last_scan(app: Context, session: Session | None = None) -> datetime | None:
    """When the configured folders were last read (None: never)."""
    from sqlalchemy import func

    settings = app.settings.retention.summaries
    if settings is None:
        return None
    with _reading(app, session) as s:
        at = s.scalar(
            select(func.max(CoachingSummary.last_seen)).where(
                CoachingSummary.system == settings.system
            )
        )
    return utc(at) if at else None


@contextmanager
def _reading(app: Context, session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
        return
    with app.db.session() as s:
        yield s
