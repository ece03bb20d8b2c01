from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from syncaudit.db import HEAD_REVISION, MIGRATIONS, Database, current_revision, make_engine, migrate


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
    assert current_revision(db.engine) == HEAD_REVISION
    db.dispose()


def test_head_revision_is_the_newest_migration() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD_REVISION], (
        "a migration was added: set syncaudit.db.HEAD_REVISION to its revision"
    )


def test_an_up_to_date_database_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    Database(url).dispose()  # created and migrated
    probe = (
        "import sys; from syncaudit.db import Database; Database(sys.argv[1]).dispose();"
        " print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_sqlite_file_is_private_and_hardened(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert (tmp_path / "x.db").stat().st_mode & 0o777 == 0o600
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384
    db.dispose()


def test_an_index_made_with_small_pages_keeps_them_and_opens(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")  # the file is written: 4 KiB pages from here on
    con.close()
    db = Database(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM subjects").scalar() == 0
    db.dispose()


def test_postgresql_leaves_room_for_in_page_updates(db: Database) -> None:
    """A full sync updates every record it sees: half-free pages keep that off the indexes."""
    if db.is_sqlite:
        return  # SQLite has no fillfactor; its pages are rewritten whole either way
    with db.engine.connect() as conn:
        options = dict(
            conn.execute(
                text(
                    "SELECT relname, array_to_string(reloptions, ',') FROM pg_class"
                    " WHERE relname IN ('records', 'subjects') AND relkind = 'r'"
                    " AND relnamespace = current_schema()::regnamespace"
                )
            ).all()
        )
    assert options == {"records": "fillfactor=50", "subjects": "fillfactor=50"}
