"""Retry-After on 429/503/504: honoured once (not by both the SDK and the connector), through
the connector's clock; final failures mapped to TransientError / AuthError / PermanentError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncaudit.clock import ManualClock, SystemClock
from syncaudit.errors import PermanentError, TransientError
from syncaudit.retry import RetryPolicy
from syncaudit.testing import target_for
from syncaudit_msgraph._graph import parse_retry_after
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import ConnectorFactory
from .support import MAILBOXES, SDK_WARNINGS, upserts

pytestmark = SDK_WARNINGS
COACH = MAILBOXES[0]


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:07 GMT", now) == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(("status", "retry_after"), [(429, "7"), (503, "2.5"), (504, "4")])
def test_a_read_waits_retry_after_then_succeeds(
    sim: GraphSimulator,
    make_connector: ConnectorFactory,
    clock: ManualClock,
    status: int,
    retry_after: str,
) -> None:
    sim.add_contact(COACH, name="Anna Virtanen", emails=["anna@example.fi"])
    connector = make_connector([COACH], retry=RetryPolicy(base_seconds=0.01, jitter=0))
    connector.check()
    sim.clear_log()
    before = clock.now()
    sim.inject(status=status, retry_after=retry_after, count=1, endpoint="contacts.delta")
    assert len(upserts(connector.pull({}))) == 1
    assert clock.now() - before >= timedelta(seconds=float(retry_after))
    # exactly one failed and one repeated request: the SDK's own retry handler is off
    assert sim.count("contacts.delta", status=status) == 1
    assert sim.count("contacts.delta", status=200) == 1


def test_retry_after_is_honoured_in_real_time(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    sim.add_contact(COACH, name="Anna Virtanen", emails=["anna@example.fi"])
    connector = make_connector([COACH], clock_=SystemClock())
    connector.check()
    sim.inject(status=429, retry_after="1", count=1, endpoint="contacts.delta")
    list(connector.pull({}))
    throttled, retried = sim.select("contacts.delta")
    assert throttled.status == 429
    assert retried.status == 200
    assert retried.started - throttled.time >= 1.0


def test_persistent_throttling_ends_in_a_transient_error_with_retry_after(
    sim: GraphSimulator, make_connector: ConnectorFactory, clock: ManualClock
) -> None:
    connector = make_connector([COACH], retry=RetryPolicy(max_attempts=3, base_seconds=0.01))
    connector.check()
    sim.clear_log()
    sim.inject(status=503, retry_after="30", count=10, endpoint="folders.list")
    with pytest.raises(TransientError) as caught:
        list(connector.pull({}))
    assert caught.value.retry_after == 30.0
    assert sim.count("folders.list") == 3


def test_an_empty_gateway_error_is_transient_too(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    connector = make_connector([COACH])
    sim.inject(status=504, count=1, empty_body=True, endpoint="folders.list")
    assert "reachable" in connector.check()
    assert sim.count("folders.list", status=504) == 1


def test_writes_are_not_retried_in_place(
    sim: GraphSimulator, make_connector: ConnectorFactory
) -> None:
    contact = sim.add_contact(COACH, name="Anna Virtanen", emails=["anna@example.fi"])
    connector = make_connector([COACH], locate_scans_calendar=False)
    target = target_for("anna@example.fi", ["Anna Virtanen"])
    (ref,) = connector.locate(target)
    sim.inject(status=429, retry_after="5", count=1, endpoint="contacts.permanentDelete")
    with pytest.raises(TransientError) as caught:
        connector.erase(ref, target)
    assert caught.value.retry_after == 5.0
    assert sim.count("contacts.permanentDelete") == 1
    assert sim.contact(COACH, contact) is not None
    assert connector.erase(ref, target).status.value == "erased"  # the engine's later retry


def test_a_bad_request_is_permanent(sim: GraphSimulator, make_connector: ConnectorFactory) -> None:
    connector = make_connector([COACH])
    sim.inject(status=400, count=1, endpoint="folders.list")
    with pytest.raises(PermanentError):
        connector.check()
