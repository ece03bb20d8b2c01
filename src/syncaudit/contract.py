"""The connector contract: the only thing the core knows about an external system.

A connector is built from its validated settings, needs no database, and speaks in frozen values:

- `pull(cursors, full=...)` streams `Change`s: item upserts and removals, and `Checkpoint`s that
  carry a stream's new cursor. The sync runner commits everything before a checkpoint *with* that
  cursor, so a crash resumes from the last checkpoint without loss or duplicates. A connector that
  (re)reads a stream from the start says so with `RoundStart`; the checkpoint that ends the round
  has `round_complete=True`, and the runner marks the stream's records not seen in it as removed.
- `locate(target)` finds the person live; `preview` says what erasing a record would do (dry run);
  `erase` does it, idempotently; `verify` re-reads and returns what is still there.
- Optional capabilities are declared (`Capability`) and met by a Protocol: `SupportsExport`,
  `SupportsObjection`, `SupportsMail`, `SupportsRectification` (correct a name or address in
  place: preview, rectify idempotently, verify by re-reading).

Every call may be repeated after a crash. Errors are `TransientError`, `PermanentError`,
`AuthError` from `syncaudit.errors`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from syncaudit.clock import Clock
from syncaudit.identity import try_normalize_email

# The settings helpers live in settings_reader.py; connectors take them from here, one import.
from syncaudit.settings_reader import COMMON_SYSTEM_KEYS as COMMON_SYSTEM_KEYS  # noqa: PLC0414
from syncaudit.settings_reader import Secret as Secret  # noqa: PLC0414
from syncaudit.settings_reader import SettingsReader as SettingsReader  # noqa: PLC0414
from syncaudit.settings_reader import missing_secrets as missing_secrets  # noqa: PLC0414

# ---------------------------------------------------------------------------------------------
# What a system is


class TransferMechanism(enum.StrEnum):
    EEA = "EEA"  # processed inside the EEA: no transfer
    ADEQUACY = "adequacy"  # Art. 45 adequacy decision for the destination country
    DPF = "DPF"  # EU-US Data Privacy Framework certification (Decision 2023/1795)
    SCC = "SCC"  # standard contractual clauses 2021/914
    BCR = "BCR"  # binding corporate rules
    DEROGATION = "art49"  # Art. 49 derogation
    UNKNOWN = "unknown"  # nothing recorded yet: reported as a finding


@dataclass(frozen=True, kw_only=True)
class SystemProfile:
    """Where a system processes data and on what safeguard; feeds the transfer report."""

    vendor: str
    country: str  # ISO 3166-1 alpha-2 of the processing location
    transfer_mechanism: TransferMechanism = TransferMechanism.UNKNOWN
    transfer_reference: str = ""
    transfer_checked: date | None = None
    data_categories: tuple[str, ...] = ()
    sub_processor_countries: tuple[str, ...] = ()
    role: str = "processor"


class Capability(enum.StrEnum):
    PULL = "pull"  # pull() streams the system's records
    ERASE = "erase"  # erase() removes data through an API
    MANUAL = "manual"  # erasure is a manual step the operator confirms
    LEGAL_HOLD = "legal_hold"  # erase() answers retained (the law requires keeping the records)
    OBJECT = "object"  # unsubscribe() stops marketing without deleting
    EXPORT = "export"  # export() returns the live data of a record (right of access)
    MAIL = "mail"  # messages() / delete_message(): mail folders (retention of coaching summaries)
    RECTIFY = "rectify"  # rectify(): correct a person's name or address in place (Art. 16)
    MAILBOX = "mailbox"  # new_messages() / send_letter(): requests by mail (syncaudit.mailbox)


# ---------------------------------------------------------------------------------------------
# What a pull yields


class RecordKind(enum.StrEnum):
    CONTACT = "contact"  # an address-book entry holding the address
    EVENT_ORGANIZER = "event_organizer"  # organiser of a calendar entry
    EVENT_ATTENDEE = "event_attendee"  # invited attendee of a calendar entry
    EVENT_MENTION = "event_mention"  # named in a calendar entry's subject/location, not invited
    AUDIENCE_MEMBER = "audience_member"  # member of a marketing audience (any status)
    INVOICE_BUYER = "invoice_buyer"  # buyer on an invoice (accounting record)
    INVOICE_RECIPIENT = "invoice_recipient"  # invoice recipient / delivery / contact person
    BUSINESS_PARTNER = "business_partner"  # an entry in an accounting system's partner register
    MANUAL = "manual"  # listed by the operator for a manual system


@dataclass(frozen=True, kw_only=True)
class Observation:
    """One person seen in one item. `email` is raw: the core normalises it (one normaliser)."""

    kind: RecordKind
    email: str | None  # None for a mention found by name only
    name: str | None = None
    role: str | None = None  # e.g. "required", "organizer", "subscribed", "buyer"
    when: datetime | None = None  # the record's own date (event start, invoice date, sign-up)
    # Small, non-sensitive facts shown to the operator (mailbox, folder, status, invoice number).
    # Never bodies, notes, phone numbers, addresses or identity codes.
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ItemUpsert:
    """The current set of people in one item; replaces what the index had for it.

    `free_text` (e.g. an event's subject and location) is scanned by the core for the full names
    of known subjects, which become EVENT_MENTION records. It is never stored.

    `covers` says which kinds of record the upsert is complete for. `None` (the default): the
    item is whole, and its observations replace every stored record of it. A set: the item
    carried only some properties (e.g. a Graph delta item holds "at least the properties that
    have been updated"). For a covered kind the observations are still the whole set (stored
    records missing from it are removed), but an observation field left `None` (name, role,
    when) keeps its stored value. Stored records of a kind not covered are kept as they are and
    count as seen; observations of such a kind only add records the index does not hold yet.
    """

    stream: str
    external_id: str
    observations: tuple[Observation, ...]
    free_text: str | None = None
    # Connector-private ids needed to act on the item later (mailbox, folder id, audience id);
    # stored on the index records and handed back as RecordRef.locator. Never personal data.
    locator: Mapping[str, str] = field(default_factory=dict)
    legal_hold_until: date | None = None  # accounting records: the end of the retention period
    legal_basis: str | None = None
    covers: frozenset[RecordKind] | None = None  # None: complete; see the class docstring


@dataclass(frozen=True, kw_only=True)
class ItemRemoved:
    stream: str
    external_id: str


@dataclass(frozen=True, kw_only=True)
class RoundStart:
    """The connector reads `stream` from the start; records not seen before completion are gone."""

    stream: str


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """Commit point: everything yielded so far for `stream` is durable together with `cursor`."""

    stream: str
    cursor: str
    round_complete: bool = False


@dataclass(frozen=True, kw_only=True)
class StreamProblem:
    """A stream (e.g. one file) could not be read; the rest of the pull goes on."""

    stream: str
    message: str


Change = ItemUpsert | ItemRemoved | RoundStart | Checkpoint | StreamProblem


# ---------------------------------------------------------------------------------------------
# Erasure


@dataclass(frozen=True, kw_only=True)
class RecordRef:
    """A record in a system, as the engine stores it in a task. No plaintext beyond `label`."""

    system: str
    kind: RecordKind
    external_id: str
    stream: str = ""
    # Connector-private facts needed to act on the record later (mailbox, audience id, folder).
    # Values must not be personal data: ids only.
    locator: Mapping[str, str] = field(default_factory=dict)
    label: str = ""  # e.g. "invoice 1001", "event 2026-03-02" — shown to the operator


@dataclass(frozen=True, kw_only=True)
class ErasureTarget:
    """Who is erased. Lives only in memory while an erasure request is open.

    `email` is "" when syncaudit holds no plaintext of the person (a re-erasure after a
    resurrection): the records to erase are then known from the pull, and a record's address is
    recognised by its keyed pseudonym (`is_address`). Connectors compare addresses only through
    `is_address`, and skip look-ups by address when `email` is empty."""

    email: str  # normalised, or "" (see above)
    pseudonym: str
    names: tuple[str, ...] = ()  # display names known for the person (for redaction)
    # normalised address -> keyed pseudonym; the core supplies it, connectors never hold the key
    pseudonymize: Callable[[str], str] | None = field(default=None, repr=False, compare=False)

    def is_address(self, raw: str | None) -> bool:
        """Whether `raw` (as a system stores it) is the person's address."""
        normalized = try_normalize_email(raw) if raw else None
        if normalized is None:
            return False
        if self.email:
            return normalized == self.email
        return self.pseudonymize is not None and self.pseudonymize(normalized) == self.pseudonym


class Action(enum.StrEnum):
    DELETE = "delete"  # the record is permanently deleted
    REDACT = "redact"  # the person is removed from the record; the record stays
    RETAIN = "retain"  # kept under a legal obligation (restricted)
    MANUAL = "manual"  # an operator must do it and confirm
    NONE = "none"  # nothing to do (already absent)
    UPDATE = "update"  # the record is corrected in place (rectification)


@dataclass(frozen=True, kw_only=True)
class PlannedAction:
    ref: RecordRef
    action: Action
    explanation: str = ""
    notifies: tuple[str, ...] = ()  # who the system will send a notification to, if anyone


class OutcomeStatus(enum.StrEnum):
    ERASED = "erased"  # removed (deleted or redacted) by this call
    ALREADY_ABSENT = "already_absent"  # nothing was there: the idempotent repeat
    RETAINED = "retained"  # kept by law: legal_basis and retained_until say why and how long
    AWAITING_MANUAL = "awaiting_manual"  # an operator must act and confirm
    RECTIFIED = "rectified"  # corrected by this call (rectification)
    ALREADY_CORRECT = "already_correct"  # held the corrected data already: the idempotent repeat


@dataclass(frozen=True, kw_only=True)
class Outcome:
    status: OutcomeStatus
    ref: RecordRef
    detail: str = ""
    legal_basis: str | None = None
    retained_until: date | None = None
    # Rectification: the record's id changed with the address (Mailchimp's id is its MD5).
    moved_to: RecordRef | None = None


# ---------------------------------------------------------------------------------------------
# The connector and its plugin


@runtime_checkable
class Connector(Protocol):
    """One configured system. Built by its plugin from validated settings."""

    name: str
    profile: SystemProfile
    capabilities: frozenset[Capability]

    def check(self) -> str:
        """Connection test; returns a one-line description of what was reached."""
        ...

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]: ...

    def locate(self, target: ErasureTarget) -> list[RecordRef]: ...

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction: ...

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome: ...

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        """What is still there of the person (refs given plus a fresh look-up), legal holds
        excluded. Empty means verified."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SupportsExport(Protocol):
    """Capability EXPORT: the live data of a record, for the right of access (Art. 15/20)."""

    def export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        """JSON-serialisable fields the system holds about the person in this record."""
        ...


@runtime_checkable
class SupportsObjection(Protocol):
    """Capability OBJECT: stop direct marketing (Art. 21) without deleting anything."""

    def unsubscribe(self, ref: RecordRef, target: ErasureTarget) -> Outcome: ...


@dataclass(frozen=True, kw_only=True)
class Correction:
    """What a rectification (Art. 16) changes: a new full name, a new address, or both. Lives
    in memory while the request is open, like the ErasureTarget it goes with."""

    name: str | None = None  # the full name as the person gives it
    email: str | None = None  # the new address, normalised

    @property
    def given_name(self) -> str:
        """All but the last word of `name` (Finnish names: "Anna Maria Virtanen")."""
        words = (self.name or "").split()
        return " ".join(words[:-1]) if len(words) > 1 else " ".join(words)

    @property
    def surname(self) -> str:
        words = (self.name or "").split()
        return words[-1] if len(words) > 1 else ""

    def is_new_address(self, raw: str | None) -> bool:
        normalized = try_normalize_email(raw) if raw else None
        return self.email is not None and normalized == self.email


@runtime_checkable
class SupportsRectification(Protocol):
    """Capability RECTIFY: correct the person's name and address in a record, in place.

    `rectify` is idempotent (a repeat after a crash answers ALREADY_CORRECT), leaves the
    record's other data alone, and raises PermanentError (with the next step) when the system
    refuses the change. A record it does not rewrite (history, e.g. a calendar entry) answers
    ALREADY_CORRECT with a detail saying so, and `preview_rectification` says so first."""

    def preview_rectification(
        self, ref: RecordRef, target: ErasureTarget, correction: Correction
    ) -> PlannedAction: ...

    def rectify(self, ref: RecordRef, target: ErasureTarget, correction: Correction) -> Outcome: ...

    def verify_rectification(
        self, target: ErasureTarget, correction: Correction, refs: Sequence[RecordRef]
    ) -> list[RecordRef]:
        """Re-read each record (and look the old address up again): the refs still not
        corrected. Empty means verified."""
        ...


@dataclass(frozen=True, kw_only=True)
class MailMessage:
    """A message in a mail folder, as retention rules need it: ids, date and addresses only.

    Addresses are raw (the core normalises and pseudonymises them); subject and body never leave
    the connector."""

    mailbox: str
    folder: str  # as asked for (a path of display names or a well-known name)
    id: str
    when: datetime | None  # sent (or received, or created) time
    sender: str | None
    recipients: tuple[str, ...]  # to, then cc


@runtime_checkable
class SupportsMail(Protocol):
    """Capability MAIL: read and permanently delete messages in a mailbox's folder."""

    def messages(
        self, mailbox: str, folder: str, *, subject_prefixes: Sequence[str] = ()
    ) -> list[MailMessage]:
        """Every message in the folder (with prefixes: only subjects starting with one)."""
        ...

    def delete_message(self, mailbox: str, message_id: str) -> bool:
        """Permanently delete; False when it was already gone."""
        ...


class ConnectorPlugin(Protocol):
    """What an entry point in the group `syncaudit.connectors` names."""

    kind: str

    def parse_settings(self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> Any:
        """Validate this system's table of the config; raise ConfigError listing every problem
        with its key path (`path` is e.g. "systems[1]")."""
        ...

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector: ...

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        """What a connector built from these settings can do, known without building it (so a
        command that only plans needs no secret); equal to the connector's `capabilities`."""
        ...

    def default_profile(self, settings: Any) -> SystemProfile:
        """Vendor, country and safeguard when the operator did not give them."""
        ...


# ---------------------------------------------------------------------------------------------
# The demo: a plugin may start a simulated system seeded with the demo's people


@dataclass(frozen=True, kw_only=True)
class DemoPerson:
    """A generated person. `email` may be in any letter case, as people type them."""

    first: str
    last: str
    email: str
    other_emails: tuple[str, ...] = ()
    # Where the person appears: "contacts", "calendar", "mention", "newsletter", "invoices".
    appears_in: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True, kw_only=True)
class DemoSystem:
    table: Mapping[str, Any]  # the [[systems]] table pointing at the simulator
    env: Mapping[str, str]  # the secrets that table names
    stop: Any  # Callable[[], None]
    # Brings a person back by the system's own means (e.g. a web sign-up form), if it has one.
    bring_back: Any = None  # Callable[[DemoPerson], str] | None: returns what happened
    # A person's mailbox side, if the system has mail: `write(person, subject, body)` puts a
    # message in the intake folder, `reply(person, text)` answers the latest verification
    # letter, `letters(person)` lists (subject, body) of what the person was sent.
    mail: Any = None


@runtime_checkable
class SupportsDemo(Protocol):
    """A plugin that can run its system's simulator for `syncaudit demo`."""

    def start_demo(self, name: str, workdir: Any, people: Sequence[DemoPerson]) -> DemoSystem: ...
