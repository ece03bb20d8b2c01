"""The shared contract suite for a system nobody can read: every erasure is a manual step."""

from __future__ import annotations

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import SystemProfile
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_manual.plugin import PLUGIN


class TestManualContract(ConnectorContract):
    supports_pull = False  # nothing can be pulled
    supports_search = False  # nor searched: locate answers one manual step for anybody
    supports_faults = False  # no API to fail
    supports_changes = False

    @pytest.fixture
    def contract_system(self) -> ContractSystem:
        settings = PLUGIN.parse_settings(
            {"name": "mailmunch", "type": "manual", "instructions": "Delete in Mailmunch UI"},
            path="systems[0]",
            env={},
        )
        connector = PLUGIN.create(
            "mailmunch",
            settings,
            SystemProfile(vendor="Mailmunch", country="US"),
            clock=ManualClock(),
        )
        return ContractSystem(connector=connector, present_email="a@example.fi", present_name="A")
