"""The shared contract suite: erase answers RETAINED with the basis and the end date."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncaudit.contract import RecordKind
from syncaudit.testing import ContractSystem
from syncaudit.testing.contract import ConnectorContract
from syncaudit_accounting import corpus

from .conftest import MakeConnector
from .helpers import replace_address


class TestAccountingExportContract(ConnectorContract):
    supports_faults = False  # files in a folder: no throttling, no server, no credentials

    @pytest.fixture
    def contract_system(self, tmp_path: Path, make_connector: MakeConnector) -> ContractSystem:
        generated = corpus.generate(tmp_path, invoices=3 * len(corpus.VARIANTS), seed=5)
        email, name = sorted(
            (email, name)
            for people in generated.expected().values()
            for kind, email, name in people
            if kind is RecordKind.INVOICE_BUYER and name
        )[0]
        return ContractSystem(
            connector=make_connector(tmp_path),
            present_email=email.upper(),
            present_name=name,
            remove_person=lambda: replace_address(tmp_path, email, "someone.else@example.org"),
            add_person=lambda new, _: replace_address(tmp_path, email, new, copy=True),
        )
