"""Fixtures of the service tests: an accounting export folder, apps on a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.testing import CONTRACT_KEY, FakePlugin, FakeSystem, make_settings

ANNA = "anna.virtanen@example.fi"
BOB = "bob.berg@example.fi"
INVOICES = f"""invoice_number;invoice_date;buyer_name;buyer_email
1001;2025-03-01;Anna Virtanen;{ANNA}
1002;2025-04-01;Bob Berg;{BOB}
"""


def write_exports(folder: Path) -> Path:
    """An export folder with one CSV: Anna's invoice 1001 (kept until 2031-12-31) and Bob's."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    return folder


@pytest.fixture
def fake_systems() -> Iterator[dict[str, FakeSystem]]:
    FakePlugin.systems.clear()
    yield FakePlugin.systems
    FakePlugin.systems.clear()


@pytest.fixture
def make_app(
    db_url: str, clock: ManualClock, fake_systems: dict[str, FakeSystem], tmp_path: Path
) -> Iterator[Callable[..., App]]:
    """An App on the manual clock; `service` is merged into [service] (report_dir in tmp)."""
    apps: list[App] = []

    def build(
        systems: list[dict[str, Any]],
        *,
        service: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        **extra: Any,
    ) -> App:
        section = {"report_dir": str(tmp_path / "reports"), **(service or {})}
        settings = make_settings(
            db_url, systems, extra={"service": section, **extra}, env=env, key=CONTRACT_KEY
        )
        app = App(settings, clock=clock)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


class RecordedReports(list[tuple[str, Path, str]]):
    """Stands in for the monthly report writer (another area's): records each call."""

    def __call__(
        self, app: Any, month: str, out_dir: Path, *, lang: str, fmt: str = "html"
    ) -> Path:
        self.append((month, out_dir, lang))
        path = out_dir / f"monthly-{month}.{fmt}"
        path.write_text(month, encoding="utf-8")
        return path


@pytest.fixture
def reports() -> RecordedReports:
    return RecordedReports()
