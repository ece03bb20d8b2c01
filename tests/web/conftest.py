"""The console in-process (Starlette's TestClient) over fake systems and a manual one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.testing import FakePlugin, FakeSystem, make_settings
from syncaudit.web.accounts import add_user
from syncaudit.web.app import create_app

from .helpers import PASSWORD, sign_in


@pytest.fixture
def world(tmp_path: Path, clock: ManualClock) -> Iterator[App]:
    FakePlugin.systems.clear()
    crm = FakePlugin.systems.setdefault("crm", FakeSystem())
    crm.put("c1", ("Anna.Virtanen@Example.FI", "Anna Virtanen"))
    crm.put("c2", ("bob@example.fi", "Bob Berg"))
    crm.put("c3", ("xss@example.fi", "<script>alert(1)</script>"))
    crm.put("c4", ("img@example.fi", '"><img src=x onerror=alert(1)>'))
    settings = make_settings(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        [
            {"name": "crm", "type": "fake"},
            {"name": "paper", "type": "manual", "instructions": "Shred the card."},
        ],
        extra={
            "service": {"report_dir": str(tmp_path / "reports")},
            "web": {"export_dir": str(tmp_path / "exports")},
        },
    )
    app = App(settings, clock=clock)
    app.sync()
    add_user(app, "owner", PASSWORD)
    yield app
    app.close()


@pytest.fixture
def client(world: App) -> Iterator[TestClient]:
    with TestClient(create_app(world), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    response = sign_in(client)
    assert response.status_code == 200, response.text
    assert response.url.path == "/"
    return client
