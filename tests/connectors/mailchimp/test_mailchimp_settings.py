from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from syncaudit.contract import TransferMechanism, missing_secrets
from syncaudit.errors import ConfigError, MissingSecret
from syncaudit_mailchimp.plugin import PLUGIN

ENV = {"SYNCAUDIT_MAILCHIMP_KEY": "0123456789abcdef0123456789abcdef-us6"}


def table(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "newsletter",
        "type": "mailchimp",
        "api_key_env": "SYNCAUDIT_MAILCHIMP_KEY",
        "audiences": [],
        "base_url": "",
        "country": "US",
        "transfer_mechanism": "DPF",
    }
    raw.update(overrides)
    return raw


def test_the_documented_table_loads_with_defaults() -> None:
    settings = PLUGIN.parse_settings(table(), path="systems[0]", env=ENV)
    assert settings.api_key.reveal() == ENV["SYNCAUDIT_MAILCHIMP_KEY"]
    assert settings.data_centre == "us6"
    assert settings.audiences == ()
    assert settings.reconcile_days == 7
    assert settings.max_connections <= 10
    assert settings.reuse_connections is True
    assert ENV["SYNCAUDIT_MAILCHIMP_KEY"] not in repr(settings)


def test_every_problem_is_reported_at_once() -> None:
    raw = table(
        audiences=["good1", "bad id!"],
        base_url="ftp://proxy",
        max_connections=11,
        reconcile_days=0,
        reconcile_dayz=3,
    )
    with pytest.raises(ConfigError) as err:
        PLUGIN.parse_settings(raw, path="systems[1]", env={})
    text = "\n".join(err.value.problems)
    for expected in (
        "systems[1].audiences: 'bad id!'",
        "systems[1].base_url: must start with http",
        "systems[1].max_connections: Mailchimp allows at most 10",
        "systems[1].reconcile_days: must be at least 1",
        "systems[1].reconcile_dayz: unknown key",
    ):
        assert expected in text
    assert len(err.value.problems) == 5  # the unset key is not a problem of the file


def test_an_unset_key_is_demanded_only_when_mailchimp_is_called() -> None:
    settings = PLUGIN.parse_settings(table(), path="systems[1]", env={})
    assert [s.var for s in missing_secrets(settings)] == ["SYNCAUDIT_MAILCHIMP_KEY"]
    with pytest.raises(MissingSecret) as err:
        settings.api_key.reveal()
    assert str(err.value) == (
        "systems[1].api_key_env: environment variable SYNCAUDIT_MAILCHIMP_KEY is not set"
    )
    assert "SYNCAUDIT_MAILCHIMP_KEY" in err.value.next_step


def test_a_key_without_data_centre_needs_base_url() -> None:
    env = {"SYNCAUDIT_MAILCHIMP_KEY": "no-data-centre-suffix-"}
    with pytest.raises(ConfigError) as err:
        PLUGIN.parse_settings(table(), path="systems[0]", env=env)
    assert "data centre" in str(err.value)
    assert env["SYNCAUDIT_MAILCHIMP_KEY"] not in str(err.value)
    ok = PLUGIN.parse_settings(table(base_url="http://127.0.0.1:1/3.0/"), path="s", env=env)
    assert ok.base_url == "http://127.0.0.1:1/3.0"


def test_default_profile_is_the_us_on_dpf() -> None:
    settings = PLUGIN.parse_settings(table(), path="s", env=ENV)
    profile = PLUGIN.default_profile(settings)
    assert profile.country == "US"
    assert profile.transfer_mechanism is TransferMechanism.DPF
    assert "SCC" in profile.transfer_reference
    assert "Mailchimp" in profile.vendor


def test_importing_the_plugin_does_not_import_the_sdk() -> None:
    code = (
        "import sys, syncaudit_mailchimp.plugin as p; "
        "assert p.PLUGIN.kind == 'mailchimp'; "
        "assert 'mailchimp_marketing' not in sys.modules; "
        "assert 'requests' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
