"""The `manual` connector: no API, so every erasure is an instruction and a confirmation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Capability,
    Change,
    Connector,
    ErasureTarget,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    SettingsReader,
    SystemProfile,
    TransferMechanism,
)

CAPABILITIES = frozenset({Capability.MANUAL})
DEFAULT_INSTRUCTIONS = "Find the person in this system and delete them, then confirm."


@dataclass(frozen=True, kw_only=True)
class ManualSettings:
    instructions: str
    vendor: str
    country: str


class ManualConnector:
    def __init__(self, name: str, settings: ManualSettings, profile: SystemProfile) -> None:
        self.name = name
        self.settings = settings
        self.profile = profile
        self.capabilities = CAPABILITIES

    def check(self) -> str:
        return "manual system: nothing to connect to"

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        return iter(())

    def _ref(self) -> RecordRef:
        return RecordRef(
            system=self.name,
            kind=RecordKind.MANUAL,
            external_id="manual",
            label=f"manual step in {self.name}",
        )

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        return [self._ref()]  # nobody can look inside: always one manual step

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        return PlannedAction(
            ref=ref, action=Action.MANUAL, explanation=f"operator: {self.settings.instructions}"
        )

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        return Outcome(
            status=OutcomeStatus.AWAITING_MANUAL, ref=ref, detail=self.settings.instructions
        )

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        return []  # the operator's confirmation is the verification

    def close(self) -> None:
        pass


class ManualPlugin:
    kind = "manual"

    def parse_settings(
        self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
    ) -> ManualSettings:
        reader = SettingsReader(raw, path, env)
        settings = ManualSettings(
            instructions=reader.string("instructions", DEFAULT_INSTRUCTIONS),
            vendor=str(raw.get("vendor", raw.get("name", "manual"))),
            country=str(raw.get("country", "FI")),
        )
        reader.finish()
        return settings

    def create(
        self, name: str, settings: ManualSettings, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        return ManualConnector(name, settings, profile)

    def capabilities(self, settings: ManualSettings) -> frozenset[Capability]:
        return CAPABILITIES

    def default_profile(self, settings: ManualSettings) -> SystemProfile:
        return SystemProfile(
            vendor=settings.vendor,
            country=settings.country.upper(),
            transfer_mechanism=TransferMechanism.EEA
            if settings.country.upper() == "FI"
            else TransferMechanism.UNKNOWN,
            data_categories=("email address",),
        )


PLUGIN = ManualPlugin()
