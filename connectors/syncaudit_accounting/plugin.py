"""Entry point `accounting_export`: reads the exports an accounting firm drops into a folder.

Importing this module is cheap; the XML and CSV readers load when a connector is created.
"""

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
from syncaudit_accounting.settings import CAPABILITIES, KIND, AccountingSettings, parse_settings


class AccountingExportPlugin:
    kind = KIND

    def parse_settings(self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> Any:
        return parse_settings(raw, path=path, env=env)

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        from syncaudit_accounting.connector import AccountingExportConnector

        assert isinstance(settings, AccountingSettings)
        return AccountingExportConnector(name, settings, profile, clock=clock)

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        return CAPABILITIES

    def default_profile(self, settings: Any) -> SystemProfile:
        from syncaudit.regions import in_eea

        country = settings.country if isinstance(settings, AccountingSettings) else "FI"
        return SystemProfile(
            vendor="Accounting firm (Procountor exports)",
            country=country,
            transfer_mechanism=(
                TransferMechanism.EEA if in_eea(country) else TransferMechanism.UNKNOWN
            ),
            data_categories=("name", "email address", "postal address", "invoices"),
        )

    def start_demo(self, name: str, workdir: Any, people: Sequence[DemoPerson]) -> DemoSystem:
        """Start this system's simulator seeded with the demo's people (`syncaudit demo`)."""
        from syncaudit_accounting.demo import start

        return start(name, workdir, people)


PLUGIN = AccountingExportPlugin()
