from __future__ import annotations

from pathlib import Path

import pytest

from syncaudit.app import App
from syncaudit.config import load_config, parse_config
from syncaudit.contract import missing_secrets
from syncaudit.errors import ConfigError, MissingSecret

ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = {"SYNCAUDIT_PSEUDONYM_KEY": "ab" * 32}


def problems_of(raw: dict, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, {**KEY_ENV, **(env or {})}, source=None)
    return info.value.problems


def test_minimal_config_loads_with_defaults() -> None:
    settings = parse_config({}, KEY_ENV, source=None)
    assert settings.erasure.deadline_hours == 48
    assert settings.database_url.startswith("sqlite:///")
    assert settings.systems == ()


def test_missing_key_tells_how_to_create_one() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({}, {}, source=None)
    assert info.value.problems == [
        "identity.key_env: environment variable SYNCAUDIT_PSEUDONYM_KEY is not set; "
        "run `syncaudit init` to create a key"
    ]


def test_short_key_refused() -> None:
    assert problems_of({}, {"SYNCAUDIT_PSEUDONYM_KEY": "abcd"}) == [
        "identity.key_env: the key is shorter than 16 bytes"
    ]


def test_every_problem_is_reported_together_with_its_key_path() -> None:
    problems = problems_of(
        {
            "erasure": {"deadline_hours": "two days", "colour": "red"},
            "service": {"sync_interval": "hourly", "notify": "command"},
            "databse": {},
            "systems": [
                {"name": "paper", "type": "manual", "country": "Finland"},
                {"name": "paper", "type": "manual"},
                {"type": "nosuch", "name": "x"},
                {"name": "y"},
            ],
        }
    )
    assert "databse: unknown section (typo?)" in problems
    assert "erasure.deadline_hours: must be a whole number, got 'two days'" in problems
    assert "erasure.colour: unknown key (typo?)" in problems
    assert 'service.sync_interval: use a number with s, m, h or d, e.g. "1h"' in problems
    assert 'service.notify_command: is required with notify = "command"' in problems
    assert "systems[0].country: must be a two-letter country code such as FI or US" in problems
    assert "systems[1].name: 'paper' is used by two systems" in problems
    assert any(p.startswith("systems[2].type: no connector of type 'nosuch'") for p in problems)
    assert any(p.startswith("systems[3].type: is required") for p in problems)
    assert len(problems) == 9


def test_an_unset_secret_is_demanded_only_when_its_system_is_called() -> None:
    raw = {
        "systems": [
            {"name": "newsletter", "type": "mailchimp", "api_key_env": "SYNCAUDIT_MAILCHIMP_KEY"}
        ]
    }
    settings = parse_config(raw, KEY_ENV, source=None)  # the file itself is valid
    newsletter = settings.system("newsletter")
    assert [s.where for s in missing_secrets(newsletter.settings)] == ["systems[0].api_key_env"]
    with App(settings) as app, pytest.raises(MissingSecret) as info:
        app.connector("newsletter")
    assert str(info.value) == (
        "systems[0].api_key_env: environment variable SYNCAUDIT_MAILCHIMP_KEY is not set"
    )
    assert info.value.exit_code == 2


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\nurl=", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad, KEY_ENV)
    assert "not valid TOML" in info.value.problems[0]
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.toml", KEY_ENV)
    assert "no configuration file found" in info.value.problems[0]


def test_config_found_through_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[erasure]\ndeadline_hours = 24\n", encoding="utf-8")
    settings = load_config(None, {**KEY_ENV, "SYNCAUDIT_CONFIG": str(path)})
    assert settings.erasure.deadline_hours == 24


def test_example_config_loads(tmp_path: Path) -> None:
    env = {**KEY_ENV, "SYNCAUDIT_GRAPH_SECRET": "s", "SYNCAUDIT_MAILCHIMP_KEY": "k-us6"}
    settings = load_config(ROOT / "config.example.toml", env)
    assert [s.type for s in settings.systems] == [
        "msgraph",
        "mailchimp",
        "accounting_export",
        "manual",
        "manual",
    ]
    assert settings.system("newsletter").profile.country == "US"
    assert settings.intake is not None and settings.intake.mailbox == "coach@example.fi"
