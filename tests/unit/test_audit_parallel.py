"""The chain checked by two processes must say exactly what the sequential walk says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from syncaudit import audit
from syncaudit.db import Database

ENTRIES = 400  # two ranges: 1..200 and 201..400


def _chain(db: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as s, s.begin():
        for i in range(ENTRIES):
            audit.append(
                s,
                "test.event",
                at=start + timedelta(seconds=i),
                subject=f"p{i % 7}",
                request_id=f"E-{i // 10}",
                n=i,
            )


def _swap(a: int, b: int) -> Callable[[Database], None]:
    def run(db: Database) -> None:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = :a"), {"a": a})
            conn.execute(text("UPDATE audit_log SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
            conn.execute(text("UPDATE audit_log SET seq = :b WHERE seq = -1"), {"b": b})

    return run


def _sql(statement: str) -> Callable[[Database], None]:
    def run(db: Database) -> None:
        with db.engine.begin() as conn:
            conn.execute(text(statement))

    return run


TAMPERING = {
    "intact": _sql("SELECT 1"),
    "edit early": _sql("UPDATE audit_log SET data = 'tampered' WHERE seq = 12"),
    "edit last of first range": _sql("UPDATE audit_log SET event = 'x' WHERE seq = 200"),
    "edit first of second range": _sql("UPDATE audit_log SET event = 'x' WHERE seq = 201"),
    "delete last of first range": _sql("DELETE FROM audit_log WHERE seq = 200"),
    "delete first of second range": _sql("DELETE FROM audit_log WHERE seq = 201"),
    "delete the last entry": _sql("DELETE FROM audit_log WHERE seq = 400"),
    "delete the whole second range": _sql("DELETE FROM audit_log WHERE seq > 200"),
    "swap across the boundary": _swap(199, 202),
    "swap inside the second range": _swap(300, 301),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_parallel_verification_matches_sequential(db: Database, case: str) -> None:
    _chain(db)
    TAMPERING[case](db)
    with db.session() as s:
        sequential = audit.verify(s, parallel_min=10**9)
    with db.session() as s:
        parallel = audit.verify(s, parallel_min=1)
    assert (parallel.ok, parallel.first_bad_seq, parallel.problem, parallel.head) == (
        sequential.ok,
        sequential.first_bad_seq,
        sequential.problem,
        sequential.head,
    )
    assert sequential.ok is (case == "intact")
