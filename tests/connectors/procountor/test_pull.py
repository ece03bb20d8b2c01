"""Pulling the ledger: pages of the maximum size, increments that ask only for changes, tokens
that expire mid-pull, throttling, rounds resumed after a crash, and partners' holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import Checkpoint, RecordKind, RoundStart
from syncaudit_procountor.simulator import ProcountorSimulator

from .conftest import MakeConnector
from .helpers import cursors_of, details, ids_asked, lists, minimum_requests, upserts


def _sizes(sim: ProcountorSimulator) -> list[int]:
    """Records per listing, in the connector's order (invoices, then partner listings)."""
    invoices = [sim.invoice(i) for i in sim.invoice_ids()]
    partners = [sim.partner(i) for i in sim.partner_ids()]
    sizes = [sum(1 for i in invoices if i and i["type"] == "SALES_INVOICE")]
    for kind in ("CUSTOMER", "PERSON"):
        for active in (True, False):
            sizes.append(
                sum(
                    1
                    for p in partners
                    if p and p["type"] == kind and p["registryInfo"]["active"] is active
                )
            )
    return sizes


def test_a_full_pull_asks_at_most_2_percent_above_the_minimum(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    sim.populate(2000, partners=450)
    conn = make_connector()
    changes = list(conn.pull({}))
    minimum = minimum_requests(_sizes(sim))
    assert conn.requests_made == len(sim.requests)
    assert conn.requests_made <= 1.02 * minimum, (conn.requests_made, minimum)
    assert {e.param("size") for e in lists(sim)} == {"200"}
    assert all(len(e.path.rsplit("/", 1)[1].split(",")) <= 200 for e in details(sim))
    assert isinstance(changes[0], RoundStart)
    last = changes[-1]
    assert isinstance(last, Checkpoint) and last.round_complete
    found = upserts(changes)
    with_email = [
        i for i in sim.invoice_ids() if (sim.invoice(i) or {})["counterParty"].get("email")
    ]
    assert {f"invoice:{i}" for i in with_email} <= set(found)
    assert sum(1 for k in found if k.startswith("partner:")) == len(sim.partner_ids())


def test_an_incremental_pull_after_1_percent_changes_asks_only_for_changes(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    sim.populate(2000, partners=300)
    clock.advance(timedelta(days=1))
    conn = make_connector()
    cursors = cursors_of(conn.pull({}))
    clock.advance(timedelta(hours=2))
    changed = sim.change_random(0.01)
    sim.clear_log()

    changes = list(conn.pull(cursors))

    assert not any(isinstance(c, RoundStart) for c in changes)
    assert all(e.param("versionStartDate") for e in lists(sim))
    assert sorted(ids_asked(sim)) == changed
    assert len(lists(sim)) == 5  # one page per listing: only the changes are listed
    parties = {i: (sim.invoice(i) or {})["counterParty"] for i in changed}
    addressed = [i for i, p in parties.items() if p.get("email") or p.get("bccAddresses")]
    assert set(upserts(changes)) == {f"invoice:{i}" for i in addressed}  # no address, no record
    assert len(sim.requests) == 1 + 5 + 1  # a new token (the old one aged), lists, one batch


def test_the_lag_window_is_deduplicated_at_the_boundary(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    sim.populate(50, partners=10)
    clock.advance(timedelta(days=1))
    late = sim.invoice_ids()[3]
    sim.touch_invoice(late)  # changed just before the full pull: inside its lag window
    clock.advance(60)
    conn = make_connector()
    cursors = cursors_of(conn.pull({}))
    clock.advance(timedelta(minutes=30))
    sim.clear_log()
    changes = list(conn.pull(cursors))
    listed = [e for e in lists(sim) if e.path == "/api/invoices"]
    assert listed and listed[0].param("versionStartDate") == "2026-03-03T08:51:00"
    assert late not in ids_asked(sim), "re-listed by the lag window, skipped unchanged"
    assert not upserts(changes)


def test_a_token_that_expires_mid_pull_is_renewed(
    sim: ProcountorSimulator, make_connector: MakeConnector
) -> None:
    sim.populate(900, partners=100)
    conn = make_connector()
    seen = []
    for change in conn.pull({}):
        seen.append(change)
        if isinstance(change, Checkpoint) and len(seen) < 300:
            sim.expire_tokens()  # revoked under us: the next request answers 401
    assert isinstance(seen[-1], Checkpoint) and seen[-1].round_complete
    # Two requests may be in flight when the token dies (a listing and a records batch): both
    # answer 401, and the token is still renewed once.
    assert 1 <= sim.count(status=401) <= 2
    assert sim.count(path_prefix="/api/oauth/token") == 2
    assert len(upserts(seen)) > 800


def test_a_token_near_its_end_is_renewed_before_it_expires(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    sim.populate(600, partners=50)
    conn = make_connector()
    transport = conn._transport
    bearer = transport._bearer

    def slowly() -> str:
        clock.advance(400)  # a slow pull: each request comes 400 s after the last
        return bearer()

    transport._bearer = slowly  # type: ignore[method-assign]
    changes = list(conn.pull({}))
    assert isinstance(changes[-1], Checkpoint) and changes[-1].round_complete
    assert sim.count(status=401) == 0
    assert sim.count(path_prefix="/api/oauth/token") >= 2


def test_429s_are_survived_honouring_retry_after(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    sim.populate(400, partners=40)
    sim.inject(status=429, retry_after=7, count=3, path_contains="/api/invoices/")
    sim.inject(status=503, count=1, path_contains="/api/businesspartners")
    conn = make_connector()
    start = clock.now()
    changes = list(conn.pull({}))
    assert (clock.now() - start).total_seconds() >= 21
    assert sim.count(status=429) == 3 and sim.count(status=503) == 1
    assert isinstance(changes[-1], Checkpoint) and changes[-1].round_complete
    assert len([k for k in upserts(changes) if k.startswith("invoice:")]) > 350


# Below the limit, not at it: the reader has two requests in flight, and a request's arrival
# may trail its place in the pace by up to one interval (on this clock, the other thread's
# wait moves the time), so a pace exactly at a strict rolling-window limit can touch it.
@pytest.mark.parametrize(("ours", "expect_429"), [(4, False), (20, True)])
def test_the_pace_keeps_under_the_rate_limit(
    clock: ManualClock, ours: int, expect_429: bool
) -> None:
    from syncaudit_procountor.connector import ProcountorConnector
    from syncaudit_procountor.plugin import PLUGIN

    from .conftest import POLICY, env_for, system_table

    with ProcountorSimulator(clock=clock.now, max_requests_per_second=5) as sim:
        sim.populate(1000, partners=100)
        table = system_table(sim, max_requests_per_second=ours)
        settings = PLUGIN.parse_settings(table, path="s", env=env_for(sim))
        conn = ProcountorConnector(
            "procountor", settings, PLUGIN.default_profile(settings), clock=clock, policy=POLICY
        )
        changes = list(conn.pull({}))
        conn.close()
    assert isinstance(changes[-1], Checkpoint) and changes[-1].round_complete
    assert (sim.count(status=429) > 0) is expect_429


def test_records_leaving_a_listing_mid_round_make_the_reader_step_back(
    sim: ProcountorSimulator, make_connector: MakeConnector
) -> None:
    ids = [
        sim.add_invoice(email=f"p{n}@x.example", name=f"P {n}", day=date(2025, 3, 1))
        for n in range(10)
    ]

    def delete_drafts(method: str, path: str, query: Mapping[str, str]) -> None:
        if path == "/api/invoices" and query.get("page") == "1":  # page 0 (ids 0-2) was read
            sim.on_request = None
            sim.delete_invoice(ids[0])  # two of them are deleted as drafts
            sim.delete_invoice(ids[1])

    sim.on_request = delete_drafts
    seen = set(upserts(make_connector(page_size=3).pull({})))
    assert {f"invoice:{i}" for i in ids[2:]} <= seen
    pages = [e.param("page") for e in lists(sim) if e.path == "/api/invoices"]
    assert pages[:3] == ["0", "1", "0"]  # totalCount fell by 2: one page back


def test_a_crash_mid_round_resumes_where_it_stopped(
    sim: ProcountorSimulator, make_connector: MakeConnector
) -> None:
    sim.populate(300, partners=30)
    first = []
    for change in make_connector(page_size=50).pull({}):
        first.append(change)
        if sum(isinstance(c, Checkpoint) for c in first) == 2:
            break  # the process dies here
    partial = cursors_of(first)
    assert json.loads(partial["ledger"])["round"]["page"] == 2
    sim.clear_log()
    rest = list(make_connector(page_size=50).pull(partial))
    assert not any(isinstance(c, RoundStart) for c in rest)
    assert [e.param("page") for e in lists(sim)][:1] == ["2"]
    assert isinstance(rest[-1], Checkpoint) and rest[-1].round_complete
    both = set(upserts(first)) | set(upserts(rest))
    assert not set(upserts(first)) & set(upserts(rest)), "nothing read twice"
    with_email = [
        i for i in sim.invoice_ids() if (sim.invoice(i) or {})["counterParty"].get("email")
    ]
    assert {f"invoice:{i}" for i in with_email} <= both


def test_a_new_invoice_extends_an_unchanged_partners_hold(
    sim: ProcountorSimulator, make_connector: MakeConnector, clock: ManualClock
) -> None:
    partner = sim.add_partner("Eero Ylönen", email="eero@koti.example")
    sim.add_invoice(
        email="eero@koti.example", name="Eero Ylönen", day=date(2018, 5, 4), partner_id=partner
    )
    clock.advance(timedelta(days=1))
    conn = make_connector()
    first = list(conn.pull({}))
    assert upserts(first)[f"partner:{partner}"].legal_hold_until == date(2024, 12, 31)
    clock.advance(timedelta(hours=1))
    sim.add_invoice(
        email="eero@koti.example", name="Eero Ylönen", day=date(2026, 3, 3), partner_id=partner
    )
    clock.advance(timedelta(hours=1))
    sim.clear_log()
    changes = list(conn.pull(cursors_of(first)))
    record = upserts(changes)[f"partner:{partner}"]
    assert record.legal_hold_until == date(2032, 12, 31)
    assert record.observations[0].kind is RecordKind.BUSINESS_PARTNER
    assert [e.path for e in details(sim)][-1] == f"/api/businesspartners/{partner}"


def test_suppliers_are_not_read_unless_asked(
    sim: ProcountorSimulator, make_connector: MakeConnector
) -> None:
    supplier = sim.add_partner("Toimittaja Oy", email="myynti@toimittaja.example", type="SUPPLIER")
    assert f"partner:{supplier}" not in upserts(make_connector().pull({}))
    sim.clear_log()
    assert f"partner:{supplier}" in upserts(make_connector(partner_types=["SUPPLIER"]).pull({}))
