"""The database schema (SQLAlchemy 2 typed ORM). Migrations in `migrations/` follow it exactly.

Plaintext personal data lives in exactly three columns: `subjects.email`, `subjects.display_name`
and `records.name` (+ `erasure_requests.email`/`.names`/`.changes` while a request is open).
Erasure purges them; a completed rectification leaves only the keyed hash of the old address.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Subject(Base):
    """A person, keyed by the pseudonym of their normalised email address."""

    __tablename__ = "subjects"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))  # purged on erasure
    display_name: Mapped[str | None] = mapped_column(String(200))  # purged on erasure
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    last_activity: Mapped[datetime | None]  # newest record date: drives the retention review


class Record(Base):
    """One person in one item of one system: where the data is, not the data."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("system", "stream", "external_id", "kind", "subject_id", name="uq_record"),
        Index("ix_records_subject", "subject_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(512))
    external_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))  # purged on erasure
    role: Mapped[str | None] = mapped_column(String(64))
    record_date: Mapped[datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locator: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    seen_round: Mapped[int] = mapped_column(Integer, default=0)
    removed_at: Mapped[datetime | None]
    legal_hold_until: Mapped[date | None] = mapped_column(Date)
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    restricted_at: Mapped[datetime | None]  # erasure answered "retained": processing restricted


class SyncState(Base):
    """Per system and stream: the cursor, committed with the page it follows."""

    __tablename__ = "sync_state"
    system: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(512), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    round_id: Mapped[int] = mapped_column(Integer, default=0)
    round_open: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_system", "system", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    system: Mapped[str] = mapped_column(String(64))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | ok | partial | failed
    upserts: Mapped[int] = mapped_column(Integer, default=0)
    removals: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # never personal data


class ErasureRequest(Base):
    """A data-subject request (erasure; access and objection share the table and the clock)."""

    __tablename__ = "erasure_requests"
    __table_args__ = (Index("ix_requests_state", "state", "deadline"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="erasure")  # erasure | access | objection
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(254))  # only while open; purged after
    names: Mapped[list[str] | None] = mapped_column(JSON)  # only while open; for redaction
    reason: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="operator")  # or resurrection, review
    received_at: Mapped[datetime]
    deadline: Mapped[datetime]
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))  # see erasure.states.RequestState
    completed_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    warned_half_at: Mapped[datetime | None]
    warned_three_quarters_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    # rectification: {"name": ..., "email": ...} while open; after, which fields changed only
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ErasureTask(Base):
    """One system's part of a request; the queue is this table (claimed with leases)."""

    __tablename__ = "erasure_tasks"
    __table_args__ = (
        UniqueConstraint("request_id", "system", name="uq_task_system"),
        Index("ix_tasks_claim", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("erasure_requests.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # see erasure.states.TaskState
    refs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # None: not planned yet
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # never personal data
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    instructions: Mapped[str | None] = mapped_column(Text)
    confirmed_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Tombstone(Base):
    """The keyed hash of an erased address: all that remains, so the person stays forgotten."""

    __tablename__ = "tombstones"
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class RectifiedAddress(Base):
    """The keyed hash of an address a rectification replaced: no plaintext, so a sync that
    meets the old address again (a re-import of stale data) is noticed."""

    __tablename__ = "rectified_addresses"
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    noticed_at: Mapped[datetime | None]  # when a sync first met the old address again


class Resurrection(Base):
    """A sync met a tombstoned address again (e.g. a sign-up form re-subscribed the person)."""

    __tablename__ = "resurrections"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    system: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(512))
    external_id: Mapped[str] = mapped_column(String(512))
    seen_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))  # erase | alert
    request_id: Mapped[str | None] = mapped_column(String(40))


class AuditEntry(Base):
    """Append-only evidence; each entry's hash covers the previous entry's hash."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64), index=True)  # pseudonym only
    request_id: Mapped[str | None] = mapped_column(String(40), index=True)
    system: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the chain's head. Locked while appending so concurrent writers serialise."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class PeriodicRun(Base):
    """A periodic job keyed by its scheduled time, so a restart neither skips nor repeats it."""

    __tablename__ = "periodic_runs"
    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    scheduled_for: Mapped[datetime] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    detail: Mapped[str | None] = mapped_column(Text)


class CoachingSummary(Base):
    """A coaching summary in an Outlook mail folder: ids, dates and the client's pseudonym only.

    Kept so the retention rule (2 years after the client's last activity) can be listed without
    the network, dry-run before it deletes (`listed_at`), and prove what it deleted."""

    __tablename__ = "coaching_summaries"
    __table_args__ = (
        UniqueConstraint("system", "mailbox", "message_id", name="uq_summary_message"),
        Index("ix_summaries_counterpart", "counterpart"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    system: Mapped[str] = mapped_column(String(64))
    mailbox: Mapped[str] = mapped_column(String(254))  # the coach's own (configured) mailbox
    folder: Mapped[str] = mapped_column(String(200))  # as configured, e.g. "sentitems"
    message_id: Mapped[str] = mapped_column(String(512))
    sent_at: Mapped[datetime | None]
    counterpart: Mapped[str | None] = mapped_column(String(64))  # the client's pseudonym
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    listed_at: Mapped[datetime | None]  # first found past its limit (the dry run)
    deleted_at: Mapped[datetime | None]  # permanently deleted by syncaudit
    gone_at: Mapped[datetime | None]  # no longer in the folder (moved or deleted by hand)


class WebUser(Base):
    """An operator account of the web console. Operators are not data subjects: the name is
    shown in the audit log as it is (it may not contain '@', so it cannot be an address)."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, with its parameters
    language: Mapped[str | None] = mapped_column(String(8))  # the console language chosen
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser. Only the token's SHA-256 is stored: a copy of the database does
    not sign anyone in."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the form token of this session
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class WebThrottle(Base):
    """Failed sign-ins per account name (known or not), so guessing is slowed down."""

    __tablename__ = "web_signin_throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the folded name
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class IntakeRequest(Base):
    """A request taken from the intake mailbox (syncaudit.requester), pending until the
    operator approves or rejects it. Nothing of the message is kept but its id, received time
    and sender: the address (`email`) only while the request is open, as for erasures."""

    __tablename__ = "intake_requests"
    __table_args__ = (
        UniqueConstraint("system", "message_id", name="uq_intake_message"),
        Index("ix_intake_open", "state", "pseudonym", "kind"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    system: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(512))  # the first message
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # every message joined
    messages: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime]  # the first message's receivedDateTime: both clocks run from it
    pseudonym: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))  # only while open; purged after
    kind: Mapped[str] = mapped_column(String(16))  # erasure | access | objection | rectification
    language: Mapped[str] = mapped_column(String(2))
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)  # the keywords, not the text
    state: Mapped[str] = mapped_column(String(16))  # pending | approved | closed
    outcome: Mapped[str | None] = mapped_column(String(16))  # completed | rejected
    verification: Mapped[str] = mapped_column(String(16))  # unverified | verified | not_required
    verify_token: Mapped[str | None] = mapped_column(String(16), unique=True)
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(String(16))  # reply | operator
    request_id: Mapped[str | None] = mapped_column(String(40))  # the erasure/access/objection
    extended_at: Mapped[datetime | None]
    statutory_deadline: Mapped[datetime]  # Art. 12(3), moved once by an extension
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class IntakeLetter(Base):
    """A letter to a requester: intended, being sent, sent. Only the SHA-256 of what was sent is
    kept; `marker` (in the subject) finds it in Sent Items after a crash mid-send."""

    __tablename__ = "intake_letters"
    __table_args__ = (UniqueConstraint("intake_id", "kind", name="uq_intake_letter"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    intake_id: Mapped[str] = mapped_column(
        ForeignKey("intake_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # receipt verification completion refusal ...
    marker: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # intended | sending | sent
    reason: Mapped[str | None] = mapped_column(Text)  # refusal / extension: the operator's words
    created_at: Mapped[datetime]
    attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
