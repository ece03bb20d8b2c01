"""The operator's table is validated once, with every problem reported together."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from syncaudit.contract import TransferMechanism
from syncaudit.errors import ConfigError
from syncaudit_accounting.plugin import PLUGIN
from syncaudit_accounting.settings import AccountingSettings

ISSUE_EXAMPLE = """
[[systems]]
name = "accounting"
type = "accounting_export"
path = "/srv/exports/accounting"
patterns = ["*.xml", "*.csv"]
financial_year_end = "12-31"
voucher_retention_years = 6
csv_columns = {}
country = "FI"
"""


def test_the_issue_example_loads() -> None:
    table = tomllib.loads(ISSUE_EXAMPLE)["systems"][0]
    settings = PLUGIN.parse_settings(table, path="systems[0]", env={})
    assert settings == AccountingSettings(path=Path("/srv/exports/accounting"))
    profile = PLUGIN.default_profile(settings)
    assert (profile.country, profile.transfer_mechanism) == ("FI", TransferMechanism.EEA)


def test_options_are_read() -> None:
    settings = PLUGIN.parse_settings(
        {
            "path": "/x",
            "patterns": ["*.XML"],
            "financial_year_end": "02-29",
            "voucher_retention_years": 10,
            "csv_columns": {"buyer_email": "Sähköpostiosoite"},
            "country": "se",
            "max_file_mb": 200,
        },
        path="systems[2]",
        env={},
    )
    assert settings.financial_year_end == "02-29"
    assert settings.voucher_retention_years == 10
    assert settings.csv_columns == {"buyer_email": "Sähköpostiosoite"}
    assert settings.max_file_bytes == 200 * 1024 * 1024
    assert PLUGIN.default_profile(settings).transfer_mechanism is TransferMechanism.EEA


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        PLUGIN.parse_settings(
            {
                "patterns": "*.xml",
                "financial_year_end": "31.12.",
                "voucher_retention_years": 5,
                "csv_columns": {"email": "Sähköposti", "buyer_name": 3},
                "max_file_mb": 0,
                "finacial_year_end": "12-31",
            },
            path="systems[1]",
            env={},
        )
    text = "\n".join(info.value.problems)
    for expected in (
        "systems[1].path: is required",
        "systems[1].patterns: must be a list of strings",
        'systems[1].financial_year_end: must look like "MM-DD"',
        "systems[1].voucher_retention_years: must be at least 6",
        "systems[1].csv_columns.email: unknown field",
        "systems[1].csv_columns.buyer_name: must be the header text",
        "systems[1].max_file_mb: must be at least 1",
        "systems[1].finacial_year_end: unknown key (typo?)",
    ):
        assert expected in text
    assert len(info.value.problems) == 8


def test_a_country_outside_the_eea_has_no_assumed_safeguard() -> None:
    settings = PLUGIN.parse_settings({"path": "/x", "country": "US"}, path="s", env={})
    assert PLUGIN.default_profile(settings).transfer_mechanism is TransferMechanism.UNKNOWN


def test_importing_the_plugin_is_cheap() -> None:
    heavy = [
        "defusedxml",
        "syncaudit_accounting.csvfile",
        "syncaudit_accounting.finvoice",
        "syncaudit_accounting.connector",
        "syncaudit_accounting.corpus",
    ]
    code = (
        "import sys, syncaudit_accounting.plugin; "
        f"loaded = [m for m in {heavy!r} if m in sys.modules]; print(loaded); assert not loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_folder_is_a_permanent_error(tmp_path: Path) -> None:
    from syncaudit.clock import ManualClock
    from syncaudit.errors import PermanentError

    settings = PLUGIN.parse_settings({"path": str(tmp_path / "nope")}, path="s", env={})
    conn = PLUGIN.create(
        "accounting", settings, PLUGIN.default_profile(settings), clock=ManualClock()
    )
    with pytest.raises(PermanentError, match="does not exist"):
        conn.check()
    with pytest.raises(PermanentError):
        list(conn.pull({"file:a.xml": "abc"}))  # an unmounted share is not "every file vanished"
