"""The evidence chain detects tampering: an edited, deleted, reordered or truncated audit row is
named by `audit.verify`, and `syncaudit audit verify` exits 1 naming the entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from syncaudit import audit
from syncaudit.app import App
from syncaudit.cli import app as cli
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.worker import Worker
from syncaudit.models import AuditEntry
from syncaudit.testing import CONTRACT_KEY, FakeSystem

ANNA = "anna.virtanen@example.fi"
Tamper = Callable[[Session], int]  # changes the log; returns the seq verify must name


def _chain(app: App, fake_systems: dict[str, FakeSystem]) -> int:
    """A real erasure's evidence: received, planned, erased, retained, confirmed, completed."""
    app.connector("crm")
    app.connector("books")
    fake_systems["crm"].put("c1", (ANNA, "Anna Virtanen"))
    fake_systems["books"].put("1001", (ANNA, "Anna Virtanen"))
    app.sync()
    request_id = erasure.submit(app, ANNA)
    Worker(app).run_until_idle()
    erasure.confirm(app, request_id, "paper")
    with app.db.session() as s:
        count = int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        assert audit.verify(s).ok
    assert count >= 8
    return count


def _edit_data(s: Session) -> int:
    entry = s.get_one(AuditEntry, 4)
    entry.data = entry.data.replace("}", ',"note":"nothing happened"}', 1)
    return 4


def _edit_time(s: Session) -> int:
    entry = s.get_one(AuditEntry, 3)
    entry.at = entry.at.replace(year=entry.at.year - 1)
    return 3


def _edit_and_rehash(s: Session) -> int:
    """A forger who fixes the edited row's own hash is caught at the next row."""
    entry = s.get_one(AuditEntry, 3)
    entry.event = "request.withdrawn"
    entry.hash = audit.entry_hash(
        entry.prev_hash,
        seq=entry.seq,
        at=entry.at,
        event=entry.event,
        subject=entry.subject,
        request_id=entry.request_id,
        system=entry.system,
        data=entry.data,
    )
    return 4


def _delete_middle(s: Session) -> int:
    s.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    return 5


def _delete_last(s: Session) -> int:
    last = int(s.scalar(select(func.max(AuditEntry.seq))) or 0)
    s.execute(delete(AuditEntry).where(AuditEntry.seq == last))
    return last


def _swap(s: Session) -> int:
    """Entries 2 and 3 change places (every column but the position)."""
    two, three = s.get_one(AuditEntry, 2), s.get_one(AuditEntry, 3)
    columns = ("at", "event", "subject", "request_id", "system", "data", "prev_hash", "hash")
    for column in columns:
        a, b = getattr(two, column), getattr(three, column)
        setattr(two, column, b)
        setattr(three, column, a)
    return 2


TAMPERING: dict[str, Tamper] = {
    "edit data": _edit_data,
    "edit time": _edit_time,
    "edit and rehash": _edit_and_rehash,
    "delete a row": _delete_middle,
    "delete the last row": _delete_last,
    "reorder": _swap,
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_verify_names_the_first_entry_that_does_not_fit(
    make_app: Callable[..., App], fake_systems: dict[str, FakeSystem], tamper: Tamper
) -> None:
    app = make_app()
    _chain(app, fake_systems)
    with app.db.session() as s, s.begin():
        bad = tamper(s)
    with app.db.session() as s:
        check = audit.verify(s)
    assert not check.ok
    assert check.first_bad_seq == bad
    assert check.problem


def test_cli_audit_verify_exits_1_naming_the_entry(
    make_app: Callable[..., App],
    fake_systems: dict[str, FakeSystem],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    app = make_app()
    entries = _chain(app, fake_systems)
    config = tmp_path / "audit.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    runner = CliRunner()

    result = runner.invoke(cli, ["--config", str(config), "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"audit chain ok: {entries} entries" in result.output

    with app.db.session() as s, s.begin():
        _edit_data(s)
    result = runner.invoke(cli, ["--config", str(config), "audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain BROKEN at entry 4: its content was changed" in result.output
