"""The transfer verdict: EEA, adequacy, DPF (the only way the USA is adequate), flags."""

from __future__ import annotations

from datetime import date

import pytest

from syncaudit.contract import SystemProfile, TransferMechanism
from syncaudit.regions import (
    ADEQUATE,
    AS_OF,
    EEA,
    SOURCES,
    Flag,
    Safeguard,
    assess,
    in_eea,
    safeguard_status,
)

TODAY = date(2026, 3, 31)
M = TransferMechanism


def profile(country: str, mechanism: M = M.UNKNOWN, **kw: object) -> SystemProfile:
    return SystemProfile(vendor="v", country=country, transfer_mechanism=mechanism, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("p", "safeguard", "flags"),
    [
        (profile("FI"), Safeguard.EEA, ()),
        (profile("IE", M.EEA), Safeguard.EEA, ()),
        (profile("US"), Safeguard.UNKNOWN, (Flag.NO_SAFEGUARD,)),
        (profile("US", M.EEA), Safeguard.UNKNOWN, (Flag.NO_SAFEGUARD,)),
        (profile("US", M.ADEQUACY), Safeguard.ADEQUACY, (Flag.NOT_ADEQUATE,)),
        (profile("US", M.DPF, transfer_checked=date(2026, 1, 10)), Safeguard.DPF, ()),
        (
            profile("US", M.DPF, transfer_checked=date(2025, 3, 30)),
            Safeguard.DPF,
            (Flag.DPF_CHECK_STALE,),
        ),
        (profile("US", M.DPF), Safeguard.DPF, (Flag.DPF_CHECK_STALE,)),
        (profile("IN", M.DPF, transfer_checked=TODAY), Safeguard.DPF, (Flag.DPF_NOT_APPLICABLE,)),
        (profile("GB"), Safeguard.ADEQUACY, ()),
        (profile("CH", M.ADEQUACY), Safeguard.ADEQUACY, ()),
        (profile("IN", M.SCC), Safeguard.SCC, ()),
        (profile("IN", M.BCR), Safeguard.BCR, ()),
        (profile("IN", M.DEROGATION), Safeguard.ART49, ()),
        (profile("FI", sub_processor_countries=("US",)), Safeguard.UNKNOWN, (Flag.NO_SAFEGUARD,)),
        (profile("FI", M.SCC, sub_processor_countries=("US", "SE")), Safeguard.SCC, ()),
    ],
)
def test_assess(p: SystemProfile, safeguard: Safeguard, flags: tuple[Flag, ...]) -> None:
    verdict = assess(p, TODAY)
    assert verdict.safeguard is safeguard
    assert verdict.flags == flags


def test_destinations_and_check_age() -> None:
    verdict = assess(
        profile(
            "fi", M.SCC, sub_processor_countries=("us", "FI"), transfer_checked=date(2026, 3, 1)
        ),
        TODAY,
    )
    assert verdict.destinations == ("FI", "US")
    assert verdict.outside_eea == ("US",)
    assert not verdict.eea
    assert verdict.check_age_days == 30


def test_the_lists_are_what_the_law_says() -> None:
    assert len(EEA) == 30
    assert {"IS", "LI", "NO"} <= EEA
    assert not {"GB", "CH", "US"} & EEA
    assert "US" not in ADEQUATE  # only through the DPF
    assert {"GB", "CH", "JP", "KR", "CA", "BR"} <= ADEQUATE
    assert AS_OF.year >= 2026
    assert any("2023/1795" in s for s in SOURCES)
    assert in_eea("fi") and not in_eea("GB")


def test_safeguard_status_keeps_its_one_word_verdicts() -> None:
    assert safeguard_status(profile("FI"), TODAY) == "eea"
    assert safeguard_status(profile("US"), TODAY) == "missing"
    assert (
        safeguard_status(profile("US", M.DPF, transfer_checked=date(2024, 1, 1)), TODAY)
        == "dpf-stale"
    )
    assert safeguard_status(profile("US", M.DPF, transfer_checked=TODAY), TODAY) == "dpf"
    assert safeguard_status(profile("GB"), TODAY) == "adequacy"
    assert safeguard_status(profile("IN", M.DEROGATION), TODAY) == "art49"
