"""Erasure of invoice data: located live, retained under the Accounting Act, never touched."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from syncaudit.bookkeeping import LEGAL_BASIS
from syncaudit.clock import ManualClock
from syncaudit.contract import Action, Capability, OutcomeStatus, RecordKind
from syncaudit.testing import target_for
from syncaudit_accounting import corpus
from syncaudit_accounting.model import BUYER, RECIPIENT

from .conftest import MakeConnector

ANNA = "anna.mäkelä@koti.example".replace("ä", "a")
HETU = "131052-308T"


def _plan(
    number: str, issued: date, email: str, *, recipient: str | None = None
) -> corpus.InvoicePlan:
    buyer = corpus.PartyPlan(
        role=BUYER,
        email=email,
        organisation=f"Anna Mäkelä ({HETU})",
        street="Koulukuja 2",
        postcode="00100",
        town="Helsinki",
        identifier=HETU,
    )
    other = (
        corpus.PartyPlan(role=RECIPIENT, email=recipient, organisation=None) if recipient else None
    )
    return corpus.InvoicePlan(
        number=number, date=issued, buyer=buyer, recipient=other, rows=(("Työnohjaus", "95,00"),)
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "2024").mkdir()
    (tmp_path / "2024" / "lasku_1001.xml").write_bytes(
        corpus.finvoice_file(_plan("1001", date(2024, 5, 6), ANNA), "3.0")
    )
    (tmp_path / "vienti.csv").write_bytes(
        corpus.csv_export(
            [
                _plan("1002", date(2025, 2, 3), "someone@else.example", recipient=ANNA.upper()),
                _plan("1003", date(2025, 2, 4), "someone@else.example"),
            ]
        )
    )
    return tmp_path


def _sha(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_capabilities(folder: Path, make_connector: MakeConnector) -> None:
    conn = make_connector(folder)
    assert conn.capabilities == {Capability.PULL, Capability.LEGAL_HOLD, Capability.EXPORT}
    assert "2 matching file(s)" in conn.check()


def test_locate_finds_every_role_across_formats(
    folder: Path, make_connector: MakeConnector
) -> None:
    refs = make_connector(folder).locate(target_for(ANNA))
    assert sorted((r.stream, r.external_id, r.kind, r.label) for r in refs) == [
        ("file:2024/lasku_1001.xml", "1001@2024-05-06", RecordKind.INVOICE_BUYER, "invoice 1001"),
        ("file:vienti.csv", "1002@2025-02-03", RecordKind.INVOICE_RECIPIENT, "invoice 1002"),
    ]
    assert all(r.system == "accounting" for r in refs)
    assert {tuple(sorted(r.locator)) for r in refs} == {("date", "file", "invoice")}
    assert HETU not in repr(refs)


def test_preview_and_erase_retain_and_touch_nothing(
    folder: Path, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA, ["Anna Mäkelä"])
    before = _sha(folder)
    (ref, *_) = sorted(conn.locate(target), key=lambda r: r.external_id)
    plan = conn.preview(ref, target)
    assert plan.action is Action.RETAIN
    assert "2030-12-31" in plan.explanation and "Accounting Act" in plan.explanation
    outcome = conn.erase(ref, target)
    assert outcome.status is OutcomeStatus.RETAINED
    assert outcome.legal_basis == LEGAL_BASIS
    assert outcome.retained_until == date(2030, 12, 31)
    assert conn.erase(ref, target) == outcome  # idempotent
    assert conn.verify(target, [ref]) == []
    assert _sha(folder) == before


def test_non_calendar_financial_year_moves_the_end(
    folder: Path, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder, financial_year_end="04-30")
    ref = next(r for r in conn.locate(target_for(ANNA)) if r.external_id.startswith("1001"))
    assert conn.erase(ref, target_for(ANNA)).retained_until == date(2031, 12, 31)


def test_when_the_hold_ends_the_firm_must_delete_at_source(
    folder: Path, make_connector: MakeConnector, manual_clock: ManualClock
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA)
    refs = conn.locate(target)
    manual_clock.set(datetime(2031, 1, 1, tzinfo=UTC))  # 1001 (2024) ended, 1002 (2025) runs
    still = conn.verify(target, refs)
    assert [r.external_id for r in still] == ["1001@2024-05-06"]
    ended = next(r for r in refs if r.external_id == "1001@2024-05-06")
    assert conn.preview(ended, target).action is Action.MANUAL
    outcome = conn.erase(ended, target)
    assert outcome.status is OutcomeStatus.AWAITING_MANUAL
    assert "2030-12-31" in outcome.detail and "delete it at source" in outcome.detail


def test_verify_keeps_records_of_a_vanished_file_until_their_hold_ends(
    folder: Path, make_connector: MakeConnector, manual_clock: ManualClock
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA)
    refs = conn.locate(target)
    (folder / "2024" / "lasku_1001.xml").unlink()  # the copy is gone; the firm still has it
    assert conn.verify(target, refs) == []
    manual_clock.set(datetime(2031, 1, 1, tzinfo=UTC))
    assert [r.external_id for r in conn.verify(target, refs)] == ["1001@2024-05-06"]


def test_verify_drops_a_record_removed_from_a_file_still_there(
    folder: Path, make_connector: MakeConnector, manual_clock: ManualClock
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA)
    refs = conn.locate(target)
    (folder / "vienti.csv").write_bytes(
        corpus.csv_export([_plan("1003", date(2025, 2, 4), "someone@else.example")])
    )
    manual_clock.set(datetime(2040, 1, 1, tzinfo=UTC))
    assert [r.external_id for r in conn.verify(target, refs)] == ["1001@2024-05-06"]


def test_export_reads_the_persons_fields_live_without_identity_code(
    folder: Path, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA)
    ref = next(r for r in conn.locate(target) if r.kind is RecordKind.INVOICE_BUYER)
    data = conn.export(ref, target)
    assert data["invoice"] == "1001"
    assert data["date"] == "2024-05-06"
    assert data["retained_until"] == "2030-12-31"
    (party,) = data["parties"]
    assert party["role"] == "buyer"
    assert party["name"] == "Anna Mäkelä"
    assert party["email"] == ANNA
    assert party["address_lines"] == ["Koulukuja 2", "Helsinki", "00100", "FI"]
    assert HETU not in repr(data)
    other = conn.export(ref, target_for("someone@else.example"))
    assert other["parties"] == []  # another person's data is not handed out


def test_export_of_a_record_no_longer_in_the_folder(
    folder: Path, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    target = target_for(ANNA)
    ref = conn.locate(target)[0]
    for path in folder.rglob("*.xml"):
        path.unlink()
    for path in folder.rglob("*.csv"):
        path.unlink()
    data = conn.export(ref, target)
    assert data["parties"] == []
    assert "accounting firm" in data["note"]
