"""The connector contract suite: behaviour every connector must show.

Every connector's tests subclass `ConnectorContract` and provide one fixture, `contract_system`,
returning a `ContractSystem` (a connector wired to its simulator with one known person in it).
The only module of syncaudit that imports pytest.
"""

from __future__ import annotations

import json

import pytest

from syncaudit.contract import (
    Capability,
    Change,
    Checkpoint,
    ItemUpsert,
    OutcomeStatus,
    PlannedAction,
)
from syncaudit.identity import normalize_email
from syncaudit.testing import ContractSystem, drain, emails_in, target_for


class ConnectorContract:
    """Behaviour every connector must show. Subclass and define the `contract_system` fixture."""

    def test_profile_names_a_country(self, contract_system: ContractSystem) -> None:
        profile = contract_system.connector.profile
        assert len(profile.country) == 2
        assert profile.country.isupper()
        assert profile.vendor

    def test_full_pull_ends_each_stream_with_a_checkpoint(
        self, contract_system: ContractSystem
    ) -> None:
        changes = drain(contract_system.connector.pull({}, full=True))
        assert changes, "a full pull of a system with a person in it yields changes"
        last_by_stream: dict[str, Change] = {}
        for change in changes:
            last_by_stream[change.stream] = change
        for stream, last in last_by_stream.items():
            assert isinstance(last, Checkpoint), f"stream {stream} does not end with a checkpoint"
            json.dumps(last.cursor)  # cursors are storable text

    def test_full_pull_contains_the_known_person(self, contract_system: ContractSystem) -> None:
        changes = drain(contract_system.connector.pull({}, full=True))
        assert normalize_email(contract_system.present_email) in emails_in(changes)

    def test_incremental_pull_after_full_repeats_nothing_unchanged(
        self, contract_system: ContractSystem
    ) -> None:
        first = drain(contract_system.connector.pull({}, full=True))
        cursors = {c.stream: c.cursor for c in first if isinstance(c, Checkpoint)}
        again = drain(contract_system.connector.pull(cursors))
        assert not [c for c in again if isinstance(c, ItemUpsert)]

    def test_locate_finds_the_person_and_nobody_else(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        found = conn.locate(target_for(contract_system.present_email))
        assert found
        assert all(ref.system == conn.name for ref in found)
        assert conn.locate(target_for(contract_system.absent_email)) == []

    def test_preview_changes_nothing(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        plans = [conn.preview(ref, target) for ref in refs]
        assert all(isinstance(p, PlannedAction) for p in plans)
        assert conn.locate(target) == refs

    def test_erase_then_verify_then_repeat_is_idempotent(
        self, contract_system: ContractSystem
    ) -> None:
        conn = contract_system.connector
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        first = [conn.erase(ref, target) for ref in refs]
        assert {o.status for o in first} <= {
            OutcomeStatus.ERASED,
            OutcomeStatus.RETAINED,
            OutcomeStatus.AWAITING_MANUAL,
        }
        for outcome in first:
            if outcome.status is OutcomeStatus.RETAINED:
                assert outcome.legal_basis
                assert outcome.retained_until is not None
        if Capability.MANUAL not in conn.capabilities:
            assert conn.verify(target, refs) == []
        second = [conn.erase(ref, target) for ref in refs]
        for before, after in zip(first, second, strict=True):
            if before.status is OutcomeStatus.ERASED:
                assert after.status is OutcomeStatus.ALREADY_ABSENT
            else:
                assert after.status is before.status

    def test_erasing_an_unknown_record_is_already_absent(
        self, contract_system: ContractSystem
    ) -> None:
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("this connector does not erase through an API")
        target = target_for(contract_system.absent_email)
        refs = conn.locate(target_for(contract_system.present_email))
        outcomes = [conn.erase(ref, target) for ref in refs]
        assert {o.status for o in outcomes} == {OutcomeStatus.ALREADY_ABSENT}


# ---------------------------------------------------------------------------------------------
# Building an App for tests through the real configuration path
