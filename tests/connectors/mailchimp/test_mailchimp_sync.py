"""Pull: the real mailchimp-marketing client against the simulator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from syncaudit.clock import ManualClock
from syncaudit.contract import Checkpoint, ItemUpsert, RecordKind, RoundStart
from syncaudit.errors import AuthError
from syncaudit_mailchimp.members import LISTING_FIELDS
from syncaudit_mailchimp.simulator import MailchimpSimulator, subscriber_hash

from .helpers import Crash, MiniIndex, drain, make_connector, upserts


def test_full_sync_of_two_audiences_with_overlap_mixed_case_and_archived(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, customers = two_audiences
    conn = make_connector(sim, clock)
    index = MiniIndex()
    changes = index.apply(conn.pull({}))

    assert index.people(f"audience:{news}") == {
        "anna.virtanen@example.fi": "subscribed",
        "bob@example.com": "unsubscribed",
        "cleo@example.com": "cleaned",
        "old.news@example.com": "archived",
    }
    assert index.people(f"audience:{customers}") == {
        "anna.virtanen@example.fi": "subscribed",
        "bob@example.com": "pending",
        "tero@example.com": "transactional",
        "old.cust@example.com": "archived",
    }
    # Each stream: RoundStart first, a completed round last.
    for stream in (f"audience:{news}", f"audience:{customers}"):
        mine = [c for c in changes if c.stream == stream]
        assert isinstance(mine[0], RoundStart)
        assert isinstance(mine[-1], Checkpoint) and mine[-1].round_complete
    anna = index.records[(f"audience:{news}", subscriber_hash("anna.virtanen@example.fi"))]
    obs = anna.observations[0]
    assert obs.kind is RecordKind.AUDIENCE_MEMBER
    assert obs.email == "Anna.Virtanen@Example.FI"  # raw: the core normalises
    assert obs.name == "Anna Virtanen"
    assert obs.details == {"status": "subscribed"}
    assert obs.when is not None
    assert anna.locator == {"list_id": news}


def test_listing_asks_only_for_index_fields_as_a_list_at_1000(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    drain(make_connector(sim, clock).pull({}))
    listings = [e for e in sim.requests if e.path.endswith("/members")]
    assert listings
    for entry in listings:
        assert entry.query["fields"] == [",".join(LISTING_FIELDS)]  # not split into letters
        assert entry.query["count"] == ["1000"]
    assert {e.query.get("status", [""])[0] for e in listings} == {"", "archived"}


def test_name_falls_back_to_merge_fields(sim: MailchimpSimulator, clock: ManualClock) -> None:
    news = sim.add_audience("Newsletter")
    sim.add_member(news, "only.last@example.com", lname="Lastname")
    sim.add_member(news, "nobody@example.com")
    found = {
        u.observations[0].email: u.observations[0].name
        for u in upserts(make_connector(sim, clock).pull({}))
    }
    assert found == {"only.last@example.com": "Lastname", "nobody@example.com": None}


def test_checkpoint_after_every_page_with_resumable_cursor(
    sim: MailchimpSimulator, clock: ManualClock
) -> None:
    news = sim.add_audience("Newsletter")
    for i in range(5):
        sim.add_member(news, f"p{i}@example.com")
    clock.advance(timedelta(hours=1))  # outside the lag window: the catch-up finds nobody
    changes = drain(make_connector(sim, clock, page_size=2).pull({}))
    kinds = [type(c).__name__ for c in changes]
    # 3 pages (2+2+1) of the members listing, 1 archived page, 1 catch-up page
    assert kinds.count("Checkpoint") == 5
    middle = json.loads(next(c for c in changes if isinstance(c, Checkpoint)).cursor)
    assert middle["round"]["phase"] == 0
    assert middle["round"]["offset"] == 2


def test_incremental_sync_after_out_of_band_changes(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, customers = two_audiences
    conn = make_connector(sim, clock)
    index = MiniIndex()
    index.apply(conn.pull({}))
    clock.advance(timedelta(hours=6))
    sim.update_member(news, "cleo@example.com", fname="Cleopatra")
    sim.archive_member(customers, "anna.virtanen@example.fi")
    sim.add_member(customers, "new.person@example.com", fname="Uusi")
    clock.advance(timedelta(hours=1))
    sim.clear_log()

    changes = index.apply(conn.pull(index.cursors))

    assert not [c for c in changes if isinstance(c, RoundStart)]
    changed = {
        (u.stream, u.observations[0].email, u.observations[0].role) for u in upserts(changes)
    }
    assert changed == {
        (f"audience:{news}", "cleo@example.com", "cleaned"),
        (f"audience:{customers}", "anna.virtanen@example.fi", "archived"),
        (f"audience:{customers}", "new.person@example.com", "subscribed"),
    }
    assert index.people(f"audience:{customers}")["anna.virtanen@example.fi"] == "archived"
    # the minimum: /lists, then changed + archived-changed per audience
    assert len(sim.requests) == 5
    assert all("since_last_changed" in e.query for e in sim.requests if "members" in e.path)


def test_incremental_repeats_nothing_and_never_bookmarks_past_the_sync_start(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock, lag_seconds=60)
    index = MiniIndex()
    index.apply(conn.pull({}))
    cursor = json.loads(next(iter(index.cursors.values())))
    assert cursor["bookmark"] == "2026-03-02T08:59:00+00:00"  # sync start - lag
    # Same instant: everything is inside the lag window, de-duplicated at the boundary.
    assert upserts(conn.pull(index.cursors)) == []


def test_reconcile_notices_a_permanent_delete_done_outside(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, _ = two_audiences
    conn = make_connector(sim, clock, reconcile_days=7)
    index = MiniIndex()
    index.apply(conn.pull({}))
    clock.advance(timedelta(days=1))
    sim.delete_permanent(news, "bob@example.com")  # e.g. in the Mailchimp web app

    index.apply(conn.pull(index.cursors))  # incremental: a hard delete is invisible
    assert "bob@example.com" in index.people(f"audience:{news}")

    clock.advance(timedelta(days=6))
    changes = index.apply(conn.pull(index.cursors))  # reconcile due
    assert any(isinstance(c, RoundStart) for c in changes)
    assert "bob@example.com" not in index.people(f"audience:{news}")
    assert (f"audience:{news}", subscriber_hash("bob@example.com")) in index.removed
    assert "bob@example.com" in index.people()  # still in the other audience


def test_full_flag_forces_a_round(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock)
    index = MiniIndex()
    index.apply(conn.pull({}))
    changes = drain(conn.pull(index.cursors, full=True))
    assert sum(isinstance(c, RoundStart) for c in changes) == 2


def test_crash_mid_round_resumes_without_loss_or_rereading(
    sim: MailchimpSimulator, clock: ManualClock
) -> None:
    news = sim.add_audience("Newsletter")
    for i in range(9):
        sim.add_member(news, f"p{i}@example.com")
    sim.add_member(news, "gone@example.com")  # the newest: first in the sort
    stream = f"audience:{news}"
    index = MiniIndex()
    index.records[(stream, "stale")] = ItemUpsert(
        stream=stream, external_id="stale", observations=()
    )
    with pytest.raises(Crash):
        index.apply(make_connector(sim, clock, page_size=3).pull({}), crash_after=2)
    assert len(sim.requests) == 3  # /lists + two pages
    sim.delete_permanent(news, "p0@example.com")  # out of band, while we were down; not read yet
    sim.clear_log()

    changes = index.apply(make_connector(sim, clock, page_size=3).pull(index.cursors))

    assert not any(isinstance(c, RoundStart) for c in changes)  # resumed, not restarted
    assert set(index.people()) == {f"p{i}@example.com" for i in range(1, 9)} | {"gone@example.com"}
    assert (stream, "stale") in index.removed  # the resumed round still completes
    offsets = [e.query["offset"][0] for e in sim.requests if e.path.endswith("/members")]
    # Resumed at the checkpointed offset (pages 1-2 not re-read); total_items had fallen by
    # one, so the reader stepped back by one before going on.
    assert offsets[:3] == ["6", "5", "8"]


def test_member_leaving_the_listing_mid_round_makes_the_reader_step_back(
    sim: MailchimpSimulator, clock: ManualClock
) -> None:
    news = sim.add_audience("Newsletter")
    for i in range(7):
        sim.add_member(news, f"p{i}@example.com")
        clock.advance(1)
    clock.advance(timedelta(hours=1))
    seen: set[str] = set()
    left = False
    for change in make_connector(sim, clock, page_size=3, lag_seconds=0).pull({}):
        if isinstance(change, ItemUpsert):
            seen.add(change.observations[0].email or "")
        if isinstance(change, Checkpoint) and not left:
            # Page 1 held p6, p5, p4 (newest first); two of them now leave the listing, so
            # p3 and p2 slide back past offset 3.
            left = True
            sim.delete_permanent(news, "p6@example.com")
            sim.archive_member(news, "p5@example.com")
    assert seen == {f"p{i}@example.com" for i in range(7)}
    offsets = [e.query["offset"][0] for e in sim.requests if e.path.endswith("/members")]
    assert offsets[:4] == ["0", "3", "1", "4"]


def test_member_changed_mid_round_is_seen_by_the_catch_up(
    sim: MailchimpSimulator, clock: ManualClock
) -> None:
    news = sim.add_audience("Newsletter")
    for i in range(6):
        sim.add_member(news, f"p{i}@example.com")
        clock.advance(1)
    clock.advance(timedelta(hours=1))
    stream, p0 = f"audience:{news}", subscriber_hash("p0@example.com")
    index = MiniIndex()
    index.records[(stream, p0)] = ItemUpsert(stream=stream, external_id=p0, observations=())
    changes = []
    touched = False
    for change in make_connector(sim, clock, page_size=3, lag_seconds=0).pull({}):
        changes.append(change)
        if isinstance(change, Checkpoint) and not touched:
            touched = True  # p0 (oldest, not read yet) jumps to the front of the sort
            clock.advance(5)
            sim.update_member(news, "p0@example.com", fname="Changed")
    index.apply(changes)
    assert index.people()["p0@example.com"] == "subscribed"
    assert (stream, p0) not in index.removed
    catch_up = [e for e in sim.requests if "since_last_changed" in e.query]
    assert len(catch_up) == 1


def test_429_and_empty_body_503_are_survived(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    sim.inject(status=429, retry_after=7, path_contains="/members")
    sim.inject(status=503, empty_body=True, path_contains="/members")
    sim.inject(status=403, empty_body=True, path_contains="/lists")
    before = clock.now()
    index = MiniIndex()
    index.apply(make_connector(sim, clock).pull({}))
    assert len(index.people()) == 6
    assert [e.status for e in sim.requests if e.fault] == [403, 429, 503]
    assert clock.now() - before >= timedelta(seconds=7)  # Retry-After honoured


def test_wrong_api_key_is_an_auth_error(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock, api_key="wrong-us6")
    with pytest.raises(AuthError) as err:
        drain(conn.pull({}))
    assert "401" in str(err.value)
    assert sim.count() == 1  # not retried


def test_missing_configured_audience_is_a_stream_problem(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, _ = two_audiences
    conn = make_connector(sim, clock, audiences=("nosuchlist", news))
    index = MiniIndex()
    index.apply(conn.pull({}))
    assert [p.stream for p in index.problems] == ["audience:nosuchlist"]
    assert index.streams() == {f"audience:{news}"}


def test_no_personal_data_in_log_events(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    sim.inject(status=429, path_contains="/members")
    with capture_logs() as logs:
        drain(make_connector(sim, clock).pull({}))
    text = repr(logs).lower()
    assert logs
    for needle in ("anna", "virtanen", "example.com", "example.fi", sim.api_key):
        assert needle not in text
    assert {entry["event"] for entry in logs} >= {"mailchimp.page", "mailchimp.round"}


def test_check_reports_what_it_reached(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    assert "2 audience(s)" in make_connector(sim, clock).check()
    with pytest.raises(Exception, match="does not exist"):
        make_connector(sim, clock, audiences=("nosuchlist",)).check()
