"""Entry point `syncaudit_procountor.plugin:PLUGIN`. Cheap to import: requests loads in `create`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncaudit.clock import Clock
from syncaudit.contract import (
    Capability,
    Connector,
    DemoPerson,
    DemoSystem,
    SystemProfile,
    TransferMechanism,
)
from syncaudit_procountor.settings import CAPABILITIES, KIND, ProcountorSettings, parse_settings

VENDOR = "Procountor (financial management service; kept by the accounting firm)"
DATA_CATEGORIES = (
    "name",
    "email address",
    "postal address",
    "customer number",
    "invoices (sales invoices: dates, rows, sums)",
    "business-partner register entry (contact persons, phone numbers)",
)


class ProcountorPlugin:
    kind = KIND

    def parse_settings(
        self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
    ) -> ProcountorSettings:
        return parse_settings(raw, path=path, env=env)

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        from syncaudit_procountor.connector import ProcountorConnector

        assert isinstance(settings, ProcountorSettings)
        return ProcountorConnector(name, settings, profile, clock=clock)

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        return CAPABILITIES

    def default_profile(self, settings: Any) -> SystemProfile:
        from syncaudit.regions import in_eea

        country = settings.country if isinstance(settings, ProcountorSettings) else "FI"
        return SystemProfile(
            vendor=VENDOR,
            country=country,
            transfer_mechanism=(
                TransferMechanism.EEA if in_eea(country) else TransferMechanism.UNKNOWN
            ),
            data_categories=DATA_CATEGORIES,
        )

    def start_demo(self, name: str, workdir: Any, people: Sequence[DemoPerson]) -> DemoSystem:
        """Start this system's simulator seeded with the demo's people (`syncaudit demo`)."""
        from syncaudit_procountor.demo import start

        return start(name, workdir, people)


PLUGIN = ProcountorPlugin()
