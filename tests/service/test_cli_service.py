"""`syncaudit run --once` and `syncaudit status` through the command line (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncaudit.cli import app
from syncaudit.testing import CONTRACT_KEY

from .conftest import ANNA, write_exports

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exports = write_exports(tmp_path / "exports")
    path = tmp_path / "syncaudit.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "index.db"}"
[service]
report_dir = "{tmp_path / "reports"}"
[[systems]]
name = "books"
type = "accounting_export"
path = "{exports}"
[[systems]]
name = "paper"
type = "manual"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(path))
    return path


def test_run_once_runs_what_is_due_then_nothing_until_the_next_tick(config: Path) -> None:
    result = runner.invoke(app, ["run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sync:books" in result.output
    assert "monthly_report" in result.output
    assert "3 job(s) run, 0 erasure task step(s)" in result.output

    again = runner.invoke(app, ["run", "--once", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["jobs"] == []


def test_status_shows_pulls_queue_requests_schedule_and_audit_head(config: Path) -> None:
    runner.invoke(app, ["run", "--once"])
    erase = runner.invoke(app, ["erase", ANNA, "--yes"])
    assert erase.exit_code == 0, erase.output
    runner.invoke(app, ["run", "--once"])

    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "service: not running"
    assert any(line.startswith("  books          last ok 20") for line in lines)
    assert "  paper          no pulls" in lines
    assert "queue: 0 due, 0 waiting to retry, 0 running, 1 awaiting you, 0 failed" in lines
    assert "open requests: 1" in lines
    assert "breaches: 0" in lines
    assert any(line.startswith("  monthly_report         next 20") for line in lines)
    assert lines[-1].startswith("audit chain: ")
    assert ANNA not in result.output

    view = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    [request] = view["open_requests"]
    assert request["tasks"] == {"books": "retained", "paper": "awaiting_manual"}
    assert 47 < request["hours_left"] <= 48
    assert view["queue"]["awaiting_manual"] == 1
    assert view["worker"] == {"running": False}
    assert view["audit"]["entries"] > 0
