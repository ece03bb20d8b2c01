"""[retention] validation: defaults, every problem reported with its key path, and the schema:
the migrations build exactly the tables the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from syncaudit.config import load_config
from syncaudit.db import make_engine, migrate
from syncaudit.models import Base
from syncaudit.rights.settings import RetentionSettings, SummarySettings, parse_retention

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = [
    {"name": "outlook", "type": "msgraph", "mailboxes": ["Coach@Example.fi", "b@example.fi"]},
    {"name": "newsletter", "type": "mailchimp"},
    {"name": "mailmunch", "type": "manual"},
]


def parse(retention: Any) -> tuple[RetentionSettings, list[str]]:
    problems: list[str] = []
    settings = parse_retention({"systems": SYSTEMS, "retention": retention}, {}, problems)
    return settings, problems


def test_defaults_without_a_section() -> None:
    problems: list[str] = []
    settings = parse_retention({}, {}, problems)
    assert problems == []
    assert settings == RetentionSettings(inactive_years=5, marketing_systems=(), summaries=None)


def test_a_valid_section() -> None:
    settings, problems = parse(
        {
            "inactive_years": 3,
            "marketing_systems": ["mailmunch"],
            "summaries": {
                "system": "outlook",
                "mailbox": "coach@example.fi",
                "folders": ["Coaching summaries"],
                "sent_subject_prefixes": ["Coaching summary"],
                "delete": True,
            },
        }
    )
    assert problems == []
    assert settings.summaries == SummarySettings(
        system="outlook",
        mailbox="Coach@Example.fi",  # as the system's table writes it (the connector's key)
        folders=("Coaching summaries",),
        sent_subject_prefixes=("Coaching summary",),
        keep_years=2,
        delete=True,
    )
    assert settings.summaries.sources() == [
        ("Coaching summaries", ()),
        ("sentitems", ("Coaching summary",)),
    ]


def test_every_problem_with_its_key_path() -> None:
    _, problems = parse(
        {
            "inactive_years": 7,
            "marketing_systems": ["mailmunk"],
            "typo": 1,
            "summaries": {
                "system": "newsletter",
                "folders": [],
                "keep_years": 0,
                "delete": "yes",
            },
        }
    )
    assert sorted(p.split(":")[0] for p in problems) == sorted(
        [
            "retention.inactive_years",
            "retention.marketing_systems[0]",
            "retention.typo",
            "retention.summaries.system",
            "retention.summaries.folders",
            "retention.summaries.keep_years",
            "retention.summaries.delete",
        ]
    )
    _, problems = parse({"summaries": {"system": "outlook", "mailbox": "x@example.fi"}})
    assert [p.split(":")[0] for p in problems] == [
        "retention.summaries.mailbox",
        "retention.summaries.folders",
    ]
    _, problems = parse("no")
    assert problems == ["retention: must be a table ([retention])"]


def test_the_example_config_has_a_valid_retention_section() -> None:
    env = {
        "SYNCAUDIT_PSEUDONYM_KEY": "00" * 32,
        "SYNCAUDIT_GRAPH_SECRET": "s",
        "SYNCAUDIT_MAILCHIMP_KEY": "k-us6",
    }
    settings = load_config(ROOT / "config.example.toml", env)
    assert settings.retention.marketing_systems == ("mailmunch",)
    assert settings.retention.summaries.system == "outlook"
    assert settings.retention.summaries.mailbox == "coach@example.fi"
    assert settings.retention.summaries.delete is False


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)  # every migration in turn, as an old index is upgraded
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
