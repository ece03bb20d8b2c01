"""Opening the database: engine set-up, SQLite hardening, and migrations applied on start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import structlog
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from syncaudit.errors import DatabaseError
from syncaudit.lean import hidden

log = structlog.get_logger("syncaudit.db")
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision (tests/unit/test_migrations.py holds it to alembic's head). A
# database already there opens without alembic: ~10 MiB and ~0.1 s less for every command.
HEAD_REVISION = "0008"


def sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _create_private_file(path: Path) -> None:
    """The database holds personal data: create it readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    elif path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("db.file_permissions_too_open", mode=oct(path.stat().st_mode & 0o777))


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    # Transactions are begun by SQLAlchemy (see _sqlite_begin_immediate), not by the driver.
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    # page_size: takes effect only before a file's first write, so only new index files get it
    # (an old one keeps 4 KiB until a VACUUM outside WAL). A commit writes each page it touched,
    # and the subjects' pseudonym index is touched at random: 16 KiB pages write a sync's
    # 100,000 new people with a quarter of the writes (with the runner's longer transactions,
    # raw inserts of subjects and records went from ~22k to ~47k rows/s: docs/benchmarks.md).
    # secure_delete: erased rows are overwritten with zeros, not left in free pages.
    for pragma in (
        "page_size=16384",
        "journal_mode=WAL",
        "foreign_keys=ON",
        "secure_delete=ON",
        "synchronous=NORMAL",
        "busy_timeout=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def make_engine(url_text: str) -> Engine:
    url = make_url(url_text)
    path = sqlite_path(url)
    if path is not None:
        _create_private_file(path)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url, future=True, pool_pre_ping=url.get_backend_name() != "sqlite")
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A deferred transaction that reads and then writes lets two processes (the worker and a CLI
    `confirm`) both see a request open and both complete it; IMMEDIATE serialises them, and
    busy_timeout makes the second wait instead of failing.
    """
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # checkpoints and VACUUM must run outside a transaction
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; an old database is upgraded in place, never recreated."""
    with hidden("pygments"):  # see syncaudit.lean
        from alembic import command
        from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot open or upgrade the database: {exc.orig}",
            next_step="Check [database].url, the file's permissions, and that PostgreSQL runs.",
        ) from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError:
            return None
        except Exception:  # PostgreSQL: relation does not exist
            return None


# Storage settings the migrations give tables beyond what the models say (0007, 0008).
FRESH_LOCK = 7412506  # PostgreSQL advisory lock key held while a new database is created
POSTGRES_STORAGE = (
    "ALTER TABLE records SET (fillfactor = 50)",
    "ALTER TABLE subjects SET (fillfactor = 50)",
)


def create_fresh(engine: Engine) -> bool:
    """An empty database gets the newest schema in one step, stamped with HEAD_REVISION: the
    same tables as every migration run in turn (tests/unit/test_migrations.py compares them),
    without loading alembic and replaying them (~0.4 s of a first command). False, and nothing
    done, when the database holds any table: those are upgraded by `migrate`."""
    from syncaudit.models import Base  # only a new database needs the metadata here

    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:  # two processes opening one new database: the second waits, then sees it
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({FRESH_LOCK})")
        if inspect(conn).get_table_names():
            return False
        Base.metadata.create_all(conn)
        for statement in POSTGRES_STORAGE if postgres else ():
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
            " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": HEAD_REVISION})
    return True


class Database:
    """An engine with its migrations applied and a session factory."""

    def __init__(self, url: str, *, migrate_on_open: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        stale = migrate_on_open and current_revision(self.engine) != HEAD_REVISION
        if stale and not create_fresh(self.engine):
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.sessions()

    def compact_after_purge(self) -> None:
        """Make purged bytes really gone: checkpoint the WAL (SQLite) or VACUUM (PostgreSQL)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                for table in ("subjects", "records", "erasure_requests", "erasure_tasks"):
                    conn.exec_driver_sql(f"VACUUM {table}")

    def dispose(self) -> None:
        self.engine.dispose()
