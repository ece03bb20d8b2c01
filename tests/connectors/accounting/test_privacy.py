"""No identity code, postal address or phone number reaches a database.

The corpus plants HETUs (valid check characters, 1900s and 2000s) in BuyerPartyIdentifier, names,
contact persons, free text and a "Y-tunnus/Hetu" CSV column. Everything the connector yields is
written to a SQLite file; the file's raw bytes are then scanned.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from syncaudit import hetu
from syncaudit.clock import ManualClock
from syncaudit.contract import Change
from syncaudit_accounting import corpus

from .conftest import MakeConnector


def _scan(raw: bytes, planted: set[str]) -> list[str]:
    """Planted codes (as written or lower-cased, either encoding) and any other valid HETU."""
    found = []
    for text in (raw.decode("latin-1"), raw.decode("utf-8", "replace")):
        found += [code for code in planted if code in text or code.lower() in text]
        found += hetu.find(text, canonical=True)
    return sorted(set(found))


def _db_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _store(changes: Iterable[Change], path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE changes (kind TEXT, stream TEXT, body TEXT)")
        db.executemany(
            "INSERT INTO changes VALUES (?, ?, ?)",
            [(type(c).__name__, c.stream, repr(c)) for c in changes],
        )
    sqlite3.connect(path).close()


@pytest.fixture(scope="module")
def hetu_corpus(tmp_path_factory: pytest.TempPathFactory) -> corpus.Corpus:
    root = tmp_path_factory.mktemp("hetu-corpus")
    return corpus.generate(root, invoices=40 * len(corpus.VARIANTS), seed=11, per_file=20)


def test_the_corpus_really_carries_identity_codes(hetu_corpus: corpus.Corpus) -> None:
    files = b"".join(p.read_bytes() for p in hetu_corpus.root.rglob("*") if p.is_file())
    assert len(hetu_corpus.hetus) > 50
    assert set(_scan(files, hetu_corpus.hetus)) >= hetu_corpus.hetus
    signs = {code[6] for code in hetu_corpus.hetus}
    assert signs & set("-YXWVU") and signs & set("ABCDEF"), "both centuries are planted"


def test_no_identity_code_reaches_the_database(
    hetu_corpus: corpus.Corpus, make_connector: MakeConnector, tmp_path: Path
) -> None:
    changes = list(make_connector(hetu_corpus.root).pull({}))
    path = tmp_path / "changes.db"
    _store(changes, path)
    raw = _db_bytes(path)
    assert b"ItemUpsert" in raw and b"@" in raw  # the scan looks at real content
    assert _scan(raw, hetu_corpus.hetus) == []


def test_no_postal_address_or_phone_number_reaches_the_database(
    hetu_corpus: corpus.Corpus, make_connector: MakeConnector, tmp_path: Path
) -> None:
    changes = list(make_connector(hetu_corpus.root).pull({}))
    path = tmp_path / "changes.db"
    _store(changes, path)
    text = _db_bytes(path).decode("utf-8", "replace")
    streets = {
        p.street for f in hetu_corpus.files for i in f.invoices for p in i.parties() if p.street
    }
    assert streets
    assert not [s for s in streets if s in text]
    assert "040 123 4567" not in text
    assert not re.search(r"Asiakkaan henkilötunnus", text)  # free text is never carried


def test_no_identity_code_reaches_the_real_index(
    hetu_corpus: corpus.Corpus,
    make_connector: MakeConnector,
    manual_clock: ManualClock,
    tmp_path: Path,
) -> None:
    db_module = pytest.importorskip("syncaudit.db")
    sync = pytest.importorskip("syncaudit.sync")
    from syncaudit.identity import Pseudonymizer

    path = tmp_path / "index.db"
    database = db_module.Database(f"sqlite:///{path}")
    try:
        sync.run_sync(
            database,
            make_connector(hetu_corpus.root),
            pseudonymizer=Pseudonymizer(b"privacy-test-key-0123456789abcdef"),
            clock=manual_clock,
        )
    finally:
        database.dispose()
    raw = _db_bytes(path)
    assert b"@" in raw
    assert _scan(raw, hetu_corpus.hetus) == []


def test_the_scan_would_catch_a_leak(hetu_corpus: corpus.Corpus, tmp_path: Path) -> None:
    code = sorted(hetu_corpus.hetus)[0]
    path = tmp_path / "leak.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (body TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (f"name=Matti {code}",))
    assert _scan(_db_bytes(path), hetu_corpus.hetus) == [code]
