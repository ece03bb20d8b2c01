"""The [[systems]] table of a Procountor system: defaults, every problem at once, no secrets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from syncaudit.contract import TransferMechanism, missing_secrets
from syncaudit.errors import ConfigError
from syncaudit_procountor.plugin import PLUGIN
from syncaudit_procountor.settings import PRODUCTION_URL

ENV = {"PC_SECRET": "s3cr3t-value", "PC_KEY": "api-key-value"}


def table(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "procountor",
        "type": "procountor",
        "client_id": "syncaudit-valmennus",
        "client_secret_env": "PC_SECRET",
        "api_key_env": "PC_KEY",
    }
    raw.update(overrides)
    return raw


def test_the_documented_table_loads_with_defaults() -> None:
    settings = PLUGIN.parse_settings(table(), path="systems[0]", env=ENV)
    assert settings.base_url == PRODUCTION_URL
    assert settings.client_secret.reveal() == "s3cr3t-value"
    assert settings.api_key.reveal() == "api-key-value"
    assert settings.partner_types == ("CUSTOMER", "PERSON")
    assert (settings.financial_year_end, settings.voucher_retention_years) == ("12-31", 6)
    assert settings.max_requests_per_second == 5
    assert (settings.reconcile_days, settings.lag_seconds) == (7, 600)
    assert "s3cr3t" not in repr(settings) and "api-key-value" not in repr(settings)
    profile = PLUGIN.default_profile(settings)
    assert (profile.country, profile.transfer_mechanism) == ("FI", TransferMechanism.EEA)


def test_the_test_environment_and_a_trailing_slash() -> None:
    raw = table(base_url="https://pts-api.procountor.com/api/", partner_types=["person"])
    settings = PLUGIN.parse_settings(raw, path="s", env=ENV)
    assert settings.base_url == "https://pts-api.procountor.com/api"
    assert settings.partner_types == ("PERSON",)


def test_every_problem_is_reported_at_once() -> None:
    raw = table(
        client_id="",
        base_url="http://api.procountor.com/api",
        partner_types=["CUSTOMER", "VENDOR"],
        voucher_retention_years=5,
        financial_year_end="13-01",
        max_requests_per_second=0,
        notice_language="sv",
        reconcile_dayz=7,
    )
    with pytest.raises(ConfigError) as err:
        PLUGIN.parse_settings(raw, path="systems[2]", env={})
    text = "\n".join(err.value.problems)
    for expected in (
        "systems[2].client_id: is required",
        "systems[2].base_url: must start with https://",
        "systems[2].partner_types: unknown ['VENDOR']",
        "systems[2].voucher_retention_years: must be at least 6",
        "systems[2].financial_year_end: month must be 01-12",
        "systems[2].max_requests_per_second: must be at least 1",
        "systems[2].notice_language: must be one of fi, en",
        "systems[2].reconcile_dayz: unknown key",
    ):
        assert expected in text
    assert len(err.value.problems) == 8  # unset secrets are demanded only when called


def test_unset_secrets_are_demanded_only_when_procountor_is_called() -> None:
    settings = PLUGIN.parse_settings(table(), path="systems[2]", env={})
    assert [s.var for s in missing_secrets(settings)] == ["PC_SECRET", "PC_KEY"]


def test_the_root_must_end_in_api() -> None:
    with pytest.raises(ConfigError, match="ending in /api"):
        PLUGIN.parse_settings(table(base_url="https://api.procountor.com"), path="s", env=ENV)


def test_importing_the_plugin_is_cheap() -> None:
    heavy = [
        "requests",
        "syncaudit_procountor.connector",
        "syncaudit_procountor.transport",
        "syncaudit_procountor.simulator",
    ]
    code = (
        "import sys, syncaudit_procountor.plugin; "
        f"loaded = [m for m in {heavy!r} if m in sys.modules]; print(loaded); assert not loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_commented_table_in_the_example_config_loads() -> None:
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "config.example.toml").read_text("utf-8")
    start = text.index('# name = "procountor"')
    block = text[text.rindex("# [[systems]]", 0, start) : text.index("\n\n", start)]
    raw = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    (table,) = raw["systems"]
    env = {"SYNCAUDIT_PROCOUNTOR_SECRET": "s", "SYNCAUDIT_PROCOUNTOR_API_KEY": "k"}
    settings = PLUGIN.parse_settings(table, path="systems[0]", env=env)
    assert settings.base_url == PRODUCTION_URL and settings.partner_types == ("CUSTOMER", "PERSON")
