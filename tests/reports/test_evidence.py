"""The chain check the monthly report prints (audit.verify, streamed since the reports issue):
every kind of rewrite is caught and named, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from syncaudit import audit
from syncaudit.db import Database

T0 = datetime(2026, 3, 1, 8, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture
def chain(db: Database) -> Database:
    with db.session() as s, s.begin():
        for n in range(1, 8):
            audit.append(
                s, "test.event", at=T0 + timedelta(minutes=n), subject="p" * 64, n=n, text="ä"
            )
    return db


def _check(db: Database) -> audit.ChainCheck:
    with db.session() as s:
        return audit.verify(s)


def test_an_untouched_chain_verifies(chain: Database) -> None:
    result = _check(chain)
    assert (result.ok, result.entries) == (True, 7)
    with chain.session() as s:
        assert audit.head(s) == (7, result.head)


@pytest.mark.parametrize(
    ("sql", "bad_seq", "problem"),
    [
        ("UPDATE audit_log SET data = 'changed' WHERE seq = 3", 3, "content was changed"),
        ("UPDATE audit_log SET at = at WHERE seq = 0", None, ""),  # a no-op changes nothing
        ("UPDATE audit_log SET event = 'x' WHERE seq = 7", 7, "content was changed"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "entry 4 is missing"),
        ("DELETE FROM audit_log WHERE seq >= 6", 6, "removed"),
        ("UPDATE audit_log SET prev_hash = hash WHERE seq = 2", 2, "does not follow"),
    ],
)
def test_rewrites_are_caught_and_named(
    chain: Database, sql: str, bad_seq: int | None, problem: str
) -> None:
    with chain.engine.begin() as conn:
        conn.execute(text(sql))
    result = _check(chain)
    assert result.ok is (bad_seq is None)
    assert result.first_bad_seq == bad_seq
    assert problem in result.problem


def test_a_shifted_time_is_a_changed_entry(chain: Database) -> None:
    with chain.session() as s, s.begin():
        entry = s.get(audit.AuditEntry, 5)
        assert entry is not None
        entry.at = entry.at + timedelta(microseconds=1)
    result = _check(chain)
    assert (result.ok, result.first_bad_seq) == (False, 5)
