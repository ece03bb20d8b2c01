"""The shared contract suite: records are retained with the basis and the end date."""

from __future__ import annotations

from datetime import date

import pytest

from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_procountor.simulator import ProcountorSimulator

from .conftest import MakeConnector


class TestProcountorContract(ConnectorContract):
    @pytest.fixture
    def contract_system(
        self, sim: ProcountorSimulator, make_connector: MakeConnector
    ) -> ContractSystem:
        sim.populate(120, partners=30, seed=3)
        partner = sim.add_partner("Anna Virtanen", email="Anna.Virtanen@Example.FI")
        sim.add_invoice(
            email="anna.virtanen@example.fi",
            name="Anna Virtanen",
            day=date(2026, 1, 15),
            partner_id=partner,
        )
        return ContractSystem(
            connector=make_connector(page_size=50),
            present_email="ANNA.VIRTANEN@example.fi",
            present_name="Anna Virtanen",
        )
