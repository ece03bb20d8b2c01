"""The ledger cursor's written rules: bookmarks, boundary de-duplication, rounds, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncaudit_procountor.cursor import (
    RECENT_LIMIT,
    LedgerCursor,
    Round,
    api_time,
    bounded_recent,
    parse_time,
)
from syncaudit_procountor.pull import advance, listings_for, plan_round

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_a_cursor_survives_its_json_and_junk_means_a_full_round() -> None:
    rnd = Round(
        full=False,
        started=T,
        since=T - WEEK,
        phase=2,
        page=3,
        total=401,
        seen={"i:1": "2026-03-02T08:59:00"},
        latest={"7": "2025-01-01"},
        stale=("7",),
    )
    cursor = LedgerCursor(bookmark=T, reconciled=T - WEEK, recent={"p:7": "2026-03-01T10:00:00"},
                          latest={"7": "2024-12-31"}, round=rnd)  # fmt: skip
    assert LedgerCursor.loads(cursor.dumps()) == cursor
    for junk in ("", "{", "[]", '{"v": 99}', '{"v": 1, "round": {"full": true}}'):
        assert LedgerCursor.loads(junk) is None


def test_times_sent_are_zone_less_utc_and_versions_are_read_as_utc() -> None:
    helsinki = datetime(2026, 3, 2, 11, 0, 30, 999, tzinfo=UTC).astimezone()
    assert api_time(helsinki) == "2026-03-02T11:00:30"
    assert parse_time("2017-09-27T12:12:42") == datetime(2017, 9, 27, 12, 12, 42, tzinfo=UTC)
    assert parse_time("junk") is None and parse_time(None) is None


def test_plan_round_full_when_due_and_resumes_an_open_round() -> None:
    assert plan_round(None, full=False, now=T, reconcile_every=WEEK)[0].full
    fresh = LedgerCursor(bookmark=T - timedelta(hours=1), reconciled=T - timedelta(days=1),
                         latest={"7": "2025-01-01"})  # fmt: skip
    rnd, new = plan_round(fresh, full=False, now=T, reconcile_every=WEEK)
    assert (rnd.full, rnd.since, rnd.latest, new) == (False, fresh.bookmark, fresh.latest, False)
    stale = LedgerCursor(bookmark=T, reconciled=T - WEEK)
    assert plan_round(stale, full=False, now=T, reconcile_every=WEEK)[0].full
    open_round = Round(full=True, started=T - timedelta(hours=2), page=5)
    resumed = LedgerCursor(bookmark=T, reconciled=T, round=open_round)
    assert plan_round(resumed, full=False, now=T, reconcile_every=WEEK) == (open_round, False)
    assert plan_round(resumed, full=True, now=T, reconcile_every=WEEK)[0].page == 0


@pytest.mark.parametrize(
    ("page", "got", "total", "previous", "expected"),
    [
        (0, 200, 450, None, 1),
        (2, 50, 450, 450, None),  # a short page ends the listing
        (1, 200, 400, 400, None),  # (page + 1) * size reached the total
        (3, 200, 1000, 1002, 2),  # two left before us: one page back
        (3, 200, 1000, 1201, 1),  # 201 left: two pages back
        (0, 200, 900, 1000, 0),
        (4, 200, 1200, 1000, 5),  # records were added: go on
    ],
)
def test_advance(
    page: int, got: int, total: int, previous: int | None, expected: int | None
) -> None:
    assert advance(page, got, total, previous, 200) == expected


def test_recent_entries_are_bounded_by_time_and_count() -> None:
    floor = T - timedelta(minutes=10)
    entries = {"i:1": "2026-03-01T19:00:00", "i:2": "2026-03-01T10:00:00", "i:3": "junk"}
    assert bounded_recent(entries, floor) == {"i:1": "2026-03-01T19:00:00"}
    many = {f"i:{n}": api_time(T + timedelta(seconds=n)) for n in range(RECENT_LIMIT + 10)}
    kept = bounded_recent(many, floor)
    assert len(kept) == RECENT_LIMIT and "i:0" not in kept


def test_listings_read_inactive_partners_too() -> None:
    names = [(x.path, dict(x.params)) for x in listings_for(["CUSTOMER"])]
    assert names == [
        ("/invoices", {"types": "SALES_INVOICE"}),
        ("/businesspartners", {"type": "CUSTOMER", "active": "true"}),
        ("/businesspartners", {"type": "CUSTOMER", "active": "false"}),
    ]
