"""Proves the PostgreSQL half of the suite really ran (CI sets SYNCAUDIT_REQUIRE_POSTGRES=1)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from syncaudit.db import Database


@pytest.mark.postgres
def test_postgres_run_happened(postgres_url: str) -> None:
    db = Database(postgres_url)
    with db.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        tables = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ).scalar()
    db.dispose()
    assert db.engine.dialect.name == "postgresql"
    assert version
    assert tables and tables >= 10
