"""The pull runs ahead in a thread: batches end on checkpoints, errors reach the caller, and
leaving early stops the pull and closes its generator."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from syncaudit import sync
from syncaudit.contract import Change, Checkpoint, ItemUpsert, Observation, RecordKind
from syncaudit.sync import Prefetch


def _item(n: int) -> ItemUpsert:
    obs = Observation(kind=RecordKind.CONTACT, email=f"p{n}@example.fi")
    return ItemUpsert(stream="s", external_id=str(n), observations=(obs,))


def _pages(pages: int, size: int) -> Iterator[Change]:
    for page in range(pages):
        for n in range(size):
            yield _item(page * size + n)
        yield Checkpoint(stream="s", cursor=str(page))


def test_every_batch_ends_on_a_checkpoint_and_nothing_is_lost_or_reordered() -> None:
    expected = list(_pages(30, 7))
    batches = []
    with Prefetch(_pages(30, 7)) as pages:
        batches = list(pages)
    assert [c for b in batches for c in b] == expected
    assert all(isinstance(b[-1], Checkpoint) for b in batches)


def test_a_trailing_batch_without_a_checkpoint_is_still_handed_out() -> None:
    def pull() -> Iterator[Change]:
        yield from _pages(2, 3)
        yield _item(99)

    with Prefetch(pull()) as pages:
        flat = [c for b in pages for c in b]
    assert flat[-1] == _item(99)
    assert len(flat) == 9


def test_an_error_of_the_pull_is_raised_after_the_pages_before_it() -> None:
    def pull() -> Iterator[Change]:
        yield from _pages(3, 2)
        yield _item(7)  # not checkpointed: must not be handed out
        raise ConnectionError("gone")

    seen: list[Change] = []

    def consume() -> None:
        with Prefetch(pull()) as pages:
            for batch in pages:
                seen.extend(batch)

    with pytest.raises(ConnectionError, match="gone"):
        consume()
    assert seen == list(_pages(3, 2))


def test_leaving_early_stops_the_pull_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "AHEAD", 1)
    closed = threading.Event()

    def endless() -> Iterator[Change]:
        try:
            n = 0
            while True:
                yield _item(n)
                yield Checkpoint(stream="s", cursor=str(n))
                n += 1
        finally:
            closed.set()

    prefetch = Prefetch(endless())
    with prefetch as pages:
        for _ in pages:
            break
    assert closed.wait(10)
    assert prefetch.join(10)
