"""The written rules of cursors, rounds and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncaudit_mailchimp.cursor import RECENT_LIMIT, Round, StreamCursor, bounded_recent, iso
from syncaudit_mailchimp.pull import advance, listings_for, plan_round

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_cursor_round_trips_and_garbage_means_start_over() -> None:
    cursor = StreamCursor(
        bookmark=T0,
        reconciled=T0 - WEEK,
        recent={"abc": "2026-03-02T09:00:00+00:00"},
        round=Round(full=False, started=T0, since=T0 - WEEK, phase=1, offset=2000, total=5000),
    )
    assert StreamCursor.loads(cursor.dumps()) == cursor
    for junk in ("", "not json", "[]", '{"v": 99}', '{"v": 1, "round": {"full": true}}'):
        assert StreamCursor.loads(junk) is None


def test_plan_round_full_when_new_due_or_asked() -> None:
    fresh, announced = plan_round(None, full=False, now=T0, reconcile_every=WEEK)
    assert fresh.full and announced
    done = StreamCursor(bookmark=T0 - timedelta(hours=1), reconciled=T0 - timedelta(days=3))
    incr, announced = plan_round(done, full=False, now=T0, reconcile_every=WEEK)
    assert not incr.full and not announced and incr.since == done.bookmark
    due = StreamCursor(bookmark=T0, reconciled=T0 - WEEK)
    assert plan_round(due, full=False, now=T0, reconcile_every=WEEK)[0].full
    assert plan_round(done, full=True, now=T0, reconcile_every=WEEK) == (
        Round(full=True, started=T0),
        True,
    )


def test_plan_round_resumes_a_round_in_progress_without_announcing_it() -> None:
    running = Round(full=True, started=T0 - timedelta(hours=1), phase=0, offset=3000, total=9000)
    cursor = StreamCursor(round=running)
    assert plan_round(cursor, full=False, now=T0, reconcile_every=WEEK) == (running, False)


def test_listings_full_round_reads_archived_and_catches_up() -> None:
    full = listings_for(Round(full=True, started=T0), timedelta(seconds=300))
    assert [(x.status, x.since) for x in full] == [
        (None, None),
        ("archived", None),
        (None, T0 - timedelta(seconds=300)),
    ]
    incr = listings_for(Round(full=False, started=T0, since=T0 - WEEK), timedelta(0))
    assert [(x.status, x.since) for x in incr] == [(None, T0 - WEEK), ("archived", T0 - WEEK)]


@pytest.mark.parametrize(
    ("offset", "got", "total", "previous", "expected"),
    [
        (0, 1000, 2500, None, 1000),
        (1000, 1000, 2500, 2500, 2000),
        (2000, 500, 2500, 2500, None),  # short page: the end
        (2000, 1000, 3000, 3000, None),  # offset + got reaches total
        (1000, 1000, 2498, 2500, 998),  # two left: step back by two
        (1000, 0, 0, 1500, 0),  # everything left: back to the start
        (1000, 1000, 2600, 2500, 2000),  # entrants only slide members forward: go on
    ],
)
def test_advance(offset: int, got: int, total: int, previous: int | None, expected: int) -> None:
    assert advance(offset, got, total, previous, 1000) == expected


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=15),
    st.integers(min_value=1, max_value=7),
)
def test_paging_with_removals_never_skips_a_survivor(removals: list[int], size: int) -> None:
    """An offset reader over a listing that loses members between its pages (anywhere, also
    before the offset: the worst case) reads every member that is still there at the end."""
    listing = list(range(40))
    read: set[int] = set()
    offset, previous = 0, None
    for _ in range(1000):
        page = listing[offset : offset + size]
        read.update(page)
        nxt = advance(offset, len(page), len(listing), previous, size)
        if nxt is None:
            break
        previous = len(listing)
        if removals and listing:
            del listing[removals.pop() % len(listing)]
        offset = nxt
    else:
        pytest.fail("the reader did not finish")
    assert set(listing) <= read


def test_recent_is_bounded_and_keeps_the_newest() -> None:
    entries = {f"id{i}": iso(T0 + timedelta(seconds=i)) for i in range(RECENT_LIMIT + 50)}
    entries["old"] = iso(T0 - timedelta(days=1))
    kept = bounded_recent(entries, T0)
    assert len(kept) == RECENT_LIMIT
    assert "old" not in kept
    assert f"id{RECENT_LIMIT + 49}" in kept
