"""Where the law considers data safe: the EEA and the Art. 45 adequacy decisions.

As of 2026-11 (sources: EEA Agreement; European Commission, "Adequacy decisions" page; Decision
(EU) 2023/1795 for the EU-US Data Privacy Framework, upheld by the General Court in Sept 2025,
appeal pending). The USA counts as adequate only for a DPF-certified recipient.
"""

from __future__ import annotations

from datetime import date

from syncaudit.contract import SystemProfile, TransferMechanism

AS_OF = date(2026, 11, 1)
SOURCES = (
    "EEA Agreement (EU-27 + Iceland, Liechtenstein, Norway)",
    "European Commission: Adequacy decisions (Art. 45 GDPR)",
    "Commission Implementing Decision (EU) 2023/1795 (EU-US Data Privacy Framework)",
)
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",  # EU-27
    "IS", "LI", "NO",
})  # fmt: skip
# Adequacy decisions; "US" only through the DPF (handled separately).
ADEQUATE = frozenset({
    "AD", "AR", "BR", "CA", "FO", "GG", "IM", "IL", "JP", "JE", "NZ", "KR", "CH", "GB", "UY",
})  # fmt: skip
DPF_CHECK_MAX_DAYS = 365


def in_eea(country: str) -> bool:
    return country.upper() in EEA


def safeguard_status(profile: SystemProfile, today: date | None = None) -> str:
    """A one-word verdict for listings: eea, adequacy, dpf, scc, bcr, art49, dpf-stale, missing."""
    country = profile.country.upper()
    if country in EEA and not [c for c in profile.sub_processor_countries if c not in EEA]:
        return "eea"
    mechanism = profile.transfer_mechanism
    if mechanism is TransferMechanism.DPF:
        if country != "US":
            return "missing"
        checked = profile.transfer_checked
        if checked is None or ((today or date.today()) - checked).days > DPF_CHECK_MAX_DAYS:
            return "dpf-stale"
        return "dpf"
    if mechanism is TransferMechanism.ADEQUACY:
        return "adequacy" if country in ADEQUATE else "missing"
    if mechanism in (TransferMechanism.SCC, TransferMechanism.BCR, TransferMechanism.DEROGATION):
        return str(mechanism.value).lower()
    if country in ADEQUATE:
        return "adequacy"
    return "missing"
