"""Test support shipped inside the package: an in-memory connector, its plugin, settings for tests.

No test framework is imported here (users' tests may use any); the connector contract suite,
which needs pytest, is `syncaudit.testing.contract`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, TypeVar

from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Capability,
    Change,
    Checkpoint,
    Connector,
    ErasureTarget,
    ItemRemoved,
    ItemUpsert,
    Observation,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    RoundStart,
    SettingsReader,
    SystemProfile,
    TransferMechanism,
)
from syncaudit.errors import TransientError
from syncaudit.identity import Pseudonymizer, normalize_email
from syncaudit.testing.model import Faults

T = TypeVar("T")
CONTRACT_KEY = b"contract-test-key-0123456789abcdef"


def target_for(email: str, names: Sequence[str] = ()) -> ErasureTarget:
    normalized = normalize_email(email)
    pseudo = Pseudonymizer(CONTRACT_KEY)
    return ErasureTarget(
        email=normalized,
        pseudonym=pseudo.of_normalized(normalized),
        names=tuple(names),
        pseudonymize=pseudo.of_normalized,
    )


# ---------------------------------------------------------------------------------------------
# An in-memory connector


@dataclass
class FakeItem:
    external_id: str
    people: list[tuple[str, str]]  # (email, name)
    version: int = 0


@dataclass
class FakeSystem:
    """The remote state behind FakeConnector, shared so tests can change it out of band."""

    items: dict[str, FakeItem] = field(default_factory=dict)
    version: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    fail_next: list[BaseException] = field(default_factory=list)
    fail_mid_pull: list[BaseException] = field(default_factory=list)  # after the first page
    fail_after_erase: list[BaseException] = field(default_factory=list)  # applied, answer lost
    calls: list[str] = field(default_factory=list)
    erase_calls: list[str] = field(default_factory=list)

    def put(self, external_id: str, *people: tuple[str, str]) -> None:
        self.version += 1
        self.items[external_id] = FakeItem(external_id, list(people), self.version)
        self.removed.pop(external_id, None)

    def delete(self, external_id: str) -> None:
        if self.items.pop(external_id, None) is not None:
            self.version += 1
            self.removed[external_id] = self.version

    def _maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        if self.fail_next:
            raise self.fail_next.pop(0)


class FakeConnector:
    """A connector over a FakeSystem: one stream, integer-version cursor, pages of `page_size`."""

    STREAM = "items"

    def __init__(
        self,
        name: str,
        system: FakeSystem,
        *,
        page_size: int = 100,
        profile: SystemProfile | None = None,
        legal_hold: bool = False,
        manual: bool = False,
    ) -> None:
        self.name = name
        self.system = system
        self.page_size = page_size
        self.legal_hold = legal_hold
        self.manual = manual
        self.profile = profile or SystemProfile(
            vendor="Fake Oy", country="FI", transfer_mechanism=TransferMechanism.EEA
        )
        self.capabilities = fake_capabilities(legal_hold=legal_hold, manual=manual)

    def check(self) -> str:
        self.system._maybe_fail("check")
        return f"fake system with {len(self.system.items)} items"

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        """Cursor "N": changes after version N. "round:N": a full round interrupted after N."""
        self.system._maybe_fail("pull")
        cursor = "" if full else cursors.get(self.STREAM, "")
        in_round = not cursor or cursor.startswith("round:")
        since = int(cursor.removeprefix("round:") or 0)
        if not cursor:
            yield RoundStart(stream=self.STREAM)
        # Upserts and (outside a round) removals in version order, so a checkpoint's cursor
        # never passes a change not yet yielded.
        changed: list[tuple[int, FakeItem | str]] = [
            (i.version, i) for i in self.system.items.values() if i.version > since
        ]
        if not in_round:
            changed += [(v, ext_id) for ext_id, v in self.system.removed.items() if v > since]
        changed.sort(key=lambda pair: pair[0])
        top = self.system.version
        prefix = "round:" if in_round else ""
        for batch in _batched(changed, self.page_size):
            for _, item in batch:
                yield self._change(item)
            yield Checkpoint(stream=self.STREAM, cursor=f"{prefix}{batch[-1][0]}")
            if self.system.fail_mid_pull:
                raise self.system.fail_mid_pull.pop(0)
        yield Checkpoint(stream=self.STREAM, cursor=str(top), round_complete=in_round)

    def _change(self, item: FakeItem | str) -> Change:
        if isinstance(item, str):
            return ItemRemoved(stream=self.STREAM, external_id=item)
        return ItemUpsert(
            stream=self.STREAM,
            external_id=item.external_id,
            observations=tuple(
                Observation(kind=RecordKind.CONTACT, email=e, name=n) for e, n in item.people
            ),
            free_text=" ".join(n for _, n in item.people),
            legal_hold_until=date(2032, 12, 31) if self.legal_hold else None,
            legal_basis="Accounting Act 2:10" if self.legal_hold else None,
        )

    def _refs_for(self, target: ErasureTarget) -> list[RecordRef]:
        return [
            RecordRef(
                system=self.name,
                kind=RecordKind.CONTACT,
                external_id=i.external_id,
                stream=self.STREAM,
                label=f"item {i.external_id}",
            )
            for i in self.system.items.values()
            if any(target.is_address(e) for e, _ in i.people)
        ]

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        self.system._maybe_fail("locate")
        if self.manual:  # nobody can look inside a manual system: always one manual step
            return [
                RecordRef(
                    system=self.name,
                    kind=RecordKind.MANUAL,
                    external_id="manual",
                    label="manual check",
                )
            ]
        return self._refs_for(target)

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        action = (
            Action.MANUAL if self.manual else Action.RETAIN if self.legal_hold else Action.DELETE
        )
        return PlannedAction(ref=ref, action=action, explanation=f"{action} {ref.label}")

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        self.system._maybe_fail("erase")
        if self.manual:
            return Outcome(status=OutcomeStatus.AWAITING_MANUAL, ref=ref, detail="do it by hand")
        if self.legal_hold:
            return Outcome(
                status=OutcomeStatus.RETAINED,
                ref=ref,
                legal_basis="Accounting Act 2:10",
                retained_until=date(2032, 12, 31),
            )
        item = self.system.items.get(ref.external_id)
        if item is None or not any(target.is_address(e) for e, _ in item.people):
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        self.system.erase_calls.append(ref.external_id)
        remaining = [(e, n) for e, n in item.people if not target.is_address(e)]
        if remaining:
            self.system.put(ref.external_id, *remaining)
        else:
            self.system.delete(ref.external_id)
        if self.system.fail_after_erase:
            raise self.system.fail_after_erase.pop(0)
        return Outcome(status=OutcomeStatus.ERASED, ref=ref)

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        self.system._maybe_fail("verify")
        if self.legal_hold or self.manual:
            return []
        return self._refs_for(target)

    def close(self) -> None:
        pass


def fake_capabilities(*, legal_hold: bool, manual: bool) -> frozenset[Capability]:
    way = Capability.MANUAL if manual else Capability.LEGAL_HOLD if legal_hold else Capability.ERASE
    return frozenset({Capability.PULL, way})


def _batched(items: list[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


class FakePlugin:
    """Registered only by tests (`registry.register`). Systems are looked up by name."""

    kind = "fake"
    systems: ClassVar[dict[str, FakeSystem]] = {}

    def parse_settings(self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> Any:
        reader = SettingsReader(raw, path, env)
        settings = {
            "page_size": reader.integer("page_size", 100, minimum=1),
            "mode": reader.choice("mode", "erase", ["erase", "legal_hold", "manual"]),
        }
        reader.finish()
        return settings

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        system = self.systems.setdefault(name, FakeSystem())
        return FakeConnector(
            name,
            system,
            page_size=settings["page_size"],
            profile=profile,
            legal_hold=settings["mode"] == "legal_hold",
            manual=settings["mode"] == "manual",
        )

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        mode = settings["mode"]
        return fake_capabilities(legal_hold=mode == "legal_hold", manual=mode == "manual")

    def default_profile(self, settings: Any) -> SystemProfile:
        return SystemProfile(
            vendor="Fake Oy", country="FI", transfer_mechanism=TransferMechanism.EEA
        )


def transient(retry_after: float | None = None) -> TransientError:
    return TransientError("simulated throttling", retry_after=retry_after)


# ---------------------------------------------------------------------------------------------
# The contract suite


@dataclass
class ContractSystem:
    """A connector wired to its system with one known person in it, and the hooks the suite's
    `supports_*` flags ask for (faults; changing the system out of band)."""

    connector: Connector
    present_email: str  # in the system, in any case; the contract normalises
    present_name: str
    absent_email: str = "nobody.here@example.invalid"
    faults: Faults | None = None  # supports_faults
    remove_person: Callable[[], None] | None = None  # supports_changes: the person leaves
    add_person: Callable[[str, str], None] | None = None  # supports_changes: (email, name) joins


def drain(changes: Iterator[Change]) -> list[Change]:
    return list(changes)


def emails_in(changes: Sequence[Change]) -> set[str]:
    out: set[str] = set()
    for change in changes:
        if isinstance(change, ItemUpsert):
            out.update(normalize_email(o.email) for o in change.observations if o.email)
    return out


def make_settings(
    database_url: str,
    systems: Sequence[Mapping[str, Any]],
    *,
    key: bytes = CONTRACT_KEY,
    extra: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    from syncaudit import registry
    from syncaudit.config import parse_config

    registry.register(FakePlugin())
    raw: dict[str, Any] = {
        "database": {"url": database_url},
        "identity": {"key_env": "SYNCAUDIT_TEST_KEY"},
        "systems": [dict(s) for s in systems],
        **(extra or {}),
    }
    environment = {"SYNCAUDIT_TEST_KEY": key.hex(), **(env or {})}
    return parse_config(raw, environment, source=None)
