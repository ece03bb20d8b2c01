"""Runs one connector's pull into the subject index.

The connector runs ahead in a thread (`Prefetch`: a bounded queue of pages, so the
network and the database overlap and memory stays flat). Changes are taken up to a `Checkpoint`,
together with whatever further whole pages are already waiting; they are applied set-wise by the
index writer (`syncaudit.index.writer`) and committed in the same transaction as the stream's
newest cursor (one transaction spans several batches while the writer is behind), so a crash
resumes from the last committed checkpoint without losing or duplicating anything (every write
is an idempotent upsert keyed by the item). The runner owns the rounds: a stream read from the
start (`RoundStart`) whose round completes has its unseen records removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit.ahead import ReadAhead
from syncaudit.clock import Clock
from syncaudit.contract import (
    Change,
    Checkpoint,
    Connector,
    ItemRemoved,
    ItemUpsert,
    RoundStart,
    StreamProblem,
)
from syncaudit.db import Database
from syncaudit.errors import ConnectorError
from syncaudit.identity import Pseudonymizer
from syncaudit.index.writer import IndexWriter, ResurrectionHandler
from syncaudit.models import SyncRun, SyncState

log = structlog.get_logger("syncaudit.sync")
FLUSH_ITEMS = (
    5000  # a batch ends here (without moving a cursor) when a connector checkpoints rarely
)
AHEAD = 2  # batches the connector may run ahead of the writer (a batch may be 1,000 events)
COALESCE_ITEMS = 2000  # waiting pages joined into one batch up to this size (5,000 cost
# 5 MiB of peak memory and no time: 100,000 Mailchimp members synced as fast either way)
COMMIT_ITEMS = 20_000  # a transaction spanning batches ends after this many changes …
COMMIT_SECONDS = 2.0  # … or this long, so other writers (the console) wait little


class Prefetch(ReadAhead[list[Change]]):
    """Runs a connector's pull in a thread, `AHEAD` batches ahead of the writer.

    A batch ends at a `Checkpoint` (or after FLUSH_ITEMS changes), so every batch handed out
    ends on a boundary where the runner may commit. Iterating yields a batch together with the
    whole batches already waiting (up to COALESCE_ITEMS), so a slow commit is paid once for
    several pages and the writer catches up with the network. Errors of the pull are raised in
    the caller's thread; leaving the `with` block stops the pull.
    """

    def __init__(self, changes: Iterator[Change]) -> None:
        super().__init__(_batches(changes), depth=AHEAD, name="sync-pull")

    def __iter__(self) -> Iterator[list[Change]]:
        for batch in super().__iter__():
            while len(batch) < COALESCE_ITEMS and (more := self.ready()) is not None:
                batch.extend(more)
            yield batch


def _batches(changes: Iterator[Change]) -> Iterator[list[Change]]:
    """Changes cut after every checkpoint (and every FLUSH_ITEMS), so a batch ends where the
    runner may commit."""
    try:
        batch: list[Change] = []
        for change in changes:
            batch.append(change)
            if isinstance(change, Checkpoint) or len(batch) >= FLUSH_ITEMS:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        close = getattr(changes, "close", None)
        if close is not None:
            close()


@dataclass
class SyncReport:
    system: str
    status: str = "ok"
    items: int = 0
    records: int = 0
    removals: int = 0
    problems: list[str] = field(default_factory=list)
    skipped_invalid: int = 0
    resurrections: int = 0
    seconds: float = 0.0


class SyncRunner:
    def __init__(
        self,
        db: Database,
        connector: Connector,
        *,
        pseudonymizer: Pseudonymizer,
        clock: Clock,
        on_resurrection: ResurrectionHandler | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.connector = connector
        self.system = connector.name
        self.pseudo = pseudonymizer
        self.clock = clock
        self.progress = progress
        self.writer = IndexWriter(db, self.system, pseudonymizer, on_resurrection=on_resurrection)
        self._rounds: dict[str, tuple[int, bool]] = {}

    # -- public -----------------------------------------------------------------------------

    def run(self, *, full: bool = False) -> SyncReport:
        report = SyncReport(system=self.system)
        started = self.clock.now()
        run_id = self._start_run(full, started)
        try:
            with self.db.session() as session:
                cursors = self._load_state(session)
            with Prefetch(self.connector.pull({} if full else cursors, full=full)) as pages:
                self._write(pages, report)
        except ConnectorError as exc:
            exc.system = self.system
            report.status = "failed"
            self._finish_run(run_id, report, started, error=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            report.status = "failed"
            self._finish_run(run_id, report, started, error="interrupted")
            raise
        if report.problems:
            report.status = "partial"
        self._finish_run(run_id, report, started)
        return report

    # -- bookkeeping ------------------------------------------------------------------------

    def _start_run(self, full: bool, started: datetime) -> int:
        with self.db.session() as session, session.begin():
            run = SyncRun(system=self.system, full=full, started_at=started, status="running")
            session.add(run)
            session.flush()
            return run.id

    def _finish_run(
        self, run_id: int, report: SyncReport, started: datetime, error: str | None = None
    ) -> None:
        finished = self.clock.now()
        report.seconds = (finished - started).total_seconds()
        with self.db.session() as session, session.begin():
            run = session.get(SyncRun, run_id)
            if run is None:
                return
            run.finished_at = finished
            run.status = report.status
            run.upserts = report.items
            run.removals = report.removals
            run.problems = len(report.problems)
            run.error = error
        log.info(
            "sync.finished",
            system=self.system,
            status=report.status,
            items=report.items,
            records=report.records,
            removals=report.removals,
            problems=len(report.problems),
            resurrections=report.resurrections,
            seconds=round(report.seconds, 3),
        )

    def _load_state(self, session: Session) -> dict[str, str]:
        rows = session.scalars(select(SyncState).where(SyncState.system == self.system))
        cursors: dict[str, str] = {}
        for row in rows:
            self._rounds[row.stream] = (row.round_id, row.round_open)
            if row.cursor is not None:
                cursors[row.stream] = row.cursor
        return cursors

    # -- applying a page --------------------------------------------------------------------

    def _write(self, pages: Prefetch, report: SyncReport) -> None:
        """Apply batches in transactions that span several of them while the writer is behind
        the network: a commit rewrites every index page the transaction touched, and subjects
        are keyed by a pseudonym, so each commit of 2,000 new people rewrote ~1,600 pages of
        that index alone. A transaction ends as soon as nothing is waiting (the writer has
        caught up, so committing costs no time), or after COMMIT_ITEMS changes or
        COMMIT_SECONDS; every batch ends on a boundary where committing is safe, so when the
        pull fails what was applied is committed (as it was with a commit per batch), and when
        applying fails the open span is rolled back."""
        session: Session | None = None
        began, written = self.clock.now(), 0
        batches = iter(pages)
        try:
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except BaseException:  # the pull failed or was stopped: what was applied
                    self._commit(session)  # ends on safe boundaries, so it is kept
                    session = None
                    raise
                now = self.clock.now()
                if session is None:
                    session = self.db.session()
                    session.begin()
                    began, written = now, 0
                self._apply(session, batch, now, report)
                written += len(batch)
                if (
                    written >= COMMIT_ITEMS
                    or (self.clock.now() - began).total_seconds() >= COMMIT_SECONDS
                    or not pages.waiting()
                ):
                    self._commit(session)
                    session = None
                if self.progress:
                    self.progress(report.items)
            self._commit(session)
            session = None
        finally:
            if session is not None:  # applying a batch failed: nothing half-written is kept
                session.rollback()
                session.close()

    def _commit(self, session: Session | None) -> None:
        """Commit and close the open transaction, if any."""
        if session is not None:
            session.commit()
            session.close()
            self.writer.after_commit()

    def _apply(
        self, session: Session, changes: list[Change], now: datetime, report: SyncReport
    ) -> None:
        upserts: list[ItemUpsert] = []
        for change in changes:
            if isinstance(change, ItemUpsert):
                upserts.append(change)
                continue
            self.writer.upsert(session, upserts, now, report, self._round)
            upserts = []
            if isinstance(change, RoundStart):
                self._start_round(session, change.stream, now)
            elif isinstance(change, ItemRemoved):
                report.removals += self.writer.remove(session, change, now)
            elif isinstance(change, Checkpoint):
                self._checkpoint(session, change, now, report)
            elif isinstance(change, StreamProblem):
                report.problems.append(f"{change.stream}: {change.message}")
                log.warning(
                    "sync.stream_problem",
                    system=self.system,
                    stream=change.stream,
                    problem=change.message,
                )
        self.writer.upsert(session, upserts, now, report, self._round)

    def _round(self, session: Session, stream: str, now: datetime) -> int:
        if stream not in self._rounds:
            state = session.get(SyncState, (self.system, stream))
            if state is None:
                state = SyncState(
                    system=self.system,
                    stream=stream,
                    cursor=None,
                    round_id=0,
                    round_open=False,
                    updated_at=now,
                )
                session.add(state)
                session.flush()
            self._rounds[stream] = (state.round_id, state.round_open)
        return self._rounds[stream][0]

    def _state(self, session: Session, stream: str, now: datetime) -> SyncState:
        self._round(session, stream, now)
        state = session.get(SyncState, (self.system, stream))
        assert state is not None
        return state

    def _start_round(self, session: Session, stream: str, now: datetime) -> None:
        state = self._state(session, stream, now)
        state.round_id += 1
        state.round_open = True
        state.updated_at = now
        self._rounds[stream] = (state.round_id, True)

    def _checkpoint(
        self, session: Session, change: Checkpoint, now: datetime, report: SyncReport
    ) -> None:
        state = self._state(session, change.stream, now)
        state.cursor = change.cursor
        state.updated_at = now
        if change.round_complete and state.round_open:
            report.removals += self.writer.remove_unseen(
                session, change.stream, state.round_id, now
            )
            state.round_open = False
        self._rounds[change.stream] = (state.round_id, state.round_open)


def run_sync(
    db: Database,
    connector: Connector,
    *,
    pseudonymizer: Pseudonymizer,
    clock: Clock,
    full: bool = False,
    on_resurrection: ResurrectionHandler | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    return SyncRunner(
        db,
        connector,
        pseudonymizer=pseudonymizer,
        clock=clock,
        on_resurrection=on_resurrection,
        progress=progress,
    ).run(full=full)
