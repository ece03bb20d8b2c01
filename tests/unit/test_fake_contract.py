from __future__ import annotations

import pytest

from syncaudit.testing import ContractSystem, FakeConnector, FakeSystem
from syncaudit.testing.contract import ConnectorContract


class TestFakeConnectorContract(ConnectorContract):
    @pytest.fixture
    def contract_system(self) -> ContractSystem:
        system = FakeSystem()
        system.put("1", ("Anna.Virtanen@Example.FI", "Anna Virtanen"))
        system.put("2", ("bob@example.com", "Bob Berg"), ("anna.virtanen@example.fi", "Anna"))
        return ContractSystem(
            connector=FakeConnector("fake", system, page_size=1),
            present_email="anna.virtanen@example.fi",
            present_name="Anna Virtanen",
        )
