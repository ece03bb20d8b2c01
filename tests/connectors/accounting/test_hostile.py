"""Hostile and broken files: each gives one clear StreamProblem, nothing crashes, the other files
are still read, and the broken file's cursor does not move (its earlier records are kept)."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import Change, ItemUpsert
from syncaudit_accounting import corpus
from syncaudit_accounting.connector import AccountingExportConnector

from .conftest import MakeConnector
from .helpers import cursors_of, problems_of

MB = 1024 * 1024


def _good(number: int) -> bytes:
    plans, _ = corpus.plan_invoices(1, seed=number, first_number=number)
    return corpus.finvoice_file(plans[0], "3.0")


def _deep() -> bytes:
    return b'<Finvoice Version="3.0">' + b"<a>" * 100 + b"</a>" * 100 + b"</Finvoice>"


def _csv_without_email() -> bytes:
    return "Laskunumero;Laskupäivä;Asiakas\n1;1.1.2025;Matti Virtanen\n".encode("iso-8859-15")


def _write_big(path: Path, head: bytes, filler: bytes, tail: bytes, size: int) -> None:
    with path.open("wb") as fp:
        fp.write(head)
        for _ in range(size // len(filler)):
            fp.write(filler)
        fp.write(tail)


def _xxe_with_secret(tmp: Path) -> bytes:
    secret = tmp / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    return corpus.xxe().replace(b"file:///etc/passwd", secret.as_uri().encode())


CASES: dict[str, tuple[str, Callable[[Path], bytes], str]] = {
    "xxe": ("bad.xml", _xxe_with_secret, r"refused.*XXE"),
    "billion laughs": ("bad.xml", lambda _: corpus.billion_laughs(), r"refused.*entity-expansion"),
    "truncated xml": ("bad.xml", lambda _: corpus.truncated(_good(1)), r"line \d+\): .*truncated"),
    "binary garbage xml": ("bad.xml", lambda _: corpus.garbage(4096), r"line 1\): binary data"),
    "text garbage xml": ("bad.xml", lambda _: b"PK\x03\x04 not xml", r"line 1\): not well-formed"),
    "binary garbage csv": ("bad.csv", lambda _: corpus.garbage(4096, seed=1), r"binary data"),
    "undecodable csv": ("bad.csv", lambda _: b"Laskunumero;Email\n\x81\x9d\x80;x\n", "undecodable"),
    "empty xml": ("bad.xml", lambda _: b"", r"empty file"),
    "empty csv": ("bad.csv", lambda _: b"", r"empty file"),
    "csv without email column": ("bad.csv", lambda _: _csv_without_email(), r"line 1\): no column"),
    "deep nesting": ("bad.xml", lambda _: _deep(), r"line 1, .*nested deeper than 64"),
    "no finvoice": ("bad.xml", lambda _: b"<invoice/>", r"no Finvoice invoice .*invoice"),
}


def _setup(
    tmp_path: Path, make_connector: MakeConnector, name: str, **options: object
) -> tuple[Path, AccountingExportConnector, dict[str, str]]:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / name).write_bytes(
        _good(2) if name.endswith(".xml") else corpus.csv_export(corpus.plan_invoices(2)[0])
    )
    (folder / "other.xml").write_bytes(_good(3))
    conn = make_connector(folder, **options)
    first = list(conn.pull({}))
    assert not problems_of(first)
    return folder, conn, cursors_of(first)


def _check_isolated(changes: list[Change], bad: str, cursors: dict[str, str], pattern: str) -> None:
    problems = problems_of(changes)
    assert list(problems) == [f"file:{bad}"]
    message = problems[f"file:{bad}"]
    assert message.startswith(bad)
    assert re.search(pattern, message), message
    assert "next pull" in message or "export" in message  # the operator's next step is given
    bad_changes = [c for c in changes if c.stream == f"file:{bad}"]
    assert len(bad_changes) == 1  # no RoundStart, upsert or checkpoint: the cursor stays
    assert cursors_of(changes).get(f"file:{bad}") is None
    late = [c for c in changes if isinstance(c, ItemUpsert) and c.stream == "file:late.xml"]
    assert late, "a file added in the same pull is still read"


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_is_refused_alone(
    case: str, tmp_path: Path, make_connector: MakeConnector
) -> None:
    name, make, pattern = CASES[case]
    folder, conn, cursors = _setup(tmp_path, make_connector, name)
    (folder / name).write_bytes(make(tmp_path))
    (folder / "late.xml").write_bytes(_good(4))
    changes = list(conn.pull(cursors))
    _check_isolated(changes, name, cursors, pattern)
    assert "TOP-SECRET" not in repr(changes)
    # The problem repeats on every pull until the file is fixed; fixing it is enough.
    assert problems_of(conn.pull(cursors))
    (folder / name).write_bytes(_good(5) if name.endswith(".xml") else _csv_fixed())
    fixed = list(conn.pull(cursors))
    assert not problems_of(fixed)
    assert f"file:{name}" in cursors_of(fixed)


def _csv_fixed() -> bytes:
    return corpus.csv_export(corpus.plan_invoices(3, seed=5)[0])


def test_a_50_mb_file_over_the_limit_is_refused_unread(
    tmp_path: Path, make_connector: MakeConnector
) -> None:
    folder, conn, cursors = _setup(tmp_path, make_connector, "big.xml")
    _write_big(folder / "big.xml", b"<Finvoice>", b"<x>filler</x>" * 1000, b"</Finvoice>", 50 * MB)
    (folder / "late.xml").write_bytes(_good(4))
    changes = list(conn.pull(cursors))
    _check_isolated(changes, "big.xml", cursors, r"larger than the 20 MB limit.*max_file_mb")


@pytest.mark.parametrize(
    ("name", "head", "tail", "pattern"),
    [
        (
            "big.xml",
            b'<?xml version="1.0"?><Finvoice Version="3.0"><BuyerPartyDetails>'
            b"<BuyerOrganisationName>",
            b"</BuyerOrganisationName></BuyerPartyDetails></Finvoice>",
            r"line 1, .*BuyerOrganisationName.*longer than 4096",
        ),
        (
            "big.csv",
            b"Laskunumero;Laskup\xe4iv\xe4;Email;Nimi\n1;1.1.2025;a@b.example;",
            b"\n",
            r"line 2\): line longer than",
        ),
    ],
)
def test_a_50_mb_file_under_a_raised_limit_is_streamed_in_little_memory(
    name: str,
    head: bytes,
    tail: bytes,
    pattern: str,
    tmp_path: Path,
    make_connector: MakeConnector,
) -> None:
    folder, conn, cursors = _setup(tmp_path, make_connector, name, max_file_mb=64)
    _write_big(folder / name, head, b"A" * MB, tail, 50 * MB)
    (folder / "late.xml").write_bytes(_good(4))
    tracemalloc.start()
    try:
        changes = list(conn.pull(cursors))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _check_isolated(changes, name, cursors, pattern)
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while reading a 50 MB file"


def test_earlier_records_survive_a_broken_re_export_in_the_real_index(
    tmp_path: Path, make_connector: MakeConnector, manual_clock: ManualClock
) -> None:
    db_module = pytest.importorskip("syncaudit.db")
    sync = pytest.importorskip("syncaudit.sync")
    models = pytest.importorskip("syncaudit.models")
    from sqlalchemy import select

    from syncaudit.identity import Pseudonymizer

    folder = tmp_path / "exports"
    folder.mkdir()
    plans, _ = corpus.plan_invoices(6, seed=21)
    (folder / "batch.xml").write_bytes(corpus.soap_batch(plans))
    conn = make_connector(folder)
    database = db_module.Database(f"sqlite:///{tmp_path / 'index.db'}")
    pseudo = Pseudonymizer(b"hostile-test-key-0123456789abcdef")

    def live_records() -> set[str]:
        with database.session() as session:
            rows = session.scalars(
                select(models.Record.external_id).where(models.Record.removed_at.is_(None))
            )
            return set(rows)

    try:
        sync.run_sync(database, conn, pseudonymizer=pseudo, clock=manual_clock)
        before = live_records()
        assert before
        (folder / "batch.xml").write_bytes(corpus.truncated(corpus.soap_batch(plans)))
        report = sync.run_sync(database, conn, pseudonymizer=pseudo, clock=manual_clock)
        assert report.problems and "truncated" in report.problems[0]
        assert live_records() == before
    finally:
        database.dispose()
