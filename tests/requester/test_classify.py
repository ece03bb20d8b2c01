"""Classification by keywords: kinds and languages; quoted text, footers and auto-replies are
not requests; several kinds are left to the operator."""

from __future__ import annotations

import pytest

from syncaudit.requester.classify import UNCLEAR, classify


@pytest.mark.parametrize(
    ("subject", "body", "kind", "language"),
    [
        ("Tietojeni poistaminen", "Hei, poistakaa tietoni. Kiitos", "erasure", "fi"),
        ("", "Hei, haluan käyttää tarkastusoikeutta: mitä tietoja minusta on?", "access", "fi"),
        ("Uutiskirje", "En halua uutiskirjettä enää, kiitos.", "objection", "fi"),
        ("Osoite", "Hei, korjatkaa osoitteeni, se on vaihtunut.", "rectification", "fi"),
        ("Radera", "Hej, radera mina uppgifter tack.", "erasure", "sv"),
        ("Registerutdrag", "Hej, jag vill ha ett registerutdrag.", "access", "sv"),
        ("Sluta", "Hej, avregistrera mig från listan.", "objection", "sv"),
        ("Fel", "Hej, ni har fel uppgifter om mig.", "rectification", "sv"),
        ("Please", "Please delete my data. Thanks", "erasure", "en"),
        ("Right to be forgotten", "Dear team, forget me.", "erasure", "en"),
        ("SAR", "I make a subject access request.", "access", "en"),
        ("Stop", "Please stop sending me these mails.", "objection", "en"),
        ("Name", "Hello, my name has changed.", "rectification", "en"),
    ],
)
def test_kinds_and_languages(subject: str, body: str, kind: str, language: str) -> None:
    found = classify(subject, body)
    assert (found.kind, found.language) == (kind, language)
    assert found.matched
    for word in found.matched:
        assert word in (subject + " " + body).lower()


def test_ordinary_mail_quoted_text_footers_and_auto_replies_are_not_requests() -> None:
    assert classify("Valmennus tiistaina", "Hei, sopiiko klo 10?").kind is None
    assert classify("RE: asia", "Kiitos!\n\n> poistakaa tietoni").kind is None
    footer = "Uusi kurssi alkaa.\nTo unsubscribe click https://example.com/u"
    assert classify("Uutiskirje", footer).kind is None
    assert classify("Automaattinen vastaus: Poista tietoni", "poistakaa tietoni").kind is None
    assert classify("Hi", "Thanks!\n-- \nunsubscribe").kind is None


def test_several_kinds_are_left_to_the_operator() -> None:
    found = classify("Request", "Please send me a copy of my data and then delete my data.")
    assert found.kind == UNCLEAR
    assert found.kinds == ("erasure", "access")


def test_only_configured_languages_are_read() -> None:
    assert classify("x", "radera mina uppgifter", ("fi", "en")).kind is None
