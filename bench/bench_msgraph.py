"""Microsoft Graph connector: a full sync of two mailboxes against the simulator, with the real
msgraph-sdk and azure-identity, measured against a bare httpx loop over the same pages.

    python -m bench.bench_msgraph [--contacts 5000] [--events 20000] [--series 40] [--changes 0.01]

Figures: requests made vs the minimum at maximum page size (goal <= 1.02x; recurring series
included: their occurrences come as stubs on the delta pages, and a series must cost no request
of its own); requests to locate, erase and verify a ten-year weekly series; records per second
of the connector vs the bare loop in the same run (goal: sync time <= 1.5x the loop's); the first
sync including the SDK's import; peak memory (tracemalloc during a pull, and the process's peak
RSS); requests for an incremental sync after a fraction of the items changed.

The simulator runs in a child process (like the real service, it is not in the client's
process): in-process, its threads and the client would share one GIL and the comparison would
measure lock convoys rather than the connector. Both the connector and the bare loop talk to the
same child.

`run(...)` returns rows {figure, value, unit, goal, ok}. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import Remote, quiet
from syncaudit.clock import SystemClock
from syncaudit.contract import Change, Checkpoint, ErasureTarget, ItemRemoved, ItemUpsert
from syncaudit.identity import Pseudonymizer, normalize_email
from syncaudit_msgraph._requests import CONTACTS_PAGE, EVENTS_PAGE, LIST_PAGE
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.plugin import PLUGIN

MAILBOXES = ("coach@example.fi", "assistant@example.fi")
Row = dict[str, Any]


def _row(
    figure: str, value: float | int | str, unit: str = "", goal: str = "", ok: bool | None = None
) -> Row:
    return {"figure": figure, "value": value, "unit": unit, "goal": goal, "ok": ok}


def _connector(sim: Remote) -> MsGraphConnector:
    settings = PLUGIN.parse_settings(
        sim.settings(list(MAILBOXES)),
        path="bench",
        env={"SIM_GRAPH_SECRET": sim.attribute("client_secret")},
    )
    return MsGraphConnector(
        "outlook", settings, PLUGIN.default_profile(settings), clock=SystemClock()
    )


def _drain(changes: Iterator[Change], cursors: dict[str, str]) -> int:
    """Consume a pull like the sync runner would (nothing kept but the cursors)."""
    items = 0
    for change in changes:
        if isinstance(change, (ItemUpsert, ItemRemoved)):
            items += 1
        elif isinstance(change, Checkpoint):
            cursors[change.stream] = change.cursor
    return items


def _window() -> tuple[datetime, datetime]:
    """The connector's default calendar window (2190 days back, 365 ahead)."""
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return now - timedelta(days=2190), now + timedelta(days=366)


def _minimum(sim: Remote) -> tuple[int, int]:
    """(full sync, incremental sync with every stream's changes on one page) at max page size.
    The calendar's delta round holds single events, series masters, exceptions and one stub per
    occurrence: its pages are the API's minimum, whatever a client does."""
    full = incremental = 0
    for upn in MAILBOXES:
        stats = sim.stats(upn)
        folders = stats["contacts_per_folder"]  # the default folder first
        discovery = len(folders)  # the top-level list, then childFolders of every child folder
        contact_pages = sum(max(1, math.ceil(n / CONTACTS_PAGE)) for n in folders)
        delta_items = sim.delta_round_size(upn, *_window())
        event_pages = max(1, math.ceil(delta_items / EVENTS_PAGE))
        full += discovery + contact_pages + event_pages
        incremental += discovery + len(folders) + 1
    return full, incremental


def _bare_loop(sim: Remote) -> int:
    """The same pages with plain httpx: folder tree, contact delta per folder, calendar delta."""
    token = sim.issue_token()
    base = sim.attribute("graph_url")
    start, end = _window()
    window = {
        "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    items = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as client:

        def pages(url: str, page: int, params: dict[str, str] | None = None) -> Iterator[Any]:
            prefer = {"Prefer": f"odata.maxpagesize={page}"}
            body = client.get(url, params=params, headers=prefer).json()
            yield body
            while link := body.get("@odata.nextLink"):
                body = client.get(link, headers=prefer).json()
                yield body

        for upn in MAILBOXES:
            user = f"{base}/users/{upn}"
            listing = {"$top": str(LIST_PAGE), "$select": "id,displayName,parentFolderId"}
            level = [f for p in pages(f"{user}/contactFolders", 0, listing) for f in p["value"]]
            folders = ["default"]
            while level:
                folders += [f["id"] for f in level]
                level = [
                    c
                    for f in level
                    for p in pages(f"{user}/contactFolders/{f['id']}/childFolders", 0, listing)
                    for c in p["value"]
                ]
            for folder in folders:
                url = (
                    f"{user}/contacts/delta"
                    if folder == "default"
                    else f"{user}/contactFolders/{folder}/contacts/delta"
                )
                items += sum(len(p["value"]) for p in pages(url, CONTACTS_PAGE))
            calendar = f"{user}/calendarView/delta"
            for page in pages(calendar, EVENTS_PAGE, window):  # occurrence stubs: no record
                items += sum(1 for e in page["value"] if e.get("type") != "occurrence")
    return items


def _change(sim: Remote, fraction: float, seed: int) -> int:
    """Out-of-band edits to `fraction` of the items: half updated, a quarter added or deleted."""
    rng = random.Random(seed)
    total = 0
    for upn in MAILBOXES:
        contacts, events = sim.contact_ids(upn), sim.event_ids(upn)
        n_contacts = max(1, int(len(contacts) * fraction))
        n_events = max(1, int(len(events) * fraction))
        for i, cid in enumerate(rng.sample(contacts, n_contacts)):
            if i % 4 == 0:
                sim.delete_contact(upn, cid, purge=True)
            else:
                sim.update_contact(upn, cid, jobTitle=f"changed {i}")
        for i, eid in enumerate(rng.sample(events, n_events)):
            if i % 4 == 0:
                sim.delete_event(upn, eid, purge=True)
            elif i % 4 == 1:
                sim.add_event(
                    upn, subject=f"New {i}", start=datetime.now(UTC) + timedelta(days=i % 90)
                )
            else:
                sim.update_event(upn, eid, subject=f"Moved {i}")
        total += n_contacts + n_events
    return total


def _erase_one(sim: Remote, connector: MsGraphConnector, name: str, *, series: bool) -> int:
    """Requests for one person's erasure (locate, preview, erase, verify) whose only calendar
    entry is a ten-year weekly series with a renamed session, or a single meeting."""
    upn = MAILBOXES[0]
    first = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    first -= timedelta(weeks=8)
    person = (name, name.lower().replace(" ", ".") + "@example.fi")
    subject = f"Coaching: {name}"
    if series:
        master = sim.add_series(upn, subject=subject, start=first, count=520, attendees=[person])
        sim.modify_occurrence(upn, master, first + timedelta(weeks=9), subject=f"Moved: {name}")
    else:
        sim.add_event(upn, subject=subject, start=first, attendees=[person])
    email = normalize_email(person[1])
    pseudonym = Pseudonymizer(b"bench-key-0123456789abcdef0123").of_normalized(email)
    target = ErasureTarget(email=email, pseudonym=pseudonym, names=(name,))
    sim.clear_log()
    refs = connector.locate(target)
    for ref in refs:
        connector.preview(ref, target)
    for ref in refs:
        connector.erase(ref, target)
    assert connector.verify(target, refs) == [], name
    made = len(sim.graph_requests())
    view = sim.calendar_view(upn, first - timedelta(days=1), first + timedelta(days=3660))
    assert not any(name.lower() in json.dumps(e).lower() for e in view), name
    return made


def run(
    contacts: int = 5000,
    events: int = 20000,
    changes: float = 0.01,
    seed: int = 7,
    series: int = 40,
) -> list[Row]:
    quiet()
    rows: list[Row] = []
    sim = Remote("syncaudit_msgraph.simulator:GraphSimulator")
    try:
        sim.populate(list(MAILBOXES), contacts=contacts, events=events, seed=seed, series=series)
        minimum, _ = _minimum(sim)
        start, end = _window()
        stubs = sum(sim.delta_round_size(u, start, end) for u in MAILBOXES)

        # 1. first sync in this process: includes importing msgraph-sdk and the first token
        connector = _connector(sim)
        cursors: dict[str, str] = {}
        start = time.perf_counter()
        _drain(connector.pull({}), cursors)
        cold = time.perf_counter() - start
        made = len(sim.graph_requests())

        # 2. warm: best of two connector pulls and two bare loops, interleaved
        warm, bare = math.inf, math.inf
        for _ in range(2):
            start = time.perf_counter()
            seen = _drain(connector.pull({}, full=True), {})
            warm = min(warm, time.perf_counter() - start)
            start = time.perf_counter()
            bare_seen = _bare_loop(sim)
            bare = min(bare, time.perf_counter() - start)
        records = bare_seen  # contacts, single events, series masters and exceptions
        assert seen == bare_seen, (seen, bare_seen)
        stubs -= records - contacts  # the calendar's delta items that are occurrence stubs

        # 3. memory of one pull
        tracemalloc.start()
        _drain(connector.pull({}, full=True), {})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        # 4. incremental after `changes` of the items changed out of band
        changed = _change(sim, changes, seed)
        _, minimum_incremental = _minimum(sim)
        token_requests = sim.count("token")
        sim.clear_log()
        start = time.perf_counter()
        delta_items = _drain(connector.pull(cursors), cursors)
        incremental = time.perf_counter() - start
        incremental_requests = len(sim.graph_requests())

        # 5. one erasure of a ten-year weekly series (520 occurrences), next to one of a single
        #    meeting: the same look-ups around it, so the difference is what the series costs
        single_requests = _erase_one(sim, connector, "Single Person", series=False)
        series_requests = _erase_one(sim, connector, "Series Person", series=True)
        connector.close()
    finally:
        sim.close()

    ratio = made / minimum
    slower = warm / bare
    rows += [
        _row(
            "full sync: Graph requests",
            made,
            "req",
            f"<= {1.02 * minimum:.0f} (1.02x)",
            ratio <= 1.02,
        ),
        _row("full sync: minimum at max page size", minimum, "req"),
        _row("full sync: requests / minimum", round(ratio, 3), "x", "<= 1.02", ratio <= 1.02),
        _row("records (contacts + events + series)", records, "rec"),
        _row(f"series ({series}): occurrence stubs on the delta pages", stubs, "items"),
        _row("connector, warm: records per second", round(records / warm), "rec/s"),
        _row("bare httpx loop: records per second", round(records / bare), "rec/s"),
        _row("connector sync time / bare loop", round(slower, 3), "x", "<= 1.5", slower <= 1.5),
        _row("first sync incl. SDK import and token", round(cold, 3), "s"),
        _row("peak traced memory during a pull", round(peak / 2**20, 1), "MiB"),
        _row(
            "peak RSS of the benchmark process",
            round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "MiB",
        ),
        _row(
            f"incremental after {changes:.0%} changed ({changed} items)",
            incremental_requests,
            "req",
            f"minimum {minimum_incremental}",
            incremental_requests <= minimum_incremental,
        ),
        _row("incremental: changes pulled", delta_items, "items"),
        _row("incremental: time", round(incremental, 3), "s"),
        _row("erase a person in one meeting: requests", single_requests, "req"),
        _row(
            "erase a person in a 520-session series: requests",
            series_requests,
            "req",
            f"<= {single_requests + 12} (not per session)",
            series_requests <= single_requests + 12,
        ),
        _row("token requests (whole run)", token_requests, "req"),
    ]
    return rows


def _print(rows: list[Row]) -> None:
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>12}  {'goal':<22} result")
    for r in rows:
        verdict = "" if r["ok"] is None else ("pass" if r["ok"] else "FAIL")
        value = f"{r['value']:,}" if isinstance(r["value"], (int, float)) else r["value"]
        print(f"{r['figure']:<{width}}  {value:>8} {r['unit']:<5} {r['goal']:<22} {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--changes", type=float, default=0.01, help="fraction changed (0.01 = 1%%)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--series", type=int, default=40, help="weekly series (10-52 sessions)")
    args = parser.parse_args(argv)
    _print(run(args.contacts, args.events, args.changes, args.seed, args.series))


if __name__ == "__main__":
    main(sys.argv[1:])
