"""Reading the ledger: which round, which listings, which pages, and where to checkpoint.

One stream, `ledger`, holds sales invoices and business partners, so one cursor keeps them
consistent (a partner's legal hold comes from its invoices). A *round* reads its *listings* in
order, each paged `size=200` (the documented maximum), `page` from 0, `orderById=ASC`:

    GET /invoices?types=SALES_INVOICE                      then GET /invoices/{id,...}
    GET /businesspartners?type=T&active=true|false          then GET /businesspartners/{id,...}
    (for every T in partner_types; `active` defaults to true, so inactive ones are asked apart)

and then re-reads the partners whose latest sales invoice changed in this round but which no
listing brought (their legal hold grew). The ids of a page are fetched in one request (at most
200 ids, the documented maximum). A checkpoint follows every page.

- full round (first pull, every `reconcile_days`, or `--full`): no filter; it ends with
  `round_complete`, so records no longer in Procountor are marked removed.
- incremental round: `versionStartDate` = the bookmark (see cursor.py); a listed record whose
  `version` equals the one yielded last time is skipped without being fetched (boundary
  de-duplication of the lag window).

Why ascending ids: a record changed while we page keeps its place, and new records come last.
A record that *leaves* a listing (a deleted draft) makes later ones slide back; that shows as a
fall in `totalCount` between two pages, and the reader steps back by as many pages before going
on (`advance`). Changes made behind the reader's position are read by the next incremental
round, whose bookmark is at most this round's start minus the lag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from syncaudit.ahead import ReadAhead
from syncaudit.contract import Change, Checkpoint, ItemUpsert, RoundStart
from syncaudit.errors import TransientError
from syncaudit_procountor.cursor import (
    ZONE_SLACK,
    LedgerCursor,
    Round,
    api_time,
    bounded_recent,
)
from syncaudit_procountor.records import (
    INVOICE,
    PARTNER,
    STREAM,
    Hold,
    Scrubbed,
    invoice_day,
    invoice_upsert,
    key_of,
    partner_upsert,
)

log = structlog.get_logger(__name__)

PAGE_SIZE = 200  # documented maximum `size` of GET /invoices and GET /businesspartners
BATCH = 200  # documented maximum of ids in GET /invoices/{ids} and /businesspartners/{ids}


@dataclass(frozen=True)
class Listing:
    name: str  # for logs
    kind: str  # INVOICE or PARTNER
    path: str
    params: Mapping[str, str]


ListPage = Callable[[Listing, int, datetime | None], Mapping[str, Any]]
Details = Callable[[str, Sequence[str]], list[Mapping[str, Any]]]


def listings_for(partner_types: Sequence[str]) -> list[Listing]:
    found = [Listing("invoices", INVOICE, "/invoices", {"types": "SALES_INVOICE"})]
    for kind in partner_types:
        for active in ("true", "false"):
            name = f"partners {kind.lower()} {'active' if active == 'true' else 'inactive'}"
            found.append(
                Listing(name, PARTNER, "/businesspartners", {"type": kind, "active": active})
            )
    return found


def advance(page: int, got: int, total: int, previous_total: int | None, size: int) -> int | None:
    """The next page of a listing, or None when it has been read to the end.

    If totalCount fell since the previous page, records before our position left the listing
    and up to that many slid back past the page boundary unread: step back (re-reading a few
    is harmless: upserts replace)."""
    if previous_total is not None and total < previous_total:
        fall = previous_total - total
        return max(0, page - -(-fall // size))
    if got < size or (page + 1) * size >= total:
        return None
    return page + 1


def plan_round(
    cursor: LedgerCursor | None, *, full: bool, now: datetime, reconcile_every: timedelta
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
    return Round(full=False, started=now, since=cursor.bookmark, latest=dict(cursor.latest)), False


class LedgerReader:
    """Yields the Changes of the ledger stream."""

    def __init__(
        self,
        list_page: ListPage,
        details: Details,
        *,
        partner_types: Sequence[str],
        hold: Hold,
        lag: timedelta,
        reconcile_every: timedelta,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._list_page = list_page
        self._details = details
        self._listings = listings_for(partner_types)
        self._types = frozenset(partner_types)
        self._hold = hold
        self._lag = lag
        self._reconcile_every = reconcile_every
        self._page_size = page_size
        self.counts = Scrubbed()

    def run(self, cursor: LedgerCursor | None, *, full: bool, now: datetime) -> Iterator[Change]:
        rnd, fresh = plan_round(cursor, full=full, now=now, reconcile_every=self._reconcile_every)
        base = replace(cursor, round=None, latest={}) if cursor is not None else LedgerCursor()
        resumed = cursor is not None and rnd is cursor.round
        log.info("procountor.round", full=rnd.full, resumed=resumed, phase=rnd.phase)
        if fresh:
            yield RoundStart(stream=STREAM)
        yield from self._walk(base, rnd)

    def _next_bookmark(self, rnd: Round) -> datetime:
        floor = rnd.started - self._lag
        if rnd.since is not None and rnd.since > floor:
            return rnd.since  # never move a bookmark backwards
        return floor

    def _walk(self, base: LedgerCursor, rnd: Round) -> Iterator[Change]:
        bookmark = self._next_bookmark(rnd)
        skip = {} if rnd.full else dict(base.recent)
        work = _Work(dict(rnd.seen), dict(rnd.latest), set(rnd.stale), bookmark, full=rnd.full)
        pages = 0
        # A listing's pages are read ahead (`_Pages`) while the current one is handed on (and
        # written by the core), so Procountor's time and ours overlap.
        source: _Pages | None = None
        try:
            while rnd.phase <= len(self._listings):
                if rnd.phase == len(self._listings):
                    yield from self._refresh(work)
                    if not work.stale:
                        rnd = replace(rnd, phase=rnd.phase + 1, page=0, total=None)
                else:
                    listing = self._listings[rnd.phase]
                    if source is None:
                        source = _Pages(self, listing, rnd, skip)
                    fetched = source.next()
                    pages += 1
                    if pages > 3 * (fetched.total // self._page_size + 1) + 10:
                        raise TransientError(f"procountor {listing.name} kept changing while read")
                    nxt = advance(rnd.page, fetched.rows, fetched.total, rnd.total, self._page_size)
                    if nxt is None:
                        pages = 0
                        source.close()
                        source = None
                        rnd = replace(rnd, phase=rnd.phase + 1, page=0, total=None)
                    else:
                        rnd = replace(rnd, page=nxt, total=fetched.total)
                    yield from self._page(listing, fetched, work)
                    log.info(
                        "procountor.page",
                        listing=listing.name,
                        page=fetched.page,
                        results=fetched.rows,
                        total=fetched.total,
                    )
                # The round only carries work's state into the checkpoint text, dumped at once.
                rnd = replace(rnd, seen=work.seen, latest=work.latest, stale=work.stale_ids)
                if rnd.phase <= len(self._listings):
                    yield Checkpoint(stream=STREAM, cursor=replace(base, round=rnd).dumps())
        finally:
            if source is not None:
                source.close()
        final = LedgerCursor(
            bookmark=bookmark,
            reconciled=rnd.started if rnd.full else base.reconciled,
            recent=bounded_recent({**skip, **work.seen}, bookmark),
            latest=work.latest,
        )
        log.info(
            "procountor.round_done",
            full=rnd.full,
            identity_codes_removed=self.counts.hetus,
            records_without_email=self.counts.no_email,
        )
        yield Checkpoint(stream=STREAM, cursor=final.dumps(), round_complete=rnd.full)

    def _list(
        self, listing: Listing, page: int, since: datetime | None, skip: Mapping[str, str]
    ) -> _Listed:
        """One page of a listing: its ids minus those unchanged since the previous round
        (boundary de-duplication)."""
        body = self._list_page(listing, page, since)
        rows = [r for r in body.get("results") or [] if isinstance(r, Mapping)]
        versions: dict[str, str] = {}
        for row in rows:
            record_id, version = row.get("id"), str(row.get("version") or "")
            if record_id is None:
                continue
            if version and skip.get(key_of(listing.kind, record_id)) == version:
                continue  # yielded by the previous round, unchanged since (lag window)
            versions[str(record_id)] = version
        total = int((body.get("meta") or {}).get("totalCount") or 0)
        return _Listed(page=page, rows=len(rows), total=total, versions=versions)

    def _records(self, listing: Listing, listed: _Listed) -> _Fetched:
        versions = listed.versions
        records = self._details(listing.kind, list(versions)) if versions else []
        return _Fetched(
            page=listed.page,
            rows=listed.rows,
            total=listed.total,
            versions=versions,
            records=records,
        )

    def _page(self, listing: Listing, fetched: _Fetched, work: _Work) -> Iterator[ItemUpsert]:
        for record in fetched.records:
            record_id = str(record.get("id"))
            upsert = self._upsert(listing.kind, record, work)
            work.note(key_of(listing.kind, record_id), fetched.versions.get(record_id))
            if upsert is not None:
                yield upsert

    def _upsert(self, kind: str, record: Mapping[str, Any], work: _Work) -> ItemUpsert | None:
        if kind == INVOICE:
            issued = invoice_day(record)
            work.invoice(record, issued)
            return invoice_upsert(record, self._hold, self.counts, issued=issued)
        partner_id = str(record.get("id"))
        work.stale.discard(partner_id)
        return partner_upsert(record, work.latest.get(partner_id), self._hold, self.counts)

    def _refresh(self, work: _Work) -> Iterator[ItemUpsert]:
        """One batch of the partners whose hold grew in this round but which no listing
        brought: re-read, so their records carry the longer hold."""
        batch = sorted(work.stale, key=_numeric)[:BATCH]
        if not batch:
            return
        for record in self._details(PARTNER, batch):
            if str(record.get("type") or "") in self._types:
                upsert = self._upsert(PARTNER, record, work)
                if upsert is not None:
                    yield upsert
        work.stale.difference_update(batch)
        log.info("procountor.partners_refreshed", partners=len(batch))


@dataclass(frozen=True)
class _Listed:
    page: int
    rows: int  # results on the page, skipped ones included (for paging)
    total: int  # totalCount
    versions: Mapping[str, str]  # id -> listed version, of the records to fetch


class _Pages:
    """The pages of one listing, read ahead: one thread lists page after page (the next page
    by `advance`, as `_walk` computes it) and hands each page's ids to a second one, which
    fetches their records; so a listing request and a records request overlap, and both
    overlap the caller's work. At most `DEPTH` pages wait (flat memory); the pace still
    counts every request. `close` stops both (a request under way is finished, not used)."""

    DEPTH = 2

    def __init__(
        self, reader: LedgerReader, listing: Listing, rnd: Round, skip: Mapping[str, str]
    ) -> None:
        self._reader = reader
        self._listing = listing
        self._records = ThreadPoolExecutor(max_workers=1, thread_name_prefix="procountor-read")
        listed = self._listed(rnd.page, rnd.total, rnd.since, skip)
        self._ahead = ReadAhead(listed, depth=self.DEPTH, name="procountor-list").start()
        self._pages = iter(self._ahead)

    def _listed(
        self, page: int, total: int | None, since: datetime | None, skip: Mapping[str, str]
    ) -> Iterator[Future[_Fetched]]:
        reader, listing = self._reader, self._listing
        at: int | None = page
        while at is not None:
            listed = reader._list(listing, at, since, skip)
            yield self._records.submit(reader._records, listing, listed)
            at = advance(at, listed.rows, listed.total, total, reader._page_size)
            total = listed.total

    def next(self) -> _Fetched:
        fetched = next(self._pages, None)
        if fetched is None:  # cannot happen: both sides page by `advance`
            raise TransientError(f"procountor {self._listing.name}: the listing ended early")
        return fetched.result()

    def close(self) -> None:
        self._ahead.close()
        self._records.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _Fetched:
    page: int
    rows: int  # results on the page, skipped ones included (for paging)
    total: int  # totalCount
    versions: Mapping[str, str]  # id -> listed version, of the records fetched
    records: list[Mapping[str, Any]]


class _Work:
    """What a round has learnt so far; copied into the cursor at every checkpoint."""

    def __init__(
        self,
        seen: dict[str, str],
        latest: dict[str, str],
        stale: set[str],
        bookmark: datetime,
        *,
        full: bool,
    ) -> None:
        self.seen = seen
        self.latest = latest
        self.stale = stale
        self._full = full  # a full round lists every partner after the invoices: none is stale
        self._floor = api_time(bookmark - ZONE_SLACK)

    @property
    def stale_ids(self) -> tuple[str, ...]:
        return tuple(self.stale)  # order does not matter; refresh sorts its batches

    def note(self, key: str, version: str | None) -> None:
        """Remember a yielded record's version for de-duplication, if it is recent. Versions
        are zone-less ISO times, so their first 19 characters compare as text."""
        if version and version[:19] >= self._floor:
            self.seen[key] = version

    def invoice(self, invoice: Mapping[str, Any], issued: date | None) -> None:
        partner = invoice.get("partnerId")
        if partner is None or issued is None:
            return
        pid = str(partner)
        day = issued.isoformat()
        if self.latest.get(pid, "") < day:
            self.latest[pid] = day
            if not self._full:
                self.stale.add(pid)


def _numeric(text: str) -> tuple[int, str]:
    return (int(text), text) if text.isdigit() else (0, text)
