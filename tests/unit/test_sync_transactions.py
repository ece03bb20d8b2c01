"""The runner's transactions: one per batch while it keeps up with the network, several batches
in one while it is behind (a commit rewrites every index page it touched), never a batch split."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import pytest
from sqlalchemy import event, func, select

from syncaudit import sync
from syncaudit.clock import ManualClock
from syncaudit.contract import Change, Checkpoint, ItemUpsert, Observation, RecordKind, RoundStart
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.models import Record, SyncState
from syncaudit.sync import run_sync
from syncaudit.testing import FakeConnector, FakeSystem


class Paged(FakeConnector):
    """`pages` pages of `size` contacts, each page followed by its checkpoint."""

    def __init__(self, pages: int, size: int, before_page: object = None) -> None:
        super().__init__("paged", FakeSystem())
        self.pages, self.size = pages, size
        self.before_page = before_page

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        yield RoundStart(stream="contacts")
        for page in range(self.pages):
            if callable(self.before_page):
                self.before_page(page)
            for i in range(page * self.size, (page + 1) * self.size):
                yield ItemUpsert(
                    stream="contacts",
                    external_id=f"c{i}",
                    observations=(
                        Observation(kind=RecordKind.CONTACT, email=f"p{i}@example.fi", name=None),
                    ),
                )
            yield Checkpoint(stream="contacts", cursor=str(page), round_complete=False)
        yield Checkpoint(stream="contacts", cursor="end", round_complete=True)


def _commits(db: Database) -> list[int]:
    seen: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: seen.append(1))
    return seen


def _cursor(db: Database) -> str | None:
    with db.session() as s:
        return s.scalar(select(SyncState.cursor).where(SyncState.system == "paged"))


def test_a_writer_that_keeps_up_commits_every_page_at_once(
    db: Database, pseudo: Pseudonymizer, clock: ManualClock
) -> None:
    """Nothing waits behind a page: it is committed before the next one is fetched, so a slow
    API's progress is durable page by page (the pull waits here until it is)."""

    def committed_before(page: int) -> None:
        deadline = time.monotonic() + 10
        while page and _cursor(db) != str(page - 1):
            assert time.monotonic() < deadline, f"page {page - 1} not committed while idle"
            time.sleep(0.01)

    run_sync(db, Paged(5, 3, committed_before), pseudonymizer=pseudo, clock=clock)
    assert _cursor(db) == "end"


def test_a_writer_behind_the_network_commits_several_batches_at_once(
    db: Database, pseudo: Pseudonymizer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "COMMIT_ITEMS", 45)
    monkeypatch.setattr(sync, "COALESCE_ITEMS", 1)  # one page per batch
    monkeypatch.setattr(sync.Prefetch, "waiting", lambda self: True)
    commits = _commits(db)
    run_sync(db, Paged(20, 10, None), pseudonymizer=pseudo, clock=clock)
    # 20 pages of 11 changes (+ the round's start and end): a commit every 5 pages, not every
    # page; and the run's own bookkeeping (start, finish)
    assert len(commits) <= 20 // 4 + 1 + 2
    assert _cursor(db) == "end"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 200


def test_a_long_transaction_ends_after_commit_seconds(
    db: Database, pseudo: Pseudonymizer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "COALESCE_ITEMS", 1)
    monkeypatch.setattr(sync.Prefetch, "waiting", lambda self: True)
    commits = _commits(db)
    tick = sync.COMMIT_SECONDS / 2
    run_sync(db, Paged(10, 2, lambda _page: clock.advance(tick)), pseudonymizer=pseudo, clock=clock)
    # without the bound one transaction would hold all ten pages (COMMIT_ITEMS is 20,000); the
    # pull runs a few pages ahead of the writer's clock readings, so the count is a range
    assert 2 <= len(commits) - 2 <= 10
    assert _cursor(db) == "end"


def test_a_failing_pull_keeps_every_batch_already_applied(
    db: Database, pseudo: Pseudonymizer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every applied batch ends on a boundary where committing is safe: the open transaction is
    committed, not thrown away, when the network fails, as a commit per batch would have."""
    monkeypatch.setattr(sync, "COALESCE_ITEMS", 1)
    monkeypatch.setattr(sync, "COMMIT_ITEMS", 30)
    monkeypatch.setattr(sync.Prefetch, "waiting", lambda self: True)

    def fail_at(page: int) -> None:
        if page == 5:
            raise RuntimeError("the network went away")

    with pytest.raises(RuntimeError):
        run_sync(db, Paged(10, 10, fail_at), pseudonymizer=pseudo, clock=clock)
    assert _cursor(db) == "4"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 50


def test_a_batch_that_fails_to_apply_rolls_back_the_open_span_only(
    db: Database, pseudo: Pseudonymizer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "COALESCE_ITEMS", 1)
    monkeypatch.setattr(sync, "COMMIT_ITEMS", 30)
    monkeypatch.setattr(sync.Prefetch, "waiting", lambda self: True)
    upsert = sync.IndexWriter.upsert
    pages: list[int] = []

    def failing(self, session, items, *args):  # type: ignore[no-untyped-def]
        if items:
            pages.append(1)
            if len(pages) == 6:
                raise RuntimeError("the disk is full")
        return upsert(self, session, items, *args)

    monkeypatch.setattr(sync.IndexWriter, "upsert", failing)
    with pytest.raises(RuntimeError):
        run_sync(db, Paged(10, 10, None), pseudonymizer=pseudo, clock=clock)
    # committed after pages 0-2 (33 changes with the round's start); pages 3-4 and the failing
    # page 5 were one open span, rolled back whole
    assert _cursor(db) == "2"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 30
