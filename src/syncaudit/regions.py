"""Where the law considers data safe: the EEA and the Art. 45 adequacy decisions.

One module holds the lists, the date they were last checked (`AS_OF`) and their sources, so a
change of law is one edit here. The USA counts as adequate only for a recipient certified under
the EU-US Data Privacy Framework (DPF), recorded as the system's transfer mechanism; the
certification must have been checked within the last 12 months.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from syncaudit.contract import SystemProfile, TransferMechanism

AS_OF = date(2026, 11, 1)
SOURCES = (
    "EEA Agreement (EU-27 + Iceland, Liechtenstein, Norway)",
    "European Commission: Adequacy decisions (Art. 45 GDPR)",
    "Commission Implementing Decision (EU) 2023/1795 (EU-US Data Privacy Framework); "
    "upheld by the General Court in Sept 2025, appeal pending",
)
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",  # EU-27
    "IS", "LI", "NO",
})  # fmt: skip
# Adequacy decisions; "US" only through the DPF (handled separately). The European Patent
# Organisation also has one, but is not a country.
ADEQUATE = frozenset({
    "AD", "AR", "BR", "CA", "FO", "GG", "IM", "IL", "JP", "JE", "NZ", "KR", "CH", "GB", "UY",
})  # fmt: skip
DPF_COUNTRY = "US"
DPF_CHECK_MAX_DAYS = 365


class Safeguard(enum.StrEnum):
    """What a transfer rests on, as the transfer report prints it."""

    EEA = "eea"  # no transfer: every destination is in the EEA
    ADEQUACY = "adequacy"  # Art. 45 adequacy decision for every destination outside the EEA
    DPF = "dpf"  # EU-US Data Privacy Framework certification
    SCC = "scc"  # standard contractual clauses (2021/914)
    BCR = "bcr"  # binding corporate rules
    ART49 = "art49"  # an Art. 49 derogation
    UNKNOWN = "unknown"  # nothing that covers the transfer is recorded


class Flag(enum.StrEnum):
    """A finding the operator must act on."""

    NO_SAFEGUARD = "no_safeguard"  # outside the EEA with nothing recorded that covers it
    DPF_CHECK_STALE = "dpf_check_stale"  # DPF certification not checked in the last 12 months
    DPF_NOT_APPLICABLE = "dpf_not_applicable"  # DPF named for a destination other than the USA
    NOT_ADEQUATE = "not_adequate"  # "adequacy" named for a country without a decision


@dataclass(frozen=True, kw_only=True)
class Assessment:
    destinations: tuple[str, ...]  # processing country first, then sub-processor countries
    outside_eea: tuple[str, ...]
    safeguard: Safeguard
    flags: tuple[Flag, ...]
    check_age_days: int | None  # days since transfer_checked, when recorded

    @property
    def eea(self) -> bool:
        return not self.outside_eea


def in_eea(country: str) -> bool:
    return country.upper() in EEA


def adequate(country: str) -> bool:
    """An adequacy decision covers the country as a whole (the USA is never covered so)."""
    return country.upper() in ADEQUATE


def assess(
    profile: SystemProfile, as_of: date, *, max_check_days: int = DPF_CHECK_MAX_DAYS
) -> Assessment:
    """Classify one system's transfer and list what must be fixed."""
    destinations = tuple(
        dict.fromkeys(c.upper() for c in (profile.country, *profile.sub_processor_countries))
    )
    outside = tuple(c for c in destinations if c not in EEA)
    age = (as_of - profile.transfer_checked).days if profile.transfer_checked else None
    if not outside:
        return Assessment(
            destinations=destinations,
            outside_eea=(),
            safeguard=Safeguard.EEA,
            flags=(),
            check_age_days=age,
        )
    safeguard, flags = _judge(profile.transfer_mechanism, outside, age, max_check_days)
    return Assessment(
        destinations=destinations,
        outside_eea=outside,
        safeguard=safeguard,
        flags=tuple(flags),
        check_age_days=age,
    )


def _judge(
    mechanism: TransferMechanism, outside: tuple[str, ...], age: int | None, max_days: int
) -> tuple[Safeguard, list[Flag]]:
    not_adequate = [c for c in outside if not adequate(c)]
    if mechanism is TransferMechanism.DPF:
        flags = []
        if [c for c in not_adequate if c != DPF_COUNTRY]:
            flags.append(Flag.DPF_NOT_APPLICABLE)
        if age is None or age > max_days:
            flags.append(Flag.DPF_CHECK_STALE)
        return Safeguard.DPF, flags
    explicit = {
        TransferMechanism.SCC: Safeguard.SCC,
        TransferMechanism.BCR: Safeguard.BCR,
        TransferMechanism.DEROGATION: Safeguard.ART49,
    }
    if mechanism in explicit:
        return explicit[mechanism], []
    if mechanism is TransferMechanism.ADEQUACY and not_adequate:
        return Safeguard.ADEQUACY, [Flag.NOT_ADEQUATE]
    if not not_adequate:  # adequacy covers every destination, named or not
        return Safeguard.ADEQUACY, []
    return Safeguard.UNKNOWN, [Flag.NO_SAFEGUARD]


def safeguard_status(profile: SystemProfile, today: date | None = None) -> str:
    """A one-word verdict for listings: eea, adequacy, dpf, scc, bcr, art49, dpf-stale, missing."""
    result = assess(profile, today or date.today())
    if Flag.DPF_CHECK_STALE in result.flags and len(result.flags) == 1:
        return "dpf-stale"
    if result.flags:
        return "missing"
    return str(result.safeguard)
