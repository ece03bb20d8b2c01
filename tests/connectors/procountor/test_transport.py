"""The transport maps every failure at one place; no secret or token in any message."""

from __future__ import annotations

import socket

import pytest

from syncaudit.clock import ManualClock
from syncaudit.errors import AuthError, PermanentError, TransientError
from syncaudit_procountor.plugin import PLUGIN
from syncaudit_procountor.simulator import ProcountorSimulator
from syncaudit_procountor.transport import NotFound, Pace, Refused, Transport

from .conftest import env_for, system_table


def _transport(sim: ProcountorSimulator, clock: ManualClock, **options: object) -> Transport:
    settings = PLUGIN.parse_settings(system_table(sim, **options), path="s", env=env_for(sim))
    return Transport(settings, clock=clock)


def test_wrong_credentials_are_an_auth_error_naming_no_secret(
    sim: ProcountorSimulator, clock: ManualClock
) -> None:
    env = {**env_for(sim), "SIM_PROCOUNTOR_KEY": "wrong-api-key-123"}
    settings = PLUGIN.parse_settings(system_table(sim), path="s", env=env)
    with pytest.raises(AuthError) as info:
        Transport(settings, clock=clock).get("invoice list", "/invoices")
    text = f"{info.value} {info.value.next_step}"
    assert "HTTP 400" in text and "api_key_env" in text
    assert "wrong-api-key-123" not in text and sim.client_secret not in text


def test_statuses_map_to_what_the_caller_must_do(
    sim: ProcountorSimulator, clock: ManualClock
) -> None:
    transport = _transport(sim, clock)
    sim.inject(status=403, path_contains="/api/businesspartners")
    with pytest.raises(AuthError, match="insufficient user rights"):
        transport.get("partner list", "/businesspartners")
    with pytest.raises(Refused, match=r"HTTP 400 \(fields: size\)"):
        transport.get("invoice list", "/invoices", {"size": "500"})
    with pytest.raises(NotFound):
        transport.get("invoice details", "/invoices/424242")
    sim.inject(status=429, retry_after=12)
    with pytest.raises(TransientError) as info:
        transport.get("invoice list", "/invoices")
    assert info.value.retry_after == 12.0
    sim.inject(status=502)
    with pytest.raises(TransientError, match="HTTP 502"):
        transport.get("invoice list", "/invoices")


def test_a_token_rejected_twice_is_an_auth_error(
    sim: ProcountorSimulator, clock: ManualClock
) -> None:
    transport = _transport(sim, clock)
    transport.get("invoice list", "/invoices")
    sim.inject(status=401, count=2, path_contains="/api/invoices")
    with pytest.raises(AuthError, match="token rejected"):
        transport.get("invoice list", "/invoices")
    assert transport.token_requests == 2


def test_a_refused_connection_is_transient(clock: ManualClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"S": "s", "K": "k"}
    table = {"client_id": "c", "client_secret_env": "S", "api_key_env": "K",
             "base_url": f"http://127.0.0.1:{port}/api"}  # fmt: skip
    settings = PLUGIN.parse_settings(table, path="s", env=env)
    with pytest.raises(TransientError, match="ConnectionError"):
        Transport(settings, clock=clock).get("invoice list", "/invoices")


def test_the_pace_waits_on_the_clock(clock: ManualClock) -> None:
    pace = Pace(4, clock)
    start = clock.now()
    for _ in range(9):
        pace.wait()
    assert (clock.now() - start).total_seconds() == pytest.approx(2.0)


def test_a_bad_base_url_is_permanent(clock: ManualClock) -> None:
    env = {"S": "s", "K": "k"}
    table = {"client_id": "c", "client_secret_env": "S", "api_key_env": "K",
             "base_url": "http://localhost:99999/api"}  # fmt: skip
    settings = PLUGIN.parse_settings(table, path="s", env=env)
    with pytest.raises(PermanentError):
        Transport(settings, clock=clock).get("invoice list", "/invoices")
