"""The connector contract suite: behaviour every connector must show.

Every connector's tests subclass `ConnectorContract`, provide one fixture, `contract_system`,
returning a `ContractSystem` (a connector wired to its simulator with one known person in it),
and say what their system can do with the `supports_*` flags (as vdirsyncer's storage suite
does), never by overriding a test. What a connector *declares* (`capabilities`) decides the
erasure answers it must give. The only module of syncaudit that imports pytest.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import ClassVar

import pytest

from syncaudit.contract import (
    Capability,
    Change,
    Checkpoint,
    Connector,
    ItemRemoved,
    ItemUpsert,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RoundStart,
    SupportsExport,
    SupportsMail,
    SupportsObjection,
)
from syncaudit.errors import AuthError, ConnectorError, TransientError
from syncaudit.identity import normalize_email
from syncaudit.testing import ContractSystem, drain, emails_in, target_for
from syncaudit.testing.model import Crash, Faults, ModelIndex

PROTOCOLS = {
    Capability.EXPORT: SupportsExport,
    Capability.OBJECT: SupportsObjection,
    Capability.MAIL: SupportsMail,
}
ERASE_WAYS = {Capability.ERASE, Capability.MANUAL, Capability.LEGAL_HOLD}
MANY = 50  # more failures than any connector's in-place retries
NEW_EMAIL, NEW_NAME = "Nora.Newcomer@Example.org", "Nora Newcomer"


class ConnectorContract:
    """Behaviour every connector must show. Subclass, define `contract_system`, set flags."""

    supports_pull: ClassVar[bool] = True  # pull() streams records (a manual system: nothing)
    supports_search: ClassVar[bool] = True  # locate() looks inside the system
    supports_faults: ClassVar[bool] = True  # contract_system.faults makes the system fail
    supports_changes: ClassVar[bool] = True  # contract_system.add_person / remove_person
    # An incremental pull reports a deleted record; when False, only the next full round does
    # (Mailchimp lists no permanently deleted members: its periodic reconcile finds them).
    supports_incremental_removal: ClassVar[bool] = True

    # -- helpers ------------------------------------------------------------------------------

    def _need(self, flag: bool, what: str) -> None:
        if not flag:
            pytest.skip(f"this system does not support {what}")

    def _faults(self, system: ContractSystem) -> Faults:
        self._need(self.supports_faults, "injected faults")
        assert system.faults is not None, "supports_faults needs ContractSystem.faults"
        return system.faults

    def _full(self, conn: Connector) -> ModelIndex:
        self._need(self.supports_pull, "pull")
        return ModelIndex().apply(conn.pull({}, full=True))

    def _next_round(self, conn: Connector, index: ModelIndex) -> ModelIndex:
        """The pull that must show a deletion: incremental, or a full round if it cannot."""
        return index.apply(conn.pull(index.cursors, full=not self.supports_incremental_removal))

    def _expect(self, error: type[ConnectorError], system: ContractSystem) -> ConnectorError:
        """Run a full pull that must fail with `error`; the message names nobody."""
        with pytest.raises(error) as raised:
            drain(system.connector.pull({}, full=True))
        text = f"{raised.value} {raised.value.next_step}".lower()
        assert normalize_email(system.present_email) not in text
        return raised.value

    # -- what the connector declares ----------------------------------------------------------

    def test_is_a_connector(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        assert isinstance(conn, Connector)
        assert conn.name

    def test_profile_names_a_country(self, contract_system: ContractSystem) -> None:
        profile = contract_system.connector.profile
        assert len(profile.country) == 2
        assert profile.country.isupper()
        assert profile.vendor

    def test_declares_exactly_one_way_to_erase(self, contract_system: ContractSystem) -> None:
        caps = contract_system.connector.capabilities
        assert len(caps & ERASE_WAYS) == 1, caps
        assert (Capability.PULL in caps) == self.supports_pull

    def test_declared_capability_has_its_protocol(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        for capability, protocol in PROTOCOLS.items():
            if capability in conn.capabilities:
                assert isinstance(conn, protocol), f"{capability} declared, {protocol} missing"

    def test_check_describes_the_system(self, contract_system: ContractSystem) -> None:
        text = contract_system.connector.check()
        assert text.strip()
        assert normalize_email(contract_system.present_email) not in text.lower()

    # -- pull ---------------------------------------------------------------------------------

    def test_pull_of_a_manual_system_yields_nothing(self, contract_system: ContractSystem) -> None:
        if self.supports_pull:
            pytest.skip("this system is pulled")
        assert drain(contract_system.connector.pull({}, full=True)) == []

    def test_full_pull_ends_each_stream_with_a_checkpoint(
        self, contract_system: ContractSystem
    ) -> None:
        self._need(self.supports_pull, "pull")
        changes = drain(contract_system.connector.pull({}, full=True))
        assert changes, "a full pull of a system with a person in it yields changes"
        last_by_stream: dict[str, Change] = {}
        for change in changes:
            last_by_stream[change.stream] = change
        for stream, last in last_by_stream.items():
            assert isinstance(last, Checkpoint), f"stream {stream} does not end with a checkpoint"
            json.dumps(last.cursor)  # cursors are storable text

    def test_full_pull_reads_each_stream_as_a_round(self, contract_system: ContractSystem) -> None:
        self._need(self.supports_pull, "pull")
        changes = drain(contract_system.connector.pull({}, full=True))
        started = {c.stream for c in changes if isinstance(c, RoundStart)}
        completed = {c.stream for c in changes if isinstance(c, Checkpoint) and c.round_complete}
        with_items = {c.stream for c in changes if isinstance(c, ItemUpsert)}
        assert with_items <= started, "a full pull starts a round on every stream it reads"
        assert started <= completed, "every round a full pull starts is completed"

    def test_full_pull_contains_the_known_person(self, contract_system: ContractSystem) -> None:
        index = self._full(contract_system.connector)
        assert normalize_email(contract_system.present_email) in index.emails()

    def test_upserts_carry_ids_and_no_address_in_locators(
        self, contract_system: ContractSystem
    ) -> None:
        self._need(self.supports_pull, "pull")
        email = normalize_email(contract_system.present_email)
        for change in drain(contract_system.connector.pull({}, full=True)):
            if isinstance(change, ItemUpsert | ItemRemoved):
                assert change.external_id
                assert change.stream
            if isinstance(change, ItemUpsert):
                assert email not in " ".join(change.locator.values()).lower()

    def test_full_pull_twice_gives_the_same_index(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        assert self._full(conn).records == self._full(conn).records

    def test_incremental_pull_after_full_repeats_nothing_unchanged(
        self, contract_system: ContractSystem
    ) -> None:
        index = self._full(contract_system.connector)
        again = drain(contract_system.connector.pull(index.cursors))
        assert not [c for c in again if isinstance(c, ItemUpsert)]
        assert index.apply(again).records == self._full(contract_system.connector).records

    def test_pull_resumes_from_any_checkpoint(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        whole = self._full(conn)
        for stop in sorted({1, max(whole.checkpoints // 2, 1), max(whole.checkpoints - 1, 1)}):
            index = ModelIndex()
            with pytest.raises(Crash):
                index.apply(conn.pull({}, full=True), crash_after=stop)
            index.apply(conn.pull(index.cursors))
            assert index.records == whole.records, f"resumed after checkpoint {stop}"

    def test_incremental_pull_sees_a_new_person(self, contract_system: ContractSystem) -> None:
        self._need(self.supports_changes, "changes out of band")
        assert contract_system.add_person is not None
        index = self._full(contract_system.connector)
        contract_system.add_person(NEW_EMAIL, NEW_NAME)
        index.apply(contract_system.connector.pull(index.cursors))
        assert normalize_email(NEW_EMAIL) in index.emails()
        assert normalize_email(contract_system.present_email) in index.emails()

    def test_removal_is_detected_across_rounds(self, contract_system: ContractSystem) -> None:
        self._need(self.supports_changes, "changes out of band")
        assert contract_system.remove_person is not None
        conn = contract_system.connector
        index = self._full(conn)
        contract_system.remove_person()
        self._next_round(conn, index)
        assert normalize_email(contract_system.present_email) not in index.emails()
        assert index.records == self._full(conn).records, "incremental equals a fresh full pull"

    # -- locate, preview, erase, verify ---------------------------------------------------------

    def test_locate_finds_the_person_and_nobody_else(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        found = conn.locate(target_for(contract_system.present_email))
        assert found
        assert all(ref.system == conn.name for ref in found)
        absent = conn.locate(target_for(contract_system.absent_email))
        if self.supports_search:
            assert absent == []
        else:  # nobody can look inside: always the one manual step
            assert [r.kind for r in absent] == [RecordKind.MANUAL]

    def test_locate_ignores_letter_case(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        refs = conn.locate(target_for(contract_system.present_email))
        assert conn.locate(target_for(contract_system.present_email.upper())) == refs
        assert conn.locate(target_for(contract_system.present_email)) == refs  # repeatable

    def test_preview_changes_nothing(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        plans = [conn.preview(ref, target) for ref in refs]
        assert all(isinstance(p, PlannedAction) for p in plans)
        assert [p.ref for p in plans] == refs
        assert conn.locate(target) == refs

    def test_verify_before_erasing_finds_the_person(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("only a system that erases through an API verifies by reading")
        target = target_for(contract_system.present_email)
        refs = conn.locate(target)
        assert conn.verify(target, refs)
        assert conn.verify(target, []), "verify looks the person up afresh"

    def test_erase_then_verify_then_repeat_is_idempotent(
        self, contract_system: ContractSystem
    ) -> None:
        conn = contract_system.connector
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        first = [conn.erase(ref, target) for ref in refs]
        expected = {
            Capability.ERASE: {OutcomeStatus.ERASED, OutcomeStatus.RETAINED},
            Capability.LEGAL_HOLD: {OutcomeStatus.RETAINED, OutcomeStatus.AWAITING_MANUAL},
            Capability.MANUAL: {OutcomeStatus.AWAITING_MANUAL},
        }
        (way,) = conn.capabilities & ERASE_WAYS
        assert {o.status for o in first} <= expected[way]
        for outcome in first:
            if outcome.status is OutcomeStatus.RETAINED:
                assert outcome.legal_basis
                assert outcome.retained_until is not None
        if way is not Capability.MANUAL:
            assert conn.verify(target, refs) == []
            assert conn.verify(target, refs) == []  # verify repeats too
        second = [conn.erase(ref, target) for ref in refs]
        for before, after in zip(first, second, strict=True):
            if before.status is OutcomeStatus.ERASED:
                assert after.status is OutcomeStatus.ALREADY_ABSENT
            else:
                assert after.status is before.status

    def test_erased_person_is_gone_from_locate_and_pull(
        self, contract_system: ContractSystem
    ) -> None:
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("this connector does not erase through an API")
        before = self._full(conn)
        email = normalize_email(contract_system.present_email)
        target = target_for(email, [contract_system.present_name])
        for ref in conn.locate(target):
            conn.erase(ref, target)
        assert conn.locate(target) == []
        self._next_round(conn, before)
        assert email not in before.emails()
        assert email not in self._full(conn).emails()

    def test_erasing_leaves_other_people(self, contract_system: ContractSystem) -> None:
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("this connector does not erase through an API")
        email = normalize_email(contract_system.present_email)
        others = self._full(conn).emails() - {email}
        target = target_for(email, [contract_system.present_name])
        for ref in conn.locate(target):
            conn.erase(ref, target)
        assert self._full(conn).emails() == others

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

    # -- errors map to the typed errors ---------------------------------------------------------

    def test_throttling_is_transient_with_retry_after(
        self, contract_system: ContractSystem
    ) -> None:
        self._faults(contract_system).fail(429, count=MANY, retry_after=7)
        error = self._expect(TransientError, contract_system)
        assert isinstance(error, TransientError)
        assert error.retry_after == pytest.approx(7)

    def test_server_error_is_transient(self, contract_system: ContractSystem) -> None:
        self._faults(contract_system).fail(503, count=MANY)
        self._expect(TransientError, contract_system)

    def test_timeout_is_transient(self, contract_system: ContractSystem) -> None:
        self._faults(contract_system).hang(count=MANY)
        self._expect(TransientError, contract_system)

    def test_rejected_credentials_are_an_auth_error(self, contract_system: ContractSystem) -> None:
        self._faults(contract_system).fail(401, count=MANY)
        self._expect(AuthError, contract_system)

    def test_check_with_rejected_credentials_is_an_auth_error(
        self, contract_system: ContractSystem
    ) -> None:
        self._faults(contract_system).fail(401, count=MANY)
        with pytest.raises(AuthError):
            contract_system.connector.check()

    def test_erase_with_rejected_credentials_erases_nothing(
        self, contract_system: ContractSystem
    ) -> None:
        faults = self._faults(contract_system)
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("this connector does not erase through an API")
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        faults.fail(401, count=MANY)
        with pytest.raises(AuthError):
            conn.erase(refs[0], target)
        faults.clear()
        assert conn.locate(target) == refs

    def test_one_server_error_is_retried_in_place(self, contract_system: ContractSystem) -> None:
        self._faults(contract_system).fail(503, count=1)
        index = self._full(contract_system.connector)
        assert normalize_email(contract_system.present_email) in index.emails()

    def test_pull_resumes_after_a_failure_midway(self, contract_system: ContractSystem) -> None:
        faults = self._faults(contract_system)
        conn = contract_system.connector
        whole = self._full(conn)
        index = ModelIndex()
        changes = conn.pull({}, full=True)

        def failing_after_first_checkpoint() -> Iterator[Change]:
            failing = False
            for change in changes:
                yield change
                if isinstance(change, Checkpoint) and not failing:
                    faults.fail(503, count=MANY)
                    failing = True

        with contextlib.suppress(TransientError):  # a connector may have read ahead
            index.apply(failing_after_first_checkpoint())
        faults.clear()
        index.apply(conn.pull(index.cursors))
        assert index.records == whole.records

    def test_throttled_erase_is_transient_and_repeatable(
        self, contract_system: ContractSystem
    ) -> None:
        faults = self._faults(contract_system)
        conn = contract_system.connector
        if Capability.ERASE not in conn.capabilities:
            pytest.skip("this connector does not erase through an API")
        target = target_for(contract_system.present_email, [contract_system.present_name])
        refs = conn.locate(target)
        faults.fail(429, count=MANY, retry_after=3)
        with pytest.raises(TransientError) as raised:
            conn.erase(refs[0], target)
        assert raised.value.retry_after == pytest.approx(3)
        faults.clear()
        outcomes = [conn.erase(ref, target) for ref in refs]
        assert {o.status for o in outcomes} <= {OutcomeStatus.ERASED, OutcomeStatus.RETAINED}
        assert conn.verify(target, refs) == []


__all__ = ["ConnectorContract", "emails_in"]
