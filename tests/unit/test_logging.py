from __future__ import annotations

import io
import json

import structlog

from syncaudit import logging as slog
from syncaudit.identity import Pseudonymizer
from syncaudit.sync import run_sync
from syncaudit.testing import FakeConnector, FakeSystem

ADDRESSES = ["Anna.Virtanen@Example.FI", "bob+news@example.com"]


def _capture(fmt: str, db, clock) -> str:
    out = io.StringIO()
    slog.configure(fmt=fmt, level="debug", stream=out)
    pseudo = Pseudonymizer(b"k" * 32)
    slog.set_pseudonymizer(pseudo)
    try:
        system = FakeSystem()
        system.put("1", (ADDRESSES[0], "Anna Virtanen"), (ADDRESSES[1], "Bob"))
        run_sync(db, FakeConnector("crm", system), pseudonymizer=pseudo, clock=clock)
        log = structlog.get_logger("test")
        log.warning("test.leak_attempt", who=ADDRESSES[0], nested={"list": [ADDRESSES[1]]})
        try:
            raise ValueError(f"cannot handle {ADDRESSES[0]}")
        except ValueError:
            log.exception("test.failure")
    finally:
        slog.set_pseudonymizer(None)
        slog.configure()
    return out.getvalue()


def test_console_and_json_logs_contain_no_address(sqlite_db, clock) -> None:
    for fmt in ("console", "json"):
        text = _capture(fmt, sqlite_db, clock)
        assert "sync.finished" in text
        assert "test.leak_attempt" in text
        for address in ADDRESSES:
            assert address.lower() not in text.lower()
        assert "@" not in text
        assert "p:" in text  # replaced by pseudonyms
    lines = [json.loads(line) for line in _capture("json", sqlite_db, clock).splitlines()]
    assert {line["event"] for line in lines} >= {"sync.finished", "test.failure"}
