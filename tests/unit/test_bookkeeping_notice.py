"""The Art. 19 notice to the accounting firm: invoices by number and date, no personal data."""

from __future__ import annotations

from datetime import date

import pytest

from syncaudit.bookkeeping_notice import source_deletion_notice
from syncaudit.contract import RecordKind, RecordRef


def _ref(number: str, issued: str) -> RecordRef:
    return RecordRef(
        system="accounting",
        kind=RecordKind.INVOICE_BUYER,
        external_id=f"{number}@{issued}",
        stream="file:x.xml",
        locator={"file": "x.xml", "invoice": number, "date": issued},
        label=f"invoice {number}",
    )


def test_source_deletion_notice_in_finnish_and_english() -> None:
    refs = [_ref("1002", "2025-02-03"), _ref("1001", "2024-05-06"), _ref("1001", "2024-05-06")]
    fi = source_deletion_notice(refs, "fi", today=date(2031, 1, 1), sender="Esimerkki Valmennus Oy")
    assert "kirjanpitolain (1336/1997) 2 luvun 10" in fi
    assert "19 artiklan" in fi
    assert fi.index("1001") < fi.index("1002")  # earliest end first
    assert fi.count("1001  ") == 1  # one line per invoice
    assert "6.5.2024" in fi and "31.12.2030" in fi and "31.12.2031" in fi
    assert "päättynyt laskuilta: 1001." in fi
    assert fi.rstrip().endswith("Esimerkki Valmennus Oy")
    en = source_deletion_notice(refs, "en", financial_year_end="04-30", retention_years=10)
    assert "Art. 19" in en and "Accounting Act (1336/1997) ch. 2 § 10" in en
    assert "2035-12-31" in en  # 6.5.2024 -> year ends 30.4.2025 -> +10 years
    assert "already ended" not in en  # no `today`: nothing is claimed to have ended
    for text in (fi, en):
        assert "@" not in text and "Mäkelä" not in text


def test_source_deletion_notice_refuses_unknown_language() -> None:
    with pytest.raises(ValueError, match="fi, en"):
        source_deletion_notice([], "sv")
