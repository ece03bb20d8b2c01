from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncaudit import registry
from syncaudit.cli import app
from syncaudit.testing import CONTRACT_KEY, FakePlugin, FakeSystem

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    registry.register(FakePlugin())
    FakePlugin.systems.clear()
    system = FakePlugin.systems.setdefault("crm", FakeSystem())
    system.put("c1", ("Anna.Virtanen@Example.FI", "Anna Virtanen"))
    system.put("c2", ("bob@example.fi", "Bob Berg"))
    path = tmp_path / "syncaudit.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "db.sqlite"}"
[[systems]]
name = "crm"
type = "fake"
[[systems]]
name = "paper"
type = "manual"
instructions = "Shred the card."
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(path))
    return path


def test_sync_subject_erase_confirm_audit(config: Path) -> None:
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "crm: ok, 2 items" in result.output

    result = runner.invoke(app, ["subject", "ANNA.virtanen@example.fi", "--json"])
    view = json.loads(result.output)
    assert view["found"]
    assert [r["external_id"] for r in view["records"]] == ["c1"]

    result = runner.invoke(app, ["erase", "anna.virtanen@example.fi", "--dry-run"])
    assert result.exit_code == 0
    assert "crm: delete item c1" in result.output
    assert "paper: manual" in result.output
    assert "c1" in FakePlugin.systems["crm"].items

    result = runner.invoke(app, ["erase", "anna.virtanen@example.fi"])  # not a terminal
    assert result.exit_code == 2
    assert "refusing to erase without confirmation" in result.output

    result = runner.invoke(app, ["erase", "anna.virtanen@example.fi", "--yes", "--wait"])
    assert result.exit_code == 0, result.output
    assert "crm            erased" in result.output
    assert "paper          awaiting_manual" in result.output
    request_id = result.output.split("request ")[1].split(":")[0]

    result = runner.invoke(app, ["erasure", "confirm", request_id, "paper", "--note", "done"])
    assert result.exit_code == 0, result.output
    assert f"request {request_id}: completed" in result.output

    result = runner.invoke(app, ["erasures", "--json"])
    assert json.loads(result.output)[0]["within_deadline"] is True
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0
    assert "audit chain ok" in result.output
    result = runner.invoke(app, ["subject", "anna.virtanen@example.fi"])
    assert "erased by request" in result.output


def test_errors_are_one_line_with_next_step_and_exit_codes(config: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["subject", "not-an-address"])
    assert result.exit_code == 2
    assert "error: invalid email address: must contain exactly one @" in result.output
    assert "next:" in result.output
    assert "Traceback" not in result.output

    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "systems"])
    assert result.exit_code == 2
    assert "no configuration file found" in result.output

    result = runner.invoke(app, ["erasure", "show", "E-nope"])
    assert result.exit_code == 2
    assert "no request E-nope" in result.output


def test_systems_lists_country_and_safeguard(config: Path) -> None:
    runner.invoke(app, ["sync"])
    result = runner.invoke(app, ["systems", "--json"])
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["crm"]["safeguard"] == "eea"
    assert rows["crm"]["subjects"] == 2
    assert rows["paper"]["last_sync"] is None


def test_init_writes_config_and_private_key_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["init", "--path", str(tmp_path / "s.toml"), "--key-file", str(tmp_path / "key")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    assert "export SYNCAUDIT_PSEUDONYM_KEY=" in result.output
    again = runner.invoke(app, ["init", "--path", str(tmp_path / "s.toml")])
    assert again.exit_code == 2


HEAVY = (
    "msgraph",
    "azure",
    "kiota",
    "sqlalchemy",
    "mailchimp_marketing",
    "starlette",
    "uvicorn",
    "argon2",
    "jinja2",
)
PROBE = """
import sys
sys.argv = {argv!r}
from syncaudit.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED=" + ",".join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))
"""


def _loaded(argv: list[str], env: dict[str, str] | None = None) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("LOADED="))
    return {m for m in line.removeprefix("LOADED=").split(",") if m}


def test_help_loads_no_heavy_module() -> None:
    assert _loaded(["syncaudit", "--help"]) == set()


def test_subject_lookup_never_imports_msgraph(tmp_path: Path) -> None:
    import os

    path = tmp_path / "c.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "db.sqlite"}"
[[systems]]
name = "outlook"
type = "msgraph"
tenant_id = "t"
client_id = "c"
client_secret_env = "GRAPH_SECRET"
mailboxes = ["coach@example.fi"]
""",
        encoding="utf-8",
    )
    env = {**os.environ, "SYNCAUDIT_PSEUDONYM_KEY": "ab" * 32, "GRAPH_SECRET": "x"}
    loaded = _loaded(["syncaudit", "--config", str(path), "subject", "a@example.fi"], env)
    assert "msgraph" not in loaded
    assert "azure" not in loaded
    assert "sqlalchemy" in loaded  # it did open the index
