"""syncaudit user add|list|passwd|remove, and the [web] section of the configuration."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncaudit.cli import app
from syncaudit.config import parse_config
from syncaudit.errors import ConfigError
from syncaudit.testing import CONTRACT_KEY

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "syncaudit.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n', encoding="utf-8")
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(path))
    return path


def test_accounts_are_made_listed_changed_and_removed(config: Path) -> None:
    added = runner.invoke(
        app, ["user", "add", "owner", "--password-stdin"], input="long enough pw\n"
    )
    assert added.exit_code == 0, added.output
    again = runner.invoke(
        app, ["user", "add", "owner", "--password-stdin"], input="long enough pw\n"
    )
    assert again.exit_code == 2
    assert "exists already" in again.output
    listed = json.loads(runner.invoke(app, ["user", "list", "--json"]).output)
    assert [a["name"] for a in listed] == ["owner"]
    changed = runner.invoke(
        app, ["user", "passwd", "owner", "--password-stdin"], input="another long one\n"
    )
    assert changed.exit_code == 0, changed.output
    assert "0 session(s) signed out" in changed.output
    removed = runner.invoke(app, ["user", "remove", "owner"])
    assert removed.exit_code == 0
    assert "no accounts" in runner.invoke(app, ["user", "list"]).output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "anna@example.fi", "--password-stdin"], "long enough pw\n", "no '@'"),
        (["user", "add", "Owner", "--password-stdin"], "long enough pw\n", "a-z"),
        (["user", "add", "owner", "--password-stdin"], "short\n", "10 to 1024"),
        (["user", "add", "owner"], "", "no terminal"),
        (["user", "remove", "nobody"], "", "no account 'nobody'"),
    ],
)
def test_bad_names_and_passwords_are_refused(
    config: Path, args: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def _parse(web: dict[str, object]) -> object:
    env = {"K": CONTRACT_KEY.hex()}
    return parse_config({"identity": {"key_env": "K"}, "web": web}, env, source=None)


def test_the_web_section_is_validated_at_load() -> None:
    settings = _parse(
        {"enabled": True, "port": 0, "idle_timeout": "15m", "trusted_proxies": ["::1"]}
    )
    web = settings.web  # type: ignore[attr-defined]
    assert (web.enabled, web.port, web.host) == (True, 0, "127.0.0.1")
    assert web.idle_timeout == timedelta(minutes=15)
    with pytest.raises(ConfigError) as info:
        _parse({"port": 70000, "idle_timeout": "1d", "trusted_proxies": ["proxy"], "typo": 1})
    problems = "\n".join(info.value.problems)
    for expected in ("web.port", "web.idle_timeout", "web.trusted_proxies[0]", "typo"):
        assert expected in problems


def test_syncaudit_web_serves_on_loopback_and_stops_on_ctrl_c(config: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    script = Path(sys.executable).with_name("syncaudit")
    process = subprocess.Popen(
        [str(script), "--log-format", "json", "web", "--port", "0"],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = ""
        for line in process.stderr:
            if '"web.serving"' in line:
                url = json.loads(line)["url"]
                break
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/signin", timeout=10) as response:
            assert response.status == 200
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert "uvicorn" not in (response.headers.get("server") or "")
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
        rest = process.stderr.read()
        assert '"web.stopped"' in rest
        assert "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
