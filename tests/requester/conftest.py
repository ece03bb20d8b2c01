"""An App with one Outlook system (the Graph simulator) whose mailbox is the intake mailbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.testing import make_settings
from syncaudit_msgraph.simulator import GraphSimulator

DESK = "privacy@example.fi"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def graph() -> Iterator[GraphSimulator]:
    with GraphSimulator() as sim:
        sim.add_mailbox(DESK, "Privacy desk")
        yield sim


def make_app(
    graph: GraphSimulator,
    tmp_path: Path,
    clock: ManualClock,
    *,
    extra: dict[str, Any] | None = None,
    url: str | None = None,
    **intake: Any,
) -> App:
    settings = make_settings(
        url or f"sqlite:///{tmp_path / 'db.sqlite'}",
        [{**graph.settings([DESK]), "name": "outlook"}],
        extra={
            "intake": {"system": "outlook", "access_dir": str(tmp_path / "access"), **intake},
            **(extra or {}),
        },
        env={"SIM_GRAPH_SECRET": graph.client_secret},
    )
    return App(settings, clock=clock)


@pytest.fixture
def app(graph: GraphSimulator, tmp_path: Path, db_url: str) -> Iterator[App]:
    """On SQLite and on PostgreSQL (the `db_url` fixture)."""
    application = make_app(graph, tmp_path, ManualClock(NOW), url=db_url)
    yield application
    application.close()
