"""The index writer: applies a page of changes to the subject index, set-wise.

Per page: every raw address normalised and pseudonymised once (`_page`), the tombstones, the
unknown subjects and the existing rows each looked up in one query per stream, then new rows
inserted in bulk, changed rows rewritten and the unchanged majority only touched (`_store`: the
driver's cursor, values compared in their stored form). A tombstoned address is never stored: it
is handed to the resurrection handler (`SeenAgain`, in memory only). Transactions and cursors
belong to the caller (`syncaudit.sync.SyncRunner`), which commits a page with its stream's cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.orm import Session

from syncaudit.contract import ItemRemoved, ItemUpsert, RecordKind
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.index._page import Page, Tally
from syncaudit.index._store import Codec, Store
from syncaudit.index.mentions import NameMatcher
from syncaudit.models import Record

__all__ = ["IndexWriter", "ResurrectionHandler", "RoundOf", "SeenAgain", "Tally", "chunks"]

log = structlog.get_logger("syncaudit.sync")
CHUNK = 500  # bound on IN (...) lists built by callers
IDENTITY_CACHE = 200_000  # raw addresses remembered across pages of one run
ANALYZE_FIRST = 5_000  # PostgreSQL statistics refreshed after this many new records, then x4
MENTION = RecordKind.EVENT_MENTION.value


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
RoundOf = Callable[[Session, str, datetime], int]  # (session, stream, now) -> current round id
# (kind, subject id) -> (name, role, record date, details), the last two in stored form
Rows = dict[tuple[str, int], tuple[str | None, str | None, Any, str]]
Desired = dict[tuple[str, str], tuple[ItemUpsert, Rows]]  # (stream, external id) -> rows
# (record id, restricted, removed, content in stored form)
Existing = tuple[int, bool, bool, tuple[Any, ...]]


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
        self._codec: Codec | None = None
        self._fresh: set[int] = set()  # subjects inserted by the page being written
        self._inserted_since_analyze = 0
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

    def after_commit(self) -> None:
        """PostgreSQL statistics are refreshed as the index grows: counted in records inserted,
        not records seen, since a re-sync of unchanged records (which ran three ANALYZEs of
        the whole index per 100,000) leaves the planner nothing new to learn."""
        if self._inserted_since_analyze >= self._analyze_after:
            self._analyze()

    def _analyze(self) -> None:
        """PostgreSQL plans by statistics; a table that grew tenfold inside one sync has none
        yet and gets a plan that scans the whole stream per page. Refresh them as it grows."""
        self._analyze_after = self._inserted_since_analyze * 4
        self._inserted_since_analyze = 0
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
        store = Store(session.connection(), self._codec)
        self._codec = store.codec
        page = Page.of(items, self.pseudo, report, self._identities)
        page.tombstoned = store.tombstoned(sorted(page.emails))
        self._ensure_subjects(store, page, now)
        desired, seen_again, activity = self._desired_rows(store, items, page)
        report.items += len(items)
        report.records += self._write_records(session, store, desired, now, report, round_of)
        self._touch_subjects(store, activity)
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
        self, store: Store, items: list[ItemUpsert], page: Page
    ) -> tuple[
        dict[tuple[str, str], tuple[ItemUpsert, Rows]], list[SeenAgain], dict[int, datetime]
    ]:
        codec = store.codec
        desired: Desired = {}
        seen_again: list[SeenAgain] = []
        activity: dict[int, datetime] = {}
        identities, tombstoned, subject_ids = page.identities, page.tombstoned, self._subject_ids
        when_of, json_of = codec.when, codec.json
        for item in items:
            rows: Rows = {}
            for obs in item.observations:
                ident = identities.get(obs.email) if obs.email else None
                if ident is None:
                    continue
                pseudonym = ident[1]
                held = bool(tombstoned) and pseudonym in tombstoned
                if held and item.legal_hold_until is None:
                    seen_again.append(
                        SeenAgain(
                            system=self.system,
                            stream=item.stream,
                            external_id=item.external_id,
                            kind=obs.kind,
                            pseudonym=pseudonym,
                            email=ident[0],
                            locator=dict(item.locator),
                        )
                    )
                    continue
                sid = subject_ids[pseudonym]
                when = obs.when
                rows[(str(obs.kind), sid)] = (
                    None if held else obs.name,
                    obs.role,
                    when_of(when),
                    json_of(obs.details),
                )
                if when is not None and not held:
                    prior = activity.get(sid)
                    activity[sid] = when if prior is None else max(prior, when)
            if item.free_text:
                present = {sid for _, sid in rows}
                for sid in self._name_matcher(store).find(item.free_text) - present:
                    rows[(MENTION, sid)] = (None, "mentioned", None, json_of(None))
            desired[(item.stream, item.external_id)] = (item, rows)
        return desired, seen_again, activity

    def _ensure_subjects(self, store: Store, page: Page, now: datetime) -> None:
        self._fresh.clear()
        wanted = page.subjects()
        stamp = store.codec.when(now)
        missing = [p for p in wanted if p not in self._subject_ids]
        names: list[tuple[str | None, int]] = []
        for sid, pseudonym, name in store.subjects(missing):
            self._subject_ids[pseudonym] = sid
            if name is None and page.names.get(pseudonym):
                names.append((page.names[pseudonym], sid))
        store.executemany("UPDATE subjects SET display_name = ? WHERE id = ?", names)
        new = [p for p in missing if p not in self._subject_ids]
        if new:
            when = store.codec.when
            latest, tombstoned = page.latest, page.tombstoned
            created = store.insert_subjects(
                [
                    (p, wanted[p], page.names.get(p), stamp, stamp,
                     None if p in tombstoned else when(latest.get(p)))
                    for p in new
                ]
            )  # fmt: skip
            for sid, pseudonym in created:
                self._subject_ids[pseudonym] = sid
                self._fresh.add(sid)  # last_activity set at insert: no touch this page
            if self._matcher is not None:
                for p in new:
                    self._matcher.add(self._subject_ids[p], page.names.get(p))
        fresh = set(new)
        ids = [self._subject_ids[p] for p in wanted if p not in fresh]
        store.update_ids("subjects", f"last_seen = {store.mark}", [stamp], ids)

    def _touch_subjects(self, store: Store, activity: dict[int, datetime]) -> None:
        if not activity:
            return
        when, fresh = store.codec.when, self._fresh
        rows = []
        for sid, moment in activity.items():
            if sid in fresh:
                continue
            stored = when(moment)
            rows.append((stored, sid, stored))
        store.executemany(
            "UPDATE subjects SET last_activity = ? WHERE id = ?"
            " AND (last_activity IS NULL OR last_activity < ?)",
            rows,
        )

    def _name_matcher(self, store: Store) -> NameMatcher:
        if self._matcher is None:
            self._matcher = NameMatcher.of(store.subject_names())
        return self._matcher

    def _existing(
        self, store: Store, desired: Desired
    ) -> dict[tuple[str, str], dict[tuple[str, int], Existing]]:
        """(stream, external id) -> (kind, subject id) -> what the index holds now."""
        by_stream: dict[str, list[str]] = {}
        for stream, external_id in desired:
            by_stream.setdefault(stream, []).append(external_id)
        existing: dict[tuple[str, str], dict[tuple[str, int], Existing]] = {}
        for stream, ids in by_stream.items():
            for rid, ext, kind, sid, restricted, removed, *content in store.existing(
                self.system, stream, ids
            ):
                existing.setdefault((stream, ext), {})[(kind, sid)] = (
                    rid,
                    bool(restricted),
                    bool(removed),
                    tuple(content),
                )
        return existing

    def _write_records(  # noqa: PLR0917 (internal: one page's state)
        self,
        session: Session,
        store: Store,
        desired: Desired,
        now: datetime,
        report: Tally,
        round_of: RoundOf,
    ) -> int:
        """Insert new rows, rewrite changed ones, and only touch the unchanged majority."""
        existing = self._existing(store, desired) if desired else {}
        codec = store.codec
        stamp = codec.when(now)
        system = self.system
        inserts: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        touched: dict[int, list[int]] = {}  # round id -> unchanged record ids
        gone: list[int] = []
        rounds: dict[str, int] = {}
        for (stream, external_id), (item, rows) in desired.items():
            round_id = rounds.get(stream)
            if round_id is None:
                round_id = rounds[stream] = round_of(session, stream, now)
            seen = touched.setdefault(round_id, [])
            have = existing.get((stream, external_id))
            covered = _covered_kinds(item)
            tail = (codec.json(item.locator), codec.day(item.legal_hold_until), item.legal_basis)
            for row_key, arrived in rows.items():
                name, role, when, details = arrived
                current = have.get(row_key) if have else None
                if current is None:
                    inserts.append(
                        (row_key[1], system, stream, external_id, row_key[0], stamp, stamp,
                         round_id, name, role, when, details, *tail)
                    )  # fmt: skip
                    continue
                rid, restricted, removed, stored = current
                if covered is not None and not removed:
                    if row_key[0] not in covered:  # a partial item: nothing to rewrite here
                        seen.append(rid)
                        continue
                    name = name if name is not None else stored[0]  # unknown fields keep theirs
                    role = role if role is not None else stored[1]
                    when = when if when is not None else stored[2]
                content = (None if restricted else name, role, when, details, *tail)
                if removed or not _same(stored, content):
                    changed.append((stamp, round_id, *content, rid))
                else:
                    seen.append(rid)
            if not have:
                continue
            for row_key, (rid, _, removed, _) in have.items():
                if row_key in rows or removed:
                    continue
                if covered is None or row_key[0] in covered:
                    gone.append(rid)
                else:  # a kind the partial item did not carry: kept, and seen in this round
                    seen.append(rid)
        store.insert_records(inserts)
        self._inserted_since_analyze += len(inserts)
        store.rewrite_records(changed)
        mark = store.mark
        for round_id, ids in touched.items():
            store.update_ids(
                "records", f"last_seen = {mark}, seen_round = {mark}", [stamp, round_id], ids
            )
        report.removals += store.update_ids("records", f"removed_at = {mark}", [stamp], gone)
        return len(inserts) + len(changed) + sum(len(ids) for ids in touched.values())


def _same(stored: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """What the index holds against what arrived, both in stored form ('' and {} mean none)."""
    if stored == new:
        return True
    return all((a or None) == (b or None) for a, b in zip(stored, new, strict=True))


def _covered_kinds(item: ItemUpsert) -> frozenset[str] | None:
    """The record kinds a partial upsert is complete for, as stored; None for a whole item."""
    return None if item.covers is None else frozenset(str(kind) for kind in item.covers)


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
