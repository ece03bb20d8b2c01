"""Fixtures: a generated export folder and a connector over it, on a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from syncaudit.clock import ManualClock
from syncaudit_accounting import corpus
from syncaudit_accounting.connector import AccountingExportConnector
from syncaudit_accounting.plugin import PLUGIN

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

MakeConnector = Callable[..., AccountingExportConnector]


@pytest.fixture(autouse=True)
def _default_logging() -> None:
    """Other suites configure structlog onto a captured stream that pytest later closes; log
    through the defaults here so these tests do not depend on the order they run in."""
    structlog.reset_defaults()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def make_connector(manual_clock: ManualClock) -> MakeConnector:
    def make(path: Path, **options: Any) -> AccountingExportConnector:
        settings = PLUGIN.parse_settings({"path": str(path), **options}, path="systems[0]", env={})
        conn = PLUGIN.create(
            "accounting", settings, PLUGIN.default_profile(settings), clock=manual_clock
        )
        assert isinstance(conn, AccountingExportConnector)
        return conn

    return make


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> corpus.Corpus:
    """Every variant, 20 invoices each (read-only: tests that change files copy it)."""
    root = tmp_path_factory.mktemp("exports")
    return corpus.generate(root, invoices=20 * len(corpus.VARIANTS), seed=7, per_file=10)
