from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from syncaudit.db import Database, current_revision, make_engine, migrate


def test_old_database_is_upgraded_in_place_not_recreated(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subjects (pseudonym, email, first_seen, last_seen) "
                "VALUES ('p1', 'kept@example.fi', :n, :n)"
            ),
            {"n": now},
        )
    engine.dispose()
    db = Database(db_url)  # opening applies the remaining migrations
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM subjects")).scalar() == "kept@example.fi"
        assert conn.execute(text("SELECT count(*) FROM erasure_requests")).scalar() == 0
    assert current_revision(db.engine) == "0005"
    db.dispose()


def test_sqlite_file_is_private_and_hardened(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert (tmp_path / "x.db").stat().st_mode & 0o777 == 0o600
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()
