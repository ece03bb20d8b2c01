"""The index writer: applies a page of changes to the subject index, set-wise.

Per page: every raw address normalised and pseudonymised once, the existing rows looked up in
one query per stream chunk, then new rows inserted in bulk, changed rows rewritten and the
unchanged majority only touched. A tombstoned address is never stored: it is handed to the
resurrection handler (`SeenAgain`, in memory only). Transactions and cursors belong to the caller
(`syncaudit.sync.SyncRunner`), which commits a page with its stream's cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol, cast

import structlog
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from syncaudit.clock import utc
from syncaudit.contract import ItemRemoved, ItemUpsert, RecordKind
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer, try_normalize_email
from syncaudit.index._bulk import insert_rows
from syncaudit.index.mentions import NameMatcher
from syncaudit.models import Record, Subject, Tombstone

log = structlog.get_logger("syncaudit.sync")
CHUNK = 500  # bound on IN (...) lists
IDENTITY_CACHE = 200_000  # raw addresses remembered across pages of one run
ANALYZE_FIRST = 5_000  # PostgreSQL statistics refreshed after this many changes, then x4


@dataclass(frozen=True, kw_only=True)
class SeenAgain:
    """A tombstoned address met in a pull. `email` is only ever held in memory."""

    system: str
    stream: str
    external_id: str
    kind: RecordKind
    pseudonym: str
    email: str
    locator: dict[str, str]


ResurrectionHandler = Callable[[Session, Sequence[SeenAgain], datetime], None]


class Tally(Protocol):
    """What a sync counts (syncaudit.sync.SyncReport)."""

    items: int
    records: int
    removals: int
    skipped_invalid: int
    resurrections: int


RoundOf = Callable[[Session, str, datetime], int]  # (session, stream, now) -> current round id


@dataclass(frozen=True)
class _Row:
    subject_id: int
    kind: str
    name: str | None
    role: str | None
    when: datetime | None
    details: dict[str, str]


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class IndexWriter:
    def __init__(
        self,
        db: Database,
        system: str,
        pseudonymizer: Pseudonymizer,
        *,
        on_resurrection: ResurrectionHandler | None = None,
    ) -> None:
        self.db = db
        self.system = system
        self.pseudo = pseudonymizer
        self.on_resurrection = on_resurrection
        self._subject_ids: dict[str, int] = {}
        self._identities: dict[str, tuple[str, str] | None] = {}  # raw -> (normalised, pseudonym)
        self._matcher: NameMatcher | None = None
        self._written_since_analyze = 0
        self._analyze_after = ANALYZE_FIRST

    def remove_unseen(self, session: Session, stream: str, round_id: int, now: datetime) -> int:
        """A round of `stream` completed: records it did not see are gone."""
        result = session.execute(
            update(Record)
            .where(
                Record.system == self.system,
                Record.stream == stream,
                Record.seen_round < round_id,
                Record.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
        return _rowcount(result)

    def remove(self, session: Session, change: ItemRemoved, now: datetime) -> int:
        """The item is gone from its system: its records are marked removed."""
        result = session.execute(
            update(Record)
            .where(
                Record.system == self.system,
                Record.stream == change.stream,
                Record.external_id == change.external_id,
                Record.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
        return _rowcount(result)

    def note_written(self, changes: int) -> None:
        """Count changes; PostgreSQL statistics are refreshed as the index grows."""
        self._written_since_analyze += changes
        if self._written_since_analyze >= self._analyze_after:
            self._analyze()

    def _analyze(self) -> None:
        """PostgreSQL plans by statistics; a table that grew tenfold inside one sync has none
        yet and gets a plan that scans the whole stream per page. Refresh them as it grows."""
        self._analyze_after = self._written_since_analyze * 4
        self._written_since_analyze = 0
        if self.db.is_sqlite:
            return
        with self.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE records, subjects")
            conn.commit()

    def upsert(
        self,
        session: Session,
        items: list[ItemUpsert],
        now: datetime,
        report: Tally,
        round_of: RoundOf,
    ) -> None:
        """Write one page of upserts: subjects, records (insert / rewrite / touch), activity;
        tombstoned addresses go to the resurrection handler instead, with no plaintext stored."""
        if not items:
            return
        if len(self._identities) > IDENTITY_CACHE:
            self._identities.clear()
        page = _Page.of(items, self.pseudo, report, self._identities)
        page.tombstoned = self._tombstoned(session, sorted(page.pseudonyms()))
        self._ensure_subjects(session, page, now)
        desired, seen_again, activity = self._desired_rows(session, items, page)
        report.items += len(items)
        report.records += self._write_records(session, desired, now, report, round_of)
        self._touch_subjects(session, activity)
        if seen_again:
            report.resurrections += len(seen_again)
            log.warning(
                "sync.resurrection",
                system=self.system,
                count=len(seen_again),
                subjects=sorted({s.pseudonym[:12] for s in seen_again}),
            )
            if self.on_resurrection is not None:
                self.on_resurrection(session, seen_again, now)

    def _desired_rows(
        self, session: Session, items: list[ItemUpsert], page: _Page
    ) -> tuple[dict[tuple[str, str], _Item], list[SeenAgain], dict[int, datetime]]:
        desired: dict[tuple[str, str], _Item] = {}
        seen_again: list[SeenAgain] = []
        activity: dict[int, datetime] = {}
        for item in items:
            rows: dict[tuple[str, int], _Row] = {}
            for obs in item.observations:
                ident = page.identities.get(obs.email) if obs.email else None
                if ident is None:
                    continue
                normalized, pseudonym = ident
                held = pseudonym in page.tombstoned
                if held and item.legal_hold_until is None:
                    seen_again.append(
                        SeenAgain(
                            system=self.system,
                            stream=item.stream,
                            external_id=item.external_id,
                            kind=obs.kind,
                            pseudonym=pseudonym,
                            email=normalized,
                            locator=dict(item.locator),
                        )
                    )
                    continue
                sid = self._subject_ids[pseudonym]
                rows[(obs.kind, sid)] = _Row(
                    subject_id=sid,
                    kind=obs.kind,
                    name=None if held else obs.name,
                    role=obs.role,
                    when=obs.when,
                    details=dict(obs.details),
                )
                if obs.when is not None and not held:
                    prior = activity.get(sid)
                    activity[sid] = obs.when if prior is None else max(prior, obs.when)
            if item.free_text:
                present = {sid for _, sid in rows}
                for sid in self._name_matcher(session).find(item.free_text) - present:
                    rows[(RecordKind.EVENT_MENTION.value, sid)] = _Row(
                        subject_id=sid,
                        kind=RecordKind.EVENT_MENTION.value,
                        name=None,
                        role="mentioned",
                        when=None,
                        details={},
                    )
            desired[(item.stream, item.external_id)] = _Item(item, rows)
        return desired, seen_again, activity

    def _tombstoned(self, session: Session, pseudonyms: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in chunks(pseudonyms):
            found.update(
                session.scalars(select(Tombstone.pseudonym).where(Tombstone.pseudonym.in_(part)))
            )
        return found

    def _ensure_subjects(self, session: Session, page: _Page, now: datetime) -> None:
        wanted = page.subjects()
        missing = [p for p in wanted if p not in self._subject_ids]
        for part in chunks(missing):
            for sid, pseudonym, name in session.execute(
                select(Subject.id, Subject.pseudonym, Subject.display_name).where(
                    Subject.pseudonym.in_(part)
                )
            ):
                self._subject_ids[pseudonym] = sid
                if name is None and page.names.get(pseudonym):
                    session.execute(
                        update(Subject)
                        .where(Subject.id == sid)
                        .values(display_name=page.names[pseudonym])
                    )
        new = [p for p in missing if p not in self._subject_ids]
        if new:
            created = insert_rows(
                session.connection(),
                SUBJECTS,
                _SUBJECT_COLUMNS,
                [(p, wanted[p], page.names.get(p), now, now) for p in new],
                returning=("id", "pseudonym"),
            )
            for sid, pseudonym in created:
                self._subject_ids[pseudonym] = sid
            if self._matcher is not None:
                for p in new:
                    self._matcher.add(self._subject_ids[p], page.names.get(p))
        fresh = set(new)
        ids = [self._subject_ids[p] for p in wanted if p not in fresh]
        for start in range(0, len(ids), CHUNK):
            session.execute(
                update(Subject)
                .where(Subject.id.in_(ids[start : start + CHUNK]))
                .values(last_seen=now)
            )

    def _touch_subjects(self, session: Session, activity: dict[int, datetime]) -> None:
        if not activity:
            return
        table = Subject.__table__.c
        session.connection().execute(
            update(Subject)
            .where(table.id == bindparam("sid"))
            .where(table.last_activity.is_(None) | (table.last_activity < bindparam("d")))
            .values(last_activity=bindparam("d")),
            [{"sid": sid, "d": when} for sid, when in activity.items()],
        )

    def _name_matcher(self, session: Session) -> NameMatcher:
        if self._matcher is None:
            rows = session.execute(
                select(Subject.id, Subject.display_name).where(Subject.display_name.is_not(None))
            )
            self._matcher = NameMatcher.of((sid, name) for sid, name in rows)
        return self._matcher

    def _existing(
        self, session: Session, desired: dict[tuple[str, str], _Item]
    ) -> dict[tuple[str, str], dict[tuple[str, int], _Existing]]:
        """(stream, external id) -> (kind, subject id) -> what the index holds now."""
        by_stream: dict[str, list[str]] = {}
        for stream, external_id in desired:
            by_stream.setdefault(stream, []).append(external_id)
        existing: dict[tuple[str, str], dict[tuple[str, int], _Existing]] = {}
        for stream, ids in by_stream.items():
            for part in chunks(ids):
                for row in session.execute(
                    select(*_EXISTING_COLUMNS).where(
                        Record.system == self.system,
                        Record.stream == stream,
                        Record.external_id.in_(part),
                    )
                ):
                    rid, ext, kind, sid, restricted, removed, *content = row
                    existing.setdefault((stream, ext), {})[(kind, sid)] = _Existing(
                        rid, restricted is not None, removed is not None, tuple(content)
                    )
        return existing

    def _write_records(
        self,
        session: Session,
        desired: dict[tuple[str, str], _Item],
        now: datetime,
        report: Tally,
        round_of: RoundOf,
    ) -> int:
        """Insert new rows, rewrite changed ones, and only touch the unchanged majority."""
        existing = self._existing(session, desired)
        inserts: list[tuple[object, ...]] = []
        changed: list[dict[str, object]] = []
        touched: dict[int, list[int]] = {}  # round id -> unchanged record ids
        gone: list[int] = []
        for key, wanted in desired.items():
            item = wanted.item
            round_id = round_of(session, key[0], now)
            have = existing.get(key, {})
            covered = _covered_kinds(item)
            for row_key, arrived in wanted.rows.items():
                current = have.get(row_key)
                row = arrived
                if current is not None and covered is not None and not current.removed:
                    if row.kind not in covered:  # a partial item: nothing to rewrite here
                        touched.setdefault(round_id, []).append(current.rid)
                        continue
                    row = _keep_stored_fields(arrived, current)
                name = None if current is not None and current.restricted else row.name
                content = (
                    name,
                    row.role,
                    row.when,
                    row.details,
                    dict(item.locator),
                    item.legal_hold_until,
                    item.legal_basis,
                )
                if current is None:
                    inserts.append(
                        (
                            row.subject_id,
                            self.system,
                            key[0],
                            key[1],
                            row.kind,
                            now,
                            now,
                            round_id,
                            *content,
                        )
                    )
                elif current.removed or not _same(current.content, content):
                    changed.append(
                        {
                            "id": current.rid,
                            "last_seen": now,
                            "seen_round": round_id,
                            "removed_at": None,
                            **dict(zip(_CONTENT_KEYS, content, strict=True)),
                        }
                    )
                else:
                    touched.setdefault(round_id, []).append(current.rid)
            for row_key, stored in have.items():
                if row_key in wanted.rows or stored.removed:
                    continue
                if covered is None or row_key[0] in covered:
                    gone.append(stored.rid)
                else:  # a kind the partial item did not carry: kept, and seen in this round
                    touched.setdefault(round_id, []).append(stored.rid)
        insert_rows(session.connection(), RECORDS, _RECORD_COLUMNS, inserts)
        if changed:
            session.execute(update(Record), changed)
        for round_id, ids in touched.items():
            for start in range(0, len(ids), CHUNK):
                session.execute(
                    update(Record)
                    .where(Record.id.in_(ids[start : start + CHUNK]))
                    .values(last_seen=now, seen_round=round_id)
                )
        for start in range(0, len(gone), CHUNK):
            result = session.execute(
                update(Record)
                .where(Record.id.in_(gone[start : start + CHUNK]))
                .values(removed_at=now)
            )
            report.removals += _rowcount(result)
        return len(inserts) + len(changed) + sum(len(ids) for ids in touched.values())


SUBJECTS: Table = Subject.__table__  # type: ignore[assignment]
RECORDS: Table = Record.__table__  # type: ignore[assignment]
_SUBJECT_COLUMNS = ("pseudonym", "email", "display_name", "first_seen", "last_seen")
_CONTENT_KEYS = (
    "name",
    "role",
    "record_date",
    "details",
    "locator",
    "legal_hold_until",
    "legal_basis",
)
_RECORD_COLUMNS = (
    "subject_id",
    "system",
    "stream",
    "external_id",
    "kind",
    "first_seen",
    "last_seen",
    "seen_round",
    *_CONTENT_KEYS,
)
_EXISTING_COLUMNS = (
    Record.id,
    Record.external_id,
    Record.kind,
    Record.subject_id,
    Record.restricted_at,
    Record.removed_at,
    Record.name,
    Record.role,
    Record.record_date,
    Record.details,
    Record.locator,
    Record.legal_hold_until,
    Record.legal_basis,
)


@dataclass(frozen=True)
class _Existing:
    rid: int
    restricted: bool
    removed: bool
    content: tuple[object, ...]


def _same(stored: tuple[object, ...], new: tuple[object, ...]) -> bool:
    """Compare what the index holds with what arrived (databases return naive UTC datetimes)."""
    for a, b in zip(stored, new, strict=True):
        if isinstance(a, datetime) and isinstance(b, datetime):
            if utc(a) != utc(b):
                return False
        elif (a or None) != (b or None):
            return False
    return True


def _covered_kinds(item: ItemUpsert) -> frozenset[str] | None:
    """The record kinds a partial upsert is complete for, as stored; None for a whole item."""
    return None if item.covers is None else frozenset(str(kind) for kind in item.covers)


def _keep_stored_fields(row: _Row, current: _Existing) -> _Row:
    """A partial item leaves unknown fields None: those keep what the index holds."""
    name, role, when = current.content[:3]
    return replace(
        row,
        name=row.name if row.name is not None else cast("str | None", name),
        role=row.role if row.role is not None else cast("str | None", role),
        when=row.when if row.when is not None else cast("datetime | None", when),
    )


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class _Item:
    item: ItemUpsert
    rows: dict[tuple[str, int], _Row]


@dataclass
class _Page:
    """The identities of one page: every raw address normalised and pseudonymised once."""

    identities: dict[str, tuple[str, str]]  # raw email -> (normalised, pseudonym)
    names: dict[str, str | None]
    emails: dict[str, str]
    held: set[str]  # pseudonyms met in legal-hold items
    tombstoned: set[str] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        items: list[ItemUpsert],
        pseudo: Pseudonymizer,
        report: Tally,
        cache: dict[str, tuple[str, str] | None],
    ) -> _Page:
        page = cls(identities={}, names={}, emails={}, held=set())
        for item in items:
            for obs in item.observations:
                if obs.email is None:
                    continue
                if obs.email in cache:
                    ident = cache[obs.email]
                else:
                    normalized = try_normalize_email(obs.email)
                    ident = cache[obs.email] = (
                        None
                        if normalized is None
                        else (normalized, pseudo.of_normalized(normalized))
                    )
                if ident is None:
                    report.skipped_invalid += 1
                    continue
                page.identities[obs.email] = ident
                pseudonym = ident[1]
                page.emails[pseudonym] = ident[0]
                if item.legal_hold_until is not None:
                    page.held.add(pseudonym)
                if obs.name and (
                    page.names.get(pseudonym) is None or obs.kind is RecordKind.CONTACT
                ):
                    page.names[pseudonym] = obs.name
        return page

    def pseudonyms(self) -> set[str]:
        return set(self.emails)

    def subjects(self) -> dict[str, str | None]:
        """Subjects to store: plaintext for the living, a bare reference for tombstoned holds."""
        out: dict[str, str | None] = {}
        for pseudonym, email in self.emails.items():
            if pseudonym not in self.tombstoned:
                out[pseudonym] = email
            elif pseudonym in self.held:
                out[pseudonym] = None
                self.names[pseudonym] = None
        return out
