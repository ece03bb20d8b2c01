"""An erasure target recognises the person's address by plaintext or, without it, by pseudonym."""

from __future__ import annotations

from syncaudit.contract import ErasureTarget
from syncaudit.identity import Pseudonymizer
from syncaudit_msgraph._parse import redact_text, text_mentions

TEST_KEY = b"test-key-for-pseudonyms-0123456789"

PSEUDO = Pseudonymizer(TEST_KEY)


def _targets() -> tuple[ErasureTarget, ErasureTarget]:
    email = "ilona.kallio@esimerkki.fi"
    pseudonym = PSEUDO.of_normalized(email)
    known = ErasureTarget(email=email, pseudonym=pseudonym)
    blind = ErasureTarget(email="", pseudonym=pseudonym, pseudonymize=PSEUDO.of_normalized)
    return known, blind


def test_both_recognise_the_address_in_any_spelling_and_nothing_else() -> None:
    for target in _targets():
        assert target.is_address(" Ilona.Kallio@ESIMERKKI.fi ")
        assert not target.is_address("ilona.kallio+news@esimerkki.fi")
        assert not target.is_address("not an address")
        assert not target.is_address(None)


def test_without_the_key_nothing_matches() -> None:
    _, blind = _targets()
    keyless = ErasureTarget(email="", pseudonym=blind.pseudonym)
    assert not keyless.is_address("ilona.kallio@esimerkki.fi")
    assert "pseudonymize" not in repr(blind)


def test_free_text_redaction_finds_the_address_by_pseudonym() -> None:
    _, blind = _targets()
    text = "Mail Ilona.Kallio@esimerkki.fi. Cc: bob@example.com, <ilona.kallio@esimerkki.fi>"
    assert text_mentions(text, blind)
    assert redact_text(text, blind) == "Mail [redacted]. Cc: bob@example.com, <[redacted]>"
    assert not text_mentions("Cc: bob@example.com", blind)
