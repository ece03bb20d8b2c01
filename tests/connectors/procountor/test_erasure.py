"""Erasure: invoices are vouchers (retained, the same rule as the export), a register entry is
retained while an invoice it backs is, and otherwise becomes a manual task for the accounting
firm with the Art. 19 notice; verify re-reads; the access export gives the person's own fields."""

from __future__ import annotations

from datetime import date

import pytest

from syncaudit.bookkeeping import LEGAL_BASIS
from syncaudit.clock import ManualClock
from syncaudit.contract import Action, Capability, OutcomeStatus, RecordKind, RecordRef
from syncaudit.testing import target_for
from syncaudit_procountor.connector import ProcountorConnector
from syncaudit_procountor.simulator import ProcountorSimulator

from .conftest import MakeConnector

ANNA = "Anna.Makela@Koti.example"
HETU = "131052-308T"


@pytest.fixture
def anna(sim: ProcountorSimulator) -> dict[str, int]:
    """Anna: a private customer (HETU as identifier) with a recent and an old invoice, a copy
    of someone else's invoice, and an old customer entry with only expired invoices."""
    partner = sim.add_partner(
        f"Anna Mäkelä ({HETU})", email=ANNA, identifier=HETU, customer_number="4711"
    )
    old_partner = sim.add_partner("Anna M", email=ANNA.lower(), customer_number="1200")
    recent = sim.add_invoice(
        email=ANNA, name="Anna Mäkelä", day=date(2025, 2, 3), partner_id=partner, identifier=HETU
    )
    old = sim.add_invoice(
        email=ANNA.upper(), name="Anna Mäkelä", day=date(2017, 6, 1), partner_id=old_partner
    )
    copy = sim.add_invoice(
        email="muu@yritys.example", name="Yritys Oy", day=date(2025, 9, 9), bcc=[ANNA.lower()]
    )
    sim.add_invoice(email="bob@example.com", name="Bob Berg", day=date(2025, 9, 9))
    return {
        "partner": partner,
        "old_partner": old_partner,
        "recent": recent,
        "old": old,
        "copy": copy,
    }


def _refs(conn: ProcountorConnector) -> dict[str, RecordRef]:
    return {r.external_id: r for r in conn.locate(target_for(ANNA))}


def test_capabilities(make_connector: MakeConnector) -> None:
    caps = make_connector().capabilities
    assert Capability.LEGAL_HOLD in caps and Capability.EXPORT in caps
    assert Capability.ERASE not in caps


def test_locate_finds_every_record_of_the_person(
    make_connector: MakeConnector, anna: dict[str, int]
) -> None:
    refs = _refs(make_connector())
    assert {k: r.kind for k, r in refs.items()} == {
        f"invoice:{anna['recent']}": RecordKind.INVOICE_BUYER,
        f"invoice:{anna['old']}": RecordKind.INVOICE_BUYER,
        f"invoice:{anna['copy']}": RecordKind.INVOICE_RECIPIENT,
        f"partner:{anna['partner']}": RecordKind.BUSINESS_PARTNER,
        f"partner:{anna['old_partner']}": RecordKind.BUSINESS_PARTNER,
    }
    for ref in refs.values():
        assert HETU not in repr(ref) and "Mäkelä" not in repr(ref)
    assert refs[f"partner:{anna['partner']}"].locator == {
        "id": str(anna["partner"]),
        "customer_number": "4711",
    }


def test_erasure_retains_vouchers_and_asks_the_firm_for_the_rest(
    make_connector: MakeConnector, anna: dict[str, int], sim: ProcountorSimulator
) -> None:
    conn = make_connector()
    target = target_for(ANNA, ["Anna Mäkelä"])
    refs = _refs(conn)
    outcomes = {k: conn.erase(r, target) for k, r in refs.items()}
    recent = outcomes[f"invoice:{anna['recent']}"]
    assert recent.status is OutcomeStatus.RETAINED
    assert (recent.legal_basis, recent.retained_until) == (LEGAL_BASIS, date(2031, 12, 31))
    partner = outcomes[f"partner:{anna['partner']}"]
    assert partner.status is OutcomeStatus.RETAINED
    assert partner.retained_until == date(2031, 12, 31), "as long as its latest invoice"
    assert outcomes[f"invoice:{anna['old']}"].status is OutcomeStatus.AWAITING_MANUAL
    old_partner = outcomes[f"partner:{anna['old_partner']}"]
    assert old_partner.status is OutcomeStatus.AWAITING_MANUAL
    notice = old_partner.detail
    assert "19 artiklan" in notice and "kirjanpitolain (1336/1997)" in notice
    assert f"{anna['old_partner']}" in notice and "1200" in notice
    for text in (o.detail for o in outcomes.values()):
        assert "@" not in text and "Mäkelä" not in text and HETU not in text
    assert sim.invoice(anna["recent"]) is not None, "nothing is deleted through the API"
    again = {k: conn.erase(r, target).status for k, r in refs.items()}
    assert again == {k: o.status for k, o in outcomes.items()}, "idempotent"


def test_preview_says_what_would_happen(
    make_connector: MakeConnector, anna: dict[str, int]
) -> None:
    conn = make_connector()
    refs = _refs(conn)
    target = target_for(ANNA)
    plan = {k: conn.preview(r, target) for k, r in refs.items()}
    assert plan[f"invoice:{anna['recent']}"].action is Action.RETAIN
    assert "2031-12-31" in plan[f"invoice:{anna['recent']}"].explanation
    assert plan[f"partner:{anna['partner']}"].action is Action.RETAIN
    assert plan[f"partner:{anna['old_partner']}"].action is Action.MANUAL


def test_a_record_gone_from_procountor_is_already_absent(
    make_connector: MakeConnector, anna: dict[str, int], sim: ProcountorSimulator
) -> None:
    conn = make_connector()
    ref = _refs(conn)[f"invoice:{anna['copy']}"]
    sim.delete_invoice(anna["copy"])
    assert conn.erase(ref, target_for(ANNA)).status is OutcomeStatus.ALREADY_ABSENT


def test_verify_rereads_and_leaves_out_what_is_held(
    make_connector: MakeConnector, anna: dict[str, int], sim: ProcountorSimulator
) -> None:
    conn = make_connector()
    refs = list(_refs(conn).values())
    sim.clear_log()
    remaining = {r.external_id for r in conn.verify(target_for(ANNA), refs)}
    assert remaining == {f"invoice:{anna['old']}", f"partner:{anna['old_partner']}"}
    assert sim.count(path_prefix="/api/invoices") > 0, "verify asked Procountor again"
    sim.update_partner(anna["old_partner"], email="uusi@osoite.example")
    sim.update_invoice(anna["old"], email="uusi@osoite.example")
    assert conn.verify(target_for(ANNA), refs) == [], "the firm removed her from both"


def test_the_deletion_notice_when_a_hold_ends(
    make_connector: MakeConnector, anna: dict[str, int], clock: ManualClock
) -> None:
    conn = make_connector()
    refs = _refs(conn)
    held = [refs[f"invoice:{anna['recent']}"], refs[f"partner:{anna['partner']}"]]
    clock.set(clock.now().replace(year=2032, month=1, day=2))
    text = conn.deletion_notice(held, "en", sender="Valmennus Oy")
    assert "Art. 19" in text and "Accounting Act (1336/1997)" in text
    assert "partner register" in text and str(anna["partner"]) in text and "4711" in text
    assert "already ended" in text
    assert "@" not in text and "Mäkelä" not in text and HETU not in text
    assert text.count("Valmennus Oy") == 2  # two letters: the invoices, the register entry


def test_the_access_export_gives_the_persons_own_fields(
    make_connector: MakeConnector, anna: dict[str, int]
) -> None:
    conn = make_connector()
    refs = _refs(conn)
    target = target_for(ANNA)
    mine = conn.export(refs[f"invoice:{anna['recent']}"], target)
    assert mine["buyer"]["email"] == ANNA
    assert mine["buyer"]["name"] == "Anna Mäkelä"
    assert mine["buyer"]["business_id"] is None, "an identity code is not exported"
    assert mine["rows"] == [{"product": "Valmennus 60 min", "quantity": 1}]
    assert (mine["retained_until"], mine["legal_basis"]) == ("2031-12-31", LEGAL_BASIS)
    copy = conn.export(refs[f"invoice:{anna['copy']}"], target)
    assert copy["copy_sent_to"] == [ANNA.lower()]
    assert "buyer" not in copy, "someone else's invoice: only that a copy went to her"
    entry = conn.export(refs[f"partner:{anna['partner']}"], target)
    assert entry["name"] == "Anna Mäkelä" and entry["customer_number"] == "4711"
    assert HETU not in repr([mine, copy, entry])
    assert conn.export(refs[f"invoice:{anna['recent']}"], target_for("bob@example.com")) == {}
