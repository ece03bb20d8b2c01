"""Every letter renders in fi, sv and en with the parts the law and the issue require."""

from __future__ import annotations

from typing import Any

import pytest

from syncaudit.requester import letters
from syncaudit.requester.settings import AUTHORITY

LANGUAGES = ("fi", "sv", "en")
CONTEXT: dict[str, Any] = {
    "ref": "M-20261102-abc123",
    "kind": "erasure",
    "received": "2026-11-02",
    "deadline": "2026-12-02",
    "controller": "Valmennus Virtanen Oy",
    "authority": AUTHORITY,
    "reason": "Pyyntö koskee toisen henkilön tietoja.",
    "systems": [
        {"name": "outlook", "result": "erased"},
        {"name": "books", "result": "retained"},
        {"name": "newsletter", "result": "already_absent"},
    ],
    "retained": [
        {"system": "books", "label": "invoice 90001", "until": "2031-12-31", "basis": "x"}
    ],
    "delivery": "attachment",
}
LEGAL_BASIS = {"fi": "17 artiklan 3 kohdan", "sv": "artikel 17.3 b", "en": "Art. 17(3)(b)"}
RESTRICTED = {"fi": "rajoitettu", "sv": "begränsad", "en": "restricted"}
COMPLAINT = {"fi": "valitus", "sv": "klagomål", "en": "complaint"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", letters.KINDS)
def test_every_letter_renders_with_its_reference_and_marker(language: str, kind: str) -> None:
    text = letters.render(kind, language, CONTEXT, marker="LTEST12345")
    assert text.subject.endswith("[LTEST12345]")
    assert "M-20261102-abc123" in text.body
    assert "Valmennus Virtanen Oy" in text.body
    assert "{" not in text.body and "{" not in text.subject


@pytest.mark.parametrize("language", LANGUAGES)
def test_completion_names_what_was_done_what_is_retained_until_when_and_the_complaint_right(
    language: str,
) -> None:
    body = letters.render("completion", language, CONTEXT, marker="L1").body
    assert "outlook" in body and "newsletter" in body
    assert "invoice 90001" in body and "2031-12-31" in body
    assert "1336/1997" in body
    assert "10 §" in body or "section 10" in body
    assert LEGAL_BASIS[language] in body
    assert RESTRICTED[language] in body
    assert COMPLAINT[language] in body
    assert "tietosuoja.fi" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusal_gives_the_reason_and_the_complaint_right(language: str) -> None:
    body = letters.render("refusal", language, CONTEXT, marker="L2").body
    assert "Pyyntö koskee toisen henkilön tietoja." in body
    assert COMPLAINT[language] in body and "tietosuoja.fi" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_extension_gives_the_reason_and_the_new_date(language: str) -> None:
    body = letters.render("extension", language, CONTEXT, marker="L3").body
    assert CONTEXT["reason"] in body and "2026-12-02" in body and "12" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_verification_asks_for_a_reply_and_for_no_id_document(language: str) -> None:
    body = letters.render("verification", language, CONTEXT, marker="VABCDEFGHJ").body
    words = {"fi": "henkilötunnusta", "sv": "personbeteckning", "en": "identity code"}
    assert words[language] in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_access_completion_says_where_the_document_is(language: str) -> None:
    context = {**CONTEXT, "kind": "access", "retained": [], "systems": []}
    attached = letters.render("completion", language, context, marker="L4").body
    operator = letters.render(
        "completion", language, {**context, "delivery": "operator"}, marker="L4"
    ).body
    assert attached != operator


def test_an_operator_folder_overrides_a_template(tmp_path: Any) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "receipt.txt").write_text("Subject: Got it\nThanks, {{ ref }}.\n")
    text = letters.render("receipt", "en", CONTEXT, marker="L5", extra=str(tmp_path))
    assert text.subject == "Got it [L5]"
    assert text.body == "Thanks, M-20261102-abc123.\n"
