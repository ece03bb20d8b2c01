"""Reading one audience: which round, which listings, which pages, and where to checkpoint.

A *round* reads a fixed sequence of *listings* (GET /lists/{id}/members with filters), each paged
by offset, 1000 at a time, sorted by last_changed, newest first:

- full round:        every member but archived; status=archived; then a catch-up of members
                     changed since the round began (they jumped to the front of the sort while
                     we paged, so the first listing may have missed them).
- incremental round: members changed after the bookmark; archived members changed after it.

Why newest first: a member changed while we page moves to the *front*, so later members slide
forward and are read twice (harmless: upserts replace) instead of sliding back past the offset and
being skipped. Members can still *leave* a listing (archived, deleted); then later members slide
back. That shows as a fall in total_items between two pages, and the reader steps its offset
back by the fall before going on (`advance`). A checkpoint follows every page; its cursor says
where to resume (see cursor.py).

Left to the next incremental round (whose bookmark is at most the round's start minus the lag,
so it reads them): a member changed mid-round and *then* archived while the archived listing was
being read, and a member deleted after it was read (it counts as seen until the next reconcile).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from syncaudit.contract import Change, Checkpoint, RoundStart
from syncaudit.errors import TransientError
from syncaudit_mailchimp.cursor import (
    RECENT_LIMIT,
    Round,
    StreamCursor,
    bounded_recent,
    parse_time,
)
from syncaudit_mailchimp.members import stream_for, to_upsert

log = structlog.get_logger(__name__)

PAGE_SIZE = 1000  # Mailchimp's maximum `count`


@dataclass(frozen=True)
class Listing:
    name: str  # for logs: "members", "archived", "catch-up", "changed", "archived-changed"
    status: str | None  # None: the default listing (every status but archived)
    since: datetime | None  # since_last_changed


FetchPage = Callable[[str, Listing, int], Mapping[str, Any]]


def listings_for(rnd: Round, lag: timedelta) -> list[Listing]:
    if rnd.full:
        return [
            Listing("members", None, None),
            Listing("archived", "archived", None),
            Listing("catch-up", None, rnd.started - lag),
        ]
    return [
        Listing("changed", None, rnd.since),
        Listing("archived-changed", "archived", rnd.since),
    ]


def advance(offset: int, got: int, total: int, previous_total: int | None, size: int) -> int | None:
    """The next offset of a listing, or None when it has been read to the end.

    If total_items fell since the previous page, up to that many members slid back past
    `offset` unread: step back by the fall (re-reading a few is harmless)."""
    if previous_total is not None and total < previous_total:
        return max(0, offset - (previous_total - total))
    if got < size or offset + got >= total:
        return None
    return offset + got


def plan_round(
    cursor: StreamCursor | None, *, full: bool, now: datetime, reconcile_every: timedelta
) -> tuple[Round, bool]:
    """The round to run and whether it starts afresh (-> RoundStart) rather than resumes."""
    if not full and cursor is not None and cursor.round is not None:
        return cursor.round, False
    due = (
        full
        or cursor is None
        or cursor.bookmark is None
        or cursor.reconciled is None
        or now - cursor.reconciled >= reconcile_every
    )
    if due:
        return Round(full=True, started=now), True
    assert cursor is not None
    return Round(full=False, started=now, since=cursor.bookmark), False


class AudienceReader:
    """Yields the Changes of one audience stream."""

    def __init__(
        self,
        list_id: str,
        fetch: FetchPage,
        *,
        lag: timedelta,
        reconcile_every: timedelta,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.list_id = list_id
        self.stream = stream_for(list_id)
        self._fetch = fetch
        self._lag = lag
        self._reconcile_every = reconcile_every
        self._page_size = page_size

    def run(self, cursor: StreamCursor | None, *, full: bool, now: datetime) -> Iterator[Change]:
        rnd, fresh = plan_round(cursor, full=full, now=now, reconcile_every=self._reconcile_every)
        base = replace(cursor, round=None) if cursor is not None else StreamCursor()
        resumed = cursor is not None and rnd is cursor.round
        log.info("mailchimp.round", audience=self.list_id, full=rnd.full, resumed=resumed)
        if fresh:
            yield RoundStart(stream=self.stream)
        yield from self._walk(base, rnd)

    def _next_bookmark(self, rnd: Round) -> datetime:
        floor = rnd.started - self._lag
        if rnd.since is not None and rnd.since > floor:
            return rnd.since  # never move a bookmark backwards
        return floor

    def _walk(self, base: StreamCursor, rnd: Round) -> Iterator[Change]:
        listings = listings_for(rnd, self._lag)
        bookmark = self._next_bookmark(rnd)
        skip = {} if rnd.full else dict(base.recent)
        seen = dict(rnd.recent)
        pages = 0
        while rnd.phase < len(listings):
            listing = listings[rnd.phase]
            page = self._fetch(self.list_id, listing, rnd.offset)
            members = page.get("members") or []
            total = int(page.get("total_items") or 0)
            for member in members:
                member_id, changed = member.get("id"), member.get("last_changed")
                if member_id and changed and skip.get(member_id) == changed:
                    continue  # yielded by the previous round, unchanged since (lag window)
                upsert = to_upsert(self.stream, self.list_id, member)
                if upsert is None:
                    log.warning("mailchimp.member_skipped", audience=self.list_id)
                    continue
                when = parse_time(changed)
                if when is not None and when >= bookmark and len(seen) < RECENT_LIMIT:
                    seen[str(member_id)] = str(changed)
                yield upsert
            log.info(
                "mailchimp.page",
                audience=self.list_id,
                listing=listing.name,
                offset=rnd.offset,
                members=len(members),
                total=total,
            )
            pages += 1
            if pages > 3 * (total // self._page_size + 1) + 10:
                raise TransientError(
                    f"mailchimp audience {self.list_id} kept changing while it was read"
                )
            nxt = advance(rnd.offset, len(members), total, rnd.total, self._page_size)
            if nxt is not None and nxt < rnd.offset + len(members):
                log.info("mailchimp.step_back", audience=self.list_id, listing=listing.name)
            if nxt is None:
                pages = 0
                rnd = replace(rnd, phase=rnd.phase + 1, offset=0, total=None, recent=dict(seen))
            else:
                rnd = replace(rnd, offset=nxt, total=total, recent=dict(seen))
            if rnd.phase < len(listings):
                yield Checkpoint(stream=self.stream, cursor=replace(base, round=rnd).dumps())
        final = StreamCursor(
            bookmark=bookmark,
            reconciled=rnd.started if rnd.full else base.reconciled,
            recent=bounded_recent({**skip, **seen}, bookmark),
        )
        log.info("mailchimp.round_done", audience=self.list_id, full=rnd.full)
        yield Checkpoint(stream=self.stream, cursor=final.dumps(), round_complete=rnd.full)
