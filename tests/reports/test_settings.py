"""[reports] and [[activities]]: validated at load, every problem reported with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncaudit.config import load_config
from syncaudit.errors import ConfigError
from syncaudit.reports.settings import Activity, ReportsSettings, parse_reports
from syncaudit.testing import CONTRACT_KEY

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = [{"name": "crm", "type": "fake"}, {"name": "books", "type": "fake"}]


def _parse(raw: dict[str, Any]) -> tuple[ReportsSettings, list[str]]:
    problems: list[str] = []
    return parse_reports({"systems": SYSTEMS, **raw}, {}, problems), problems


def test_defaults_without_the_sections() -> None:
    settings, problems = _parse({})
    assert problems == []
    assert settings == ReportsSettings()
    assert settings.formats == ("html",)
    assert settings.timezone == "Europe/Helsinki"


def test_a_full_configuration() -> None:
    settings, problems = _parse(
        {
            "reports": {"formats": ["html", "pdf"], "timezone": "UTC", "security_measures": ["x"]},
            "activities": [
                {
                    "name": "Clients",
                    "purposes": ["coaching"],
                    "legal_bases": ["contract", "legal_obligation"],
                    "systems": ["crm", "books"],
                    "retention": "6 years",
                }
            ],
        }
    )
    assert problems == []
    assert settings.formats == ("html", "pdf")
    assert settings.activities == (
        Activity(
            name="Clients",
            purposes=("coaching",),
            legal_bases=("contract", "legal_obligation"),
            systems=("crm", "books"),
            retention="6 years",
        ),
    )


def test_every_problem_is_reported_with_its_key_path() -> None:
    _, problems = _parse(
        {
            "reports": {"formats": ["html", "docx"], "timezone": "Mars/Olympus", "colour": "red"},
            "activities": [
                {"name": "A", "purposes": [], "legal_bases": ["because"], "systems": ["erp"]},
                {"name": "A", "purposes": ["p"], "legal_bases": ["consent"], "retension": "x"},
                "not a table",
            ],
        }
    )
    assert "reports.formats: 'docx' is not one of html, pdf, md, json" in problems
    assert any(p.startswith("reports.timezone: 'Mars/Olympus'") for p in problems)
    assert "reports.colour: unknown key (typo?)" in problems
    assert any(p.startswith("activities[0].purposes: is required") for p in problems)
    assert any(p.startswith("activities[0].legal_bases: 'because' is not one of") for p in problems)
    assert any(p.startswith("activities[0].systems: no system named 'erp'") for p in problems)
    assert "activities[1].name: 'A' is used by two activities" in problems
    assert "activities[1].retension: unknown key (typo?)" in problems
    assert "activities[2]: must be a table" in problems


def test_problems_reach_the_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[reports]\nformats = "html"\n[[activities]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, {"SYNCAUDIT_PSEUDONYM_KEY": CONTRACT_KEY.hex()})
    problems = info.value.problems
    assert "reports.formats: must be a list of strings" in problems
    assert any(p.startswith("activities[0].legal_bases") for p in problems)


def test_the_example_configuration_has_a_valid_record_of_processing() -> None:
    env = {
        "SYNCAUDIT_PSEUDONYM_KEY": CONTRACT_KEY.hex(),
        "SYNCAUDIT_GRAPH_SECRET": "s",
        "SYNCAUDIT_MAILCHIMP_KEY": "k-us6",
    }
    settings = load_config(ROOT / "config.example.toml", env)
    reports = settings.reports
    assert isinstance(reports, ReportsSettings)
    assert reports.formats == ("html", "pdf")
    assert [a.name for a in reports.activities] == ["Coaching and training clients", "Newsletter"]
    assert all(a.purposes and a.legal_bases and a.retention for a in reports.activities)
