"""The Art. 19 notice for partner-register entries names them by id, never by name."""

from __future__ import annotations

import pytest

from syncaudit.contract import RecordKind, RecordRef
from syncaudit_procountor.notice import partner_notice


def _ref(partner: str, number: str | None) -> RecordRef:
    locator = {"id": partner, **({"customer_number": number} if number else {})}
    return RecordRef(
        system="procountor",
        kind=RecordKind.BUSINESS_PARTNER,
        external_id=f"partner:{partner}",
        stream="ledger",
        locator=locator,
        label=f"business partner {partner}",
    )


def test_the_notice_in_finnish_and_english() -> None:
    refs = [_ref("1200", "4711"), _ref("57", None), _ref("1200", "4711")]
    fi = partner_notice(refs, "fi", sender="Valmennus Oy")
    assert "19 artiklan" in fi and "kumppanirekisteri" in fi
    assert fi.index("57 ") < fi.index("1200")  # numeric order
    assert fi.count("1200") == 1 and "4711" in fi
    assert fi.rstrip().endswith("Valmennus Oy")
    en = partner_notice(refs, "en", standalone=False)
    assert "Art. 19" in en and not en.startswith("Subject") and "Kind regards" not in en


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="fi, en"):
        partner_notice([], "sv")
