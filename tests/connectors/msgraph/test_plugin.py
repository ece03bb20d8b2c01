"""Settings validation, the plugin's profile, and that importing the plugin stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from syncaudit.errors import ConfigError
from syncaudit_msgraph.plugin import PLUGIN, MsGraphSettings

ENV = {"SECRET_VAR": "s3cr3t-value"}


def table(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "outlook",
        "type": "msgraph",
        "tenant_id": "tenant",
        "client_id": "client",
        "client_secret_env": "SECRET_VAR",
        "mailboxes": ["coach@example.fi"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_defaults_and_secret_from_environment() -> None:
    settings = PLUGIN.parse_settings(table(), path="systems[0]", env=ENV)
    assert isinstance(settings, MsGraphSettings)
    assert settings.client_secret.reveal() == "s3cr3t-value"
    assert settings.base_url == "https://graph.microsoft.com/v1.0"
    assert settings.authority == "https://login.microsoftonline.com"
    assert (settings.calendar_past_days, settings.calendar_future_days) == (2190, 365)
    assert settings.calendar_policy == "redact"
    assert "s3cr3t" not in repr(settings)


def test_every_problem_is_reported_at_once() -> None:
    raw = table(
        tenant_id="",
        mailboxes=["coach@example.fi", "not an address"],
        authority="http://login.example",
        base_url="http://graph.example/v1.0",
        calendar_policy="shred",
        calendar_past_days=-1,
        colour="blue",
    )
    with pytest.raises(ConfigError) as caught:
        PLUGIN.parse_settings(raw, path="systems[2]", env={})
    text = "\n".join(caught.value.problems)
    for key in (
        "tenant_id",
        "mailboxes[1]",
        "authority",
        "base_url",
        "calendar_policy",
        "calendar_past_days",
        "colour",
    ):
        assert f"systems[2].{key}" in text
    assert "not an address" not in text  # the value is not echoed


def test_certificate_instead_of_secret(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\n")
    settings = PLUGIN.parse_settings(
        table(client_secret_env=None, client_certificate_path=str(pem)), path="s", env={}
    )
    assert settings.client_certificate_path == str(pem)
    assert settings.client_secret.reveal() == ""
    with pytest.raises(ConfigError, match="client_secret_env"):
        PLUGIN.parse_settings(table(client_certificate_path=str(pem)), path="s", env=ENV)
    with pytest.raises(ConfigError, match="client_certificate_path"):
        PLUGIN.parse_settings(
            table(client_secret_env=None, client_certificate_path=str(tmp_path / "no.pem")),
            path="s",
            env={},
        )


def test_plain_http_is_allowed_on_loopback_only() -> None:
    settings = PLUGIN.parse_settings(
        table(base_url="http://127.0.0.1:8080/v1.0/"), path="s", env=ENV
    )
    assert settings.base_url == "http://127.0.0.1:8080/v1.0"


def test_default_profile_names_microsoft_ireland() -> None:
    settings = PLUGIN.parse_settings(table(), path="s", env=ENV)
    profile = PLUGIN.default_profile(settings)
    assert (profile.country, profile.vendor) == ("IE", "Microsoft Ireland Operations Ltd")
    assert "US" in profile.sub_processor_countries


def test_importing_the_plugin_imports_no_sdk() -> None:
    code = (
        "import sys, syncaudit_msgraph.plugin as p\n"
        "assert p.PLUGIN.kind == 'msgraph'\n"
        "heavy = sorted(m for m, mod in sys.modules.items() if mod is not None and"  # None: a stub
        " m.split('.')[0] in {'msgraph', 'msgraph_core', 'kiota_abstractions', 'kiota_http',"
        " 'azure', 'msal', 'httpx'})\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""
