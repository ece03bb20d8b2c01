"""The Art. 19 notice of a rectification, and the Outlook contact patch it goes with."""

from __future__ import annotations

from syncaudit.bookkeeping_notice import rectification_notice
from syncaudit.contract import Correction, ErasureTarget, RecordKind, RecordRef
from syncaudit_msgraph._rectify import wanted_patch

OLD = "anna.virtanen@example.fi"
NEW = "anna.korhonen@example.fi"


def _invoice(number: str, day: str) -> RecordRef:
    return RecordRef(
        system="books",
        kind=RecordKind.INVOICE_BUYER,
        external_id=f"{number}@{day}",
        locator={"invoice": number, "date": day},
    )


def test_notice_names_the_corrections_and_the_invoices_in_both_languages() -> None:
    refs = [_invoice("1002", "2025-11-03"), _invoice("1001", "2025-10-01")]
    fi = rectification_notice(refs, "fi", name="Anna Korhonen", email=NEW, sender="Oy")
    en = rectification_notice(refs, "en", name="Anna Korhonen")
    assert "19 artiklan" in fi and "nimi: Anna Korhonen" in fi and NEW in fi
    assert fi.index("1001") < fi.index("1002") and "1.10.2025" in fi and fi.endswith("Oy\n")
    assert "Art. 19" in en and "name: Anna Korhonen" in en and "e-mail" not in en
    assert "not altered afterwards" in en
    assert "no invoices" in rectification_notice([], "en", name="A B")


def test_contact_patch_keeps_other_addresses_and_corrects_labels() -> None:
    target = ErasureTarget(email=OLD, pseudonym="p", names=("Anna Virtanen",))
    contact = {
        "displayName": "Anna Virtanen",
        "givenName": "Anna",
        "surname": "Virtanen",
        "emailAddresses": [
            {"name": OLD, "address": OLD.upper()},
            {"name": "Work", "address": "anna@work.example"},
        ],
    }
    fix = Correction(name="Anna Korhonen", email=NEW)
    patch = wanted_patch(contact, target, fix)
    assert patch == {
        "displayName": "Anna Korhonen",
        "surname": "Korhonen",
        "emailAddresses": [
            {"name": "Anna Korhonen", "address": NEW},
            {"name": "Work", "address": "anna@work.example"},
        ],
    }
    corrected = {**contact, **patch}
    assert wanted_patch(corrected, target, fix) == {}  # the repeat changes nothing
    address_only = Correction(email=NEW)
    assert wanted_patch(contact, target, address_only)["emailAddresses"][0] == {
        "name": NEW,  # the old address as a label goes too
        "address": NEW,
    }
