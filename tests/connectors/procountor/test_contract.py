"""The shared contract suite: records are retained with the basis and the end date."""

from __future__ import annotations

from datetime import date

import pytest

from syncaudit.retry import RetryPolicy
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_procountor.simulator import ProcountorSimulator

from .conftest import MakeConnector
from .helpers import ProcountorFaults


class TestProcountorContract(ConnectorContract):
    supports_incremental_removal = False  # a deleted record shows at the next full round

    @pytest.fixture
    def contract_system(
        self, sim: ProcountorSimulator, make_connector: MakeConnector
    ) -> ContractSystem:
        sim.populate(120, partners=30, seed=3)
        anna = ("Anna Virtanen", "Anna.Virtanen@Example.FI")
        partner = sim.add_partner(anna[0], email=anna[1])
        invoice = sim.add_invoice(
            email=anna[1].lower(), name=anna[0], day=date(2026, 1, 15), partner_id=partner
        )
        policy = RetryPolicy(max_attempts=2, jitter=0.0, base_seconds=0.5)
        return ContractSystem(
            connector=make_connector(page_size=50, policy=policy, timeout_seconds=1),
            present_email="ANNA.VIRTANEN@example.fi",
            present_name=anna[0],
            faults=ProcountorFaults(sim),
            remove_person=lambda: (sim.delete_invoice(invoice), sim.delete_partner(partner)),
            add_person=lambda email, name: sim.add_partner(name, email=email),
        )
