"""Fixtures: the Procountor simulator and a connector on it, both on one manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from syncaudit.clock import ManualClock
from syncaudit.retry import RetryPolicy
from syncaudit_procountor.connector import ProcountorConnector
from syncaudit_procountor.plugin import PLUGIN
from syncaudit_procountor.simulator import ProcountorSimulator

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(jitter=0.0, base_seconds=0.5)
SECRET_ENV, KEY_ENV = "SIM_PROCOUNTOR_SECRET", "SIM_PROCOUNTOR_KEY"

MakeConnector = Callable[..., ProcountorConnector]


@pytest.fixture(autouse=True)
def _default_logging() -> None:
    """Log through structlog's defaults, whatever an earlier suite configured."""
    structlog.reset_defaults()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[ProcountorSimulator]:
    with ProcountorSimulator(clock=clock.now) as simulator:
        yield simulator


def system_table(sim: ProcountorSimulator, **options: Any) -> dict[str, Any]:
    return {
        "name": "procountor",
        "type": "procountor",
        "client_id": sim.client_id,
        "client_secret_env": SECRET_ENV,
        "api_key_env": KEY_ENV,
        "base_url": sim.url,
        **options,
    }


def env_for(sim: ProcountorSimulator) -> dict[str, str]:
    return {SECRET_ENV: sim.client_secret, KEY_ENV: sim.api_key}


@pytest.fixture
def make_connector(sim: ProcountorSimulator, clock: ManualClock) -> Iterator[MakeConnector]:
    made: list[ProcountorConnector] = []

    def make(
        page_size: int = 200, policy: RetryPolicy = POLICY, **options: Any
    ) -> ProcountorConnector:
        table = system_table(sim, **options)
        settings = PLUGIN.parse_settings(table, path="systems[0]", env=env_for(sim))
        conn = ProcountorConnector(
            "procountor",
            settings,
            PLUGIN.default_profile(settings),
            clock=clock,
            policy=policy,
            page_size=page_size,
        )
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()
