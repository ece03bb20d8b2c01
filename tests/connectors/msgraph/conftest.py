"""Fixtures: a Graph simulator per test and a factory of connectors wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from syncaudit.clock import Clock, ManualClock
from syncaudit.retry import RetryPolicy
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.plugin import PLUGIN
from syncaudit_msgraph.simulator import GraphSimulator

from .support import MAILBOXES

ConnectorFactory = Callable[..., MsGraphConnector]


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator() as simulator:
        for mailbox in MAILBOXES:
            simulator.add_mailbox(mailbox, mailbox.split("@")[0].title())
        yield simulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def make_connector(sim: GraphSimulator, clock: ManualClock) -> Iterator[ConnectorFactory]:
    made: list[MsGraphConnector] = []

    def make(
        mailboxes: Sequence[str] = MAILBOXES,
        *,
        clock_: Clock | None = None,
        retry: RetryPolicy | None = None,
        **extra: Any,
    ) -> MsGraphConnector:
        table = sim.settings(list(mailboxes), **extra)
        settings = PLUGIN.parse_settings(
            table, path="systems[0]", env={"SIM_GRAPH_SECRET": sim.client_secret}
        )
        connector = MsGraphConnector(
            "outlook",
            settings,
            PLUGIN.default_profile(settings),
            clock=clock_ or clock,
            retry=retry or RetryPolicy(max_attempts=4, base_seconds=0.5),
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()
