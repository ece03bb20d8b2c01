"""The shared contract suite: erase answers RETAINED with the basis and the end date."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncaudit.contract import RecordKind
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_accounting import corpus

from .conftest import MakeConnector


class TestAccountingExportContract(ConnectorContract):
    @pytest.fixture
    def contract_system(self, tmp_path: Path, make_connector: MakeConnector) -> ContractSystem:
        generated = corpus.generate(tmp_path, invoices=3 * len(corpus.VARIANTS), seed=5)
        buyers = sorted(
            (email, name)
            for people in generated.expected().values()
            for kind, email, name in people
            if kind is RecordKind.INVOICE_BUYER and name
        )
        email, name = buyers[0]
        return ContractSystem(
            connector=make_connector(tmp_path),
            present_email=email.upper(),
            present_name=name,
        )
