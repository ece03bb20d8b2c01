from __future__ import annotations

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import RecordKind, SystemProfile
from syncaudit.testing import ContractSystem, target_for
from syncaudit.testing.contract import ConnectorContract
from syncaudit_manual.plugin import PLUGIN


class TestManualContract(ConnectorContract):
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

    # A manual system can be neither pulled nor searched; these contract items read differently.
    def test_full_pull_ends_each_stream_with_a_checkpoint(self, contract_system) -> None:
        assert list(contract_system.connector.pull({}, full=True)) == []

    def test_full_pull_contains_the_known_person(self, contract_system) -> None:
        pytest.skip("a manual system has no data to pull")

    def test_locate_finds_the_person_and_nobody_else(self, contract_system) -> None:
        refs = contract_system.connector.locate(target_for("x@example.fi"))
        assert [r.kind for r in refs] == [RecordKind.MANUAL]
