from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.testing import FakePlugin, FakeSystem, make_settings

from .world import World, open_world

THREE_SYSTEMS = [
    {"name": "crm", "type": "fake", "mode": "erase"},
    {"name": "books", "type": "fake", "mode": "legal_hold"},
    {"name": "paper", "type": "fake", "mode": "manual"},
]


@pytest.fixture
def fake_systems() -> Iterator[dict[str, FakeSystem]]:
    FakePlugin.systems.clear()
    yield FakePlugin.systems
    FakePlugin.systems.clear()


@pytest.fixture
def make_app(
    db_url: str, clock: ManualClock, fake_systems: dict[str, FakeSystem]
) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def build(systems: list[dict[str, object]] | None = None, **extra: object) -> App:
        app = App(make_settings(db_url, systems or THREE_SYSTEMS, extra=extra), clock=clock)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


@pytest.fixture
def world(tmp_path: Path, clock: ManualClock) -> Iterator[World]:
    """Graph and Mailchimp simulators on loopback and an accounting export folder (real
    connectors), on the test's manual clock."""
    with open_world(tmp_path, now=clock.now) as systems:
        yield systems
