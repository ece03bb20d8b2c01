"""The index writer's SQL, on the driver's own cursor: one statement per job and page.

SQLAlchemy's per-statement compilation and per-value type processing cost more than the
database itself at 50,000 records per second, so the hot path speaks DB-API directly, inside
the session's transaction (same connection). Values travel in their *stored form* (`Codec`):
the text SQLite keeps for datetimes, dates and JSON, or what psycopg hands back on PostgreSQL,
so the existing rows of a page are compared with what arrived without decoding a thing.
SQLite gets prepared `executemany`; PostgreSQL gets binary `COPY` for new rows; id lists are one
parameter (a JSON array on SQLite, an array on PostgreSQL), so a page costs a handful of
statements whatever its size, and the same few statements every page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

CONTENT = (
    "name",
    "role",
    "record_date",
    "details",
    "locator",
    "legal_hold_until",
    "legal_basis",
)
RECORD_COLUMNS = (
    "subject_id",
    "system",
    "stream",
    "external_id",
    "kind",
    "first_seen",
    "last_seen",
    "seen_round",
    *CONTENT,
)
SUBJECT_COLUMNS = (
    "id", "pseudonym", "email", "display_name", "first_seen", "last_seen", "last_activity",
)  # fmt: skip
# PostgreSQL types of the columns COPY writes, for binary COPY (4.4 µs a row against 12.5 µs as
# text here: psycopg formats text row by row, binary by column type once). A json column's
# binary form is its text, so details and locator (JSON text already) go as "text": as "json",
# psycopg would encode the string once more and store a JSON string (test_codec.py).
POSTGRES_TYPES = {
    "id": "int8", "subject_id": "int8", "system": "varchar", "stream": "varchar",
    "external_id": "varchar", "kind": "varchar", "first_seen": "timestamptz",
    "last_seen": "timestamptz", "seen_round": "int4", "name": "varchar", "role": "varchar",
    "record_date": "timestamptz", "details": "text", "locator": "text", "legal_hold_until": "date",
    "legal_basis": "varchar", "pseudonym": "varchar", "email": "varchar",
    "display_name": "varchar", "last_activity": "timestamptz",
}  # fmt: skip
RECORD_TYPES = tuple(POSTGRES_TYPES[c] for c in RECORD_COLUMNS)
SUBJECT_TYPES = tuple(POSTGRES_TYPES[c] for c in SUBJECT_COLUMNS)
EMPTY_JSON = "{}"
FETCH_ROWS = 2000


def _json(value: Mapping[str, Any] | None) -> str:
    """The same text SQLAlchemy's JSON type writes (json.dumps defaults), so rows compare."""
    return json.dumps(dict(value)) if value else EMPTY_JSON


JSON_CACHE = 4096  # distinct mappings remembered; the same few (a status, a list, a mailbox)
# recur on every record, so the cache starts over when it fills with one-off ones


class Codec:
    """Python values to their stored form, per dialect (SQLite keeps text, psycopg objects).

    A record's details and locator are mostly the same few small mappings (a list id, a status,
    a mailbox): their JSON text is made once per content, whatever object carries it (0.3 µs
    against 1.9 µs for json.dumps), so no connector has to share its mappings for speed."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._texts: dict[tuple[tuple[str, Any], ...], str] = {}

    def when(self, value: datetime | None) -> Any:
        if value is None:
            return None
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if self.sqlite:  # SQLAlchemy's SQLite DATETIME text, in UTC
            return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 (fastest here)
                moment.year,
                moment.month,
                moment.day,
                moment.hour,
                moment.minute,
                moment.second,
                moment.microsecond,
            )
        return moment

    def day(self, value: date | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.isoformat()

    def json(self, value: Mapping[str, Any] | None) -> str:
        if not value:
            return EMPTY_JSON
        key = tuple(value.items())  # in order: json.dumps keeps it, so equal keys, equal text
        try:
            known = self._texts.get(key)
        except TypeError:  # a value that cannot be a key (a list): not remembered
            return _json(value)
        if known is None:
            if len(self._texts) >= JSON_CACHE:
                self._texts.clear()
            known = self._texts[key] = _json(value)
        return known


class Store:
    """Raw statements for one page, on the session's connection (its transaction)."""

    def __init__(self, conn: Connection, codec: Codec | None = None) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        assert raw is not None
        self.raw: Any = raw
        self.codec = (
            codec if codec is not None and codec.sqlite == self.sqlite else Codec(self.sqlite)
        )
        self.mark = "?" if self.sqlite else "%s"

    # -- reads ----------------------------------------------------------------------------

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` in a list bound as one parameter: a JSON array on SQLite (`json_each`), an
        array on PostgreSQL (`= ANY`). The statement reads the same whatever the list's length,
        so the driver caches one statement, not one per length (on SQLite, with a page's ids
        inlined as `IN (?, ?, …)`, those held 15 MiB by the end of a 40,000-item sync)."""
        if not self.sqlite:
            return f"{column} = ANY(%b)", [list(values)]  # binary: no per-element quoting
        return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]

    def select_in(
        self, head: str, column: str, values: Sequence[Any], args: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """`head` ends in WHERE …; `args` are its parameters before the IN list."""
        if not values:
            return []
        clause, params = self._in(column, values)
        cursor = self.raw.cursor()
        try:
            cursor.execute(f"{head} {clause}", [*args, *params])
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def tombstoned(self, pseudonyms: Sequence[str]) -> set[str]:
        rows = self.select_in("SELECT pseudonym FROM tombstones WHERE", "pseudonym", pseudonyms)
        return {r[0] for r in rows}

    def subjects(self, pseudonyms: Sequence[str]) -> list[tuple[int, str, str | None]]:
        head = "SELECT id, pseudonym, display_name FROM subjects WHERE"
        return [(r[0], r[1], r[2]) for r in self.select_in(head, "pseudonym", pseudonyms)]

    def subject_names(self) -> Iterator[tuple[int, str]]:
        """(id, display name) of every named subject, a few thousand rows at a time (all of them
        at once, as driver and SQLAlchemy rows, were ~7 MiB at the peak of a sync)."""
        cursor = self.raw.cursor()
        try:
            cursor.execute("SELECT id, display_name FROM subjects WHERE display_name IS NOT NULL")
            while rows := cursor.fetchmany(FETCH_ROWS):
                for sid, name in rows:
                    yield int(sid), str(name)
        finally:
            cursor.close()

    def existing(self, system: str, stream: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """(id, external_id, kind, subject_id, restricted, removed, *CONTENT in stored form)."""
        json_cols = "details, locator" if self.sqlite else "details::text, locator::text"
        head = (
            "SELECT id, external_id, kind, subject_id, restricted_at IS NOT NULL,"
            f" removed_at IS NOT NULL, name, role, record_date, {json_cols},"
            f" legal_hold_until, legal_basis FROM records WHERE system = {self.mark}"
            f" AND stream = {self.mark} AND"
        )
        return self.select_in(head, "external_id", ids, (system, stream))

    # -- writes ---------------------------------------------------------------------------

    def insert_subjects(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """(pseudonym, email, display_name, first_seen, last_seen, last_activity), all in
        stored form -> [(id, pseudonym)]."""
        if not rows:
            return []
        cursor = self.raw.cursor()
        try:
            if not self.sqlite:  # ids from the sequence in one round trip, then one COPY
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('subjects', 'id'))"
                    " FROM generate_series(1, %s)",
                    [len(rows)],
                )
                ids = [int(r[0]) for r in cursor.fetchall()]
                with cursor.copy(
                    f"COPY subjects ({', '.join(SUBJECT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(SUBJECT_TYPES)
                    for sid, r in zip(ids, rows, strict=True):
                        copy.write_row((sid, *r))
                return [(sid, r[0]) for sid, r in zip(ids, rows, strict=True)]
            # BEGIN IMMEDIATE holds SQLite's write lock: ids can be handed out here, which lets
            # one prepared executemany replace a RETURNING statement per batch.
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM subjects")
            first = int(cursor.fetchone()[0]) + 1
            cursor.executemany(
                f"INSERT INTO subjects ({', '.join(SUBJECT_COLUMNS)}) VALUES (?,?,?,?,?,?,?)",
                [(first + n, *r) for n, r in enumerate(rows)],
            )
            return [(first + n, r[0]) for n, r in enumerate(rows)]
        finally:
            cursor.close()

    def insert_records(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """New records in RECORD_COLUMNS order, already in stored form."""
        if not rows:
            return
        cursor = self.raw.cursor()
        try:
            if self.sqlite:
                cursor.executemany(
                    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)})"
                    f" VALUES ({','.join('?' * len(RECORD_COLUMNS))})",
                    rows,
                )
            else:
                with cursor.copy(
                    f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(RECORD_TYPES)
                    for r in rows:
                        copy.write_row(r)
        finally:
            cursor.close()

    def rewrite_records(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(last_seen, seen_round, *CONTENT, id): a changed or revived record."""
        if not rows:
            return
        sets = ", ".join(f"{c} = {self.mark}" for c in ("last_seen", "seen_round", *CONTENT))
        cursor = self.raw.cursor()
        try:
            cursor.executemany(
                f"UPDATE records SET {sets}, removed_at = NULL WHERE id = {self.mark}", rows
            )
        finally:
            cursor.close()

    def update_ids(
        self, table: str, assignments: str, args: Sequence[Any], ids: Sequence[int]
    ) -> int:
        """`UPDATE table SET assignments WHERE id IN ids`; returns the rows changed."""
        if not ids:
            return 0
        clause, params = self._in("id", ids)
        cursor = self.raw.cursor()
        try:
            cursor.execute(f"UPDATE {table} SET {assignments} WHERE {clause}", [*args, *params])
            return max(0, cursor.rowcount or 0)
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self.raw.cursor()
        try:
            cursor.executemany(sql if self.sqlite else sql.replace("?", "%s"), rows)
        finally:
            cursor.close()
