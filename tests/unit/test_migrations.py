from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from syncaudit.db import (
    HEAD_REVISION,
    MIGRATIONS,
    Database,
    create_fresh,
    current_revision,
    make_engine,
    migrate,
)
from syncaudit.models import Base


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


def _schema(engine: Engine) -> dict[str, object]:
    """What a database's tables are: columns, keys, indexes and, on PostgreSQL, storage."""
    found: dict[str, object] = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for table in sorted(inspector.get_table_names()):
            found[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
                ],
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], str(f.get("options")))
                    for f in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"] or "", tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
            }
        if conn.dialect.name == "postgresql":
            found["storage"] = sorted(
                conn.execute(
                    text(
                        "SELECT relname, array_to_string(reloptions, ',') FROM pg_class"
                        " WHERE relnamespace = current_schema()::regnamespace"
                        " AND reloptions IS NOT NULL"
                    )
                ).all()
            )
        found["revision"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return found


def test_a_new_database_gets_the_schema_the_migrations_build(db_url: str) -> None:
    """A new index is created in one step (no alembic): it must be what an old one upgraded
    through every migration becomes, storage settings included."""
    engine = make_engine(db_url)
    try:
        assert create_fresh(engine)
        fresh = _schema(engine)
        assert not create_fresh(engine)  # a database with tables is never created over
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE alembic_version")
        migrate(engine)
        assert _schema(engine) == fresh
    finally:
        engine.dispose()
