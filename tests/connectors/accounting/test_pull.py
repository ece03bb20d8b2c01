"""Pulling a generated export folder: buyers land, a file is a stream, cursors are checksums."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from syncaudit.bookkeeping import LEGAL_BASIS, retention_end
from syncaudit.contract import Checkpoint, ItemUpsert, RoundStart
from syncaudit_accounting import corpus

from .conftest import MakeConnector
from .helpers import cursors_of, people_by_item, problems_of


@pytest.fixture
def folder(tmp_path: Path, small_corpus: corpus.Corpus) -> Path:
    target = tmp_path / "exports"
    shutil.copytree(small_corpus.root, target)
    return target


def test_every_invoice_of_every_variant_lands_with_its_people(
    small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    changes = list(make_connector(small_corpus.root).pull({}))
    assert not problems_of(changes)
    expected = small_corpus.expected()
    assert people_by_item(changes) == expected
    variants = {stream.split(":")[1].split("/")[0] for stream, _ in expected}
    assert variants == set(corpus.VARIANTS)  # each variant contributed people


def test_items_carry_the_hold_the_locator_and_minimal_details(
    small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    upserts = [c for c in make_connector(small_corpus.root).pull({}) if isinstance(c, ItemUpsert)]
    assert upserts
    for item in upserts:
        number, _, issued = item.external_id.rpartition("@")
        invoice_date = date.fromisoformat(issued)
        assert item.legal_hold_until == retention_end(invoice_date)
        assert item.legal_basis == LEGAL_BASIS
        assert item.free_text is None
        assert dict(item.locator) == {
            "file": item.stream.removeprefix("file:"),
            "invoice": number,
            "date": issued,
        }
        for obs in item.observations:
            assert obs.when == datetime(
                invoice_date.year, invoice_date.month, invoice_date.day, tzinfo=UTC
            )
            assert set(obs.details) == {"invoice", "billing_address"}
            assert obs.details["invoice"] == number
            assert obs.details["billing_address"] in {"present", "absent"}


def test_each_file_is_a_round_closed_by_its_checksum(
    small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    changes = list(make_connector(small_corpus.root).pull({}))
    by_stream: dict[str, list[object]] = {}
    for change in changes:
        by_stream.setdefault(change.stream, []).append(change)
    assert set(by_stream) == {f.stream for f in small_corpus.files}
    for corpus_file in small_corpus.files:
        seq = by_stream[corpus_file.stream]
        assert isinstance(seq[0], RoundStart)
        assert isinstance(seq[-1], Checkpoint)
        assert seq[-1].round_complete
        sha = hashlib.sha256((small_corpus.root / corpus_file.name).read_bytes()).hexdigest()
        assert seq[-1].cursor == sha
        assert all(isinstance(c, ItemUpsert) for c in seq[1:-1])


def test_unchanged_files_are_not_read_again_and_full_rereads_all(
    folder: Path, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    first = list(conn.pull({}))
    cursors = cursors_of(first)
    assert list(conn.pull(cursors)) == []
    again = list(conn.pull(cursors, full=True))
    assert people_by_item(again) == people_by_item(first)


def test_a_changed_file_is_read_as_a_new_round(
    folder: Path, small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    cursors = cursors_of(conn.pull({}))
    batch = next(f for f in small_corpus.files if f.variant == "soap-batch")
    kept = batch.invoices[:-1]  # the firm re-exports without the last invoice
    (folder / batch.name).write_bytes(corpus.soap_batch(kept))
    changes = list(conn.pull(cursors))
    assert {c.stream for c in changes} == {batch.stream}
    assert isinstance(changes[0], RoundStart)
    assert isinstance(changes[-1], Checkpoint)
    assert changes[-1].round_complete  # the dropped invoice is marked removed by the runner
    ids = {c.external_id for c in changes if isinstance(c, ItemUpsert)}
    assert batch.invoices[-1].key not in ids


def test_a_new_file_is_picked_up(folder: Path, make_connector: MakeConnector) -> None:
    conn = make_connector(folder)
    cursors = cursors_of(conn.pull({}))
    plans, _ = corpus.plan_invoices(3, seed=99, first_number=90001)
    (folder / "late.csv").write_bytes(corpus.csv_export(plans))
    changes = list(conn.pull(cursors))
    assert {c.stream for c in changes} == {"file:late.csv"}


def test_a_vanished_file_keeps_its_records_and_is_reported_once(
    folder: Path, small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    conn = make_connector(folder)
    cursors = cursors_of(conn.pull({}))
    gone = small_corpus.files[0]
    data = (folder / gone.name).read_bytes()
    (folder / gone.name).unlink()
    with capture_logs() as logs:
        changes = list(conn.pull(cursors))
    assert changes == [Checkpoint(stream=gone.stream, cursor="missing:" + cursors[gone.stream])]
    assert not any(isinstance(c, RoundStart) for c in changes)  # nothing is marked removed
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "accounting.file_missing_records_kept"
    ]
    cursors.update(cursors_of(changes))
    assert list(conn.pull(cursors)) == []  # said once
    (folder / gone.name).write_bytes(data)  # back again: read again
    back = list(conn.pull(cursors))
    assert isinstance(back[0], RoundStart)
    assert back[-1] == Checkpoint(
        stream=gone.stream,
        cursor=cursors[gone.stream].removeprefix("missing:"),
        round_complete=True,
    )


def test_invoice_numbers_restarting_each_year_stay_apart_and_rows_merge(
    tmp_path: Path, make_connector: MakeConnector
) -> None:
    data = (
        "Laskunumero;Laskupäivä;Sähköposti;Laskun vastaanottajan sähköposti;Tuote\n"
        "1;15.3.2024;anna@koti.example;;Valmennus\n"
        "1;15.3.2024;;laskut@firma.example;Matkat\n"
        "2;16.3.2024;eero@koti.example;;Valmennus\n"
        "1;20.1.2025;ville@koti.example;;Valmennus\n"
        "1;15.3.2024;Anna@Koti.example;;Uusinta\n"
    ).encode()
    (tmp_path / "rows.csv").write_bytes(data)
    people = people_by_item(make_connector(tmp_path).pull({}))
    emails = {key[1]: {p[1] for p in value} for key, value in people.items()}
    assert emails == {
        "1@2024-03-15": {"anna@koti.example", "laskut@firma.example"},
        "2@2024-03-16": {"eero@koti.example"},
        "1@2025-01-20": {"ville@koti.example"},
    }


def test_logs_count_without_naming_anyone(
    small_corpus: corpus.Corpus, make_connector: MakeConnector
) -> None:
    with capture_logs() as logs:
        list(make_connector(small_corpus.root).pull({}))
    (summary,) = [e for e in logs if e["event"] == "accounting.pull"]
    assert summary["files_read"] == len(small_corpus.files)
    assert summary["invoices"] >= small_corpus.invoice_count
    assert summary["parties_without_email"] > 0
    assert summary["invalid_emails"] > 0
    assert summary["identity_codes_removed"] > 0
    text = repr(logs)
    assert "@" not in text
    for plan in (p for f in small_corpus.files for p in f.invoices):
        assert plan.buyer.expected_name is None or plan.buyer.expected_name not in text
