"""Which data-subject right a message asks for, from keywords in Finnish, Swedish and English.

The words are those people use (requests-and-replies.md). The result is the kind, the language
and the keywords matched — never the text. Quoted lines ("> ..."), the signature (after "-- ")
and lines with a link (newsletter footers: "to unsubscribe click here") are not read; an
auto-reply is no request. A message that matches several kinds is left to the operator
(kind `unclear`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ERASURE = "erasure"
ACCESS = "access"
OBJECTION = "objection"
RECTIFICATION = "rectification"
UNCLEAR = "unclear"
KINDS = (ERASURE, ACCESS, OBJECTION, RECTIFICATION)

# kind -> language -> phrases (lower case; a phrase matches at word starts, so "poista" also
# matches "poistakaa" and "poistaminen").
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    ERASURE: {
        "fi": (
            "poista tietoni",
            "poistakaa tietoni",
            "poistakaa minut",
            "poista minut",
            "tietojen poistaminen",
            "tietojeni poistamista",
            "unohda minut",
            "unohtamista",
        ),
        "sv": (
            "radera mina uppgifter",
            "radera mig",
            "ta bort mig",
            "ta bort mina uppgifter",
            "radering",
        ),
        "en": (
            "delete my data",
            "delete my personal data",
            "erase my data",
            "erase me",
            "remove me",
            "remove my data",
            "forget me",
            "right to be forgotten",
            "erasure",
        ),
    },
    ACCESS: {
        "fi": (
            "tarkastusoikeus",
            "tarkastuspyyntö",
            "mitä tietoja minusta",
            "pyydän tietoni",
            "kopio tiedoistani",
            "kopion tiedoistani",
        ),
        "sv": ("registerutdrag", "vilka uppgifter", "tillgång till mina uppgifter"),
        "en": (
            "access request",
            "copy of my data",
            "copy of my personal data",
            "what data do you hold",
            "what personal data",
            "subject access",
        ),
    },
    OBJECTION: {
        "fi": (
            "en halua uutiskirjettä",
            "en halua uutiskirjeitä",
            "kiellän markkinoinnin",
            "markkinointikielto",
            "peru tilaus",
            "perukaa tilaukseni",
        ),
        "sv": ("avregistrera", "vill inte ha nyhetsbrev", "invänder mot marknadsföring"),
        "en": ("unsubscribe", "stop sending", "object to marketing", "no more newsletters"),
    },
    RECTIFICATION: {
        "fi": ("korjatkaa", "korjaus tietoihini", "tietoni ovat väärin", "nimeni on muuttunut"),
        "sv": ("rätta mina uppgifter", "fel uppgifter", "rättelse"),
        "en": ("correct my data", "rectify", "my name has changed", "update my address"),
    },
}

# Words that say which language a message is in when no keyword decides it.
_COMMON = {
    "fi": ("hei", "ja", "että", "minun", "kiitos", "olen", "tietoni", "ystävällisin"),
    "sv": ("hej", "och", "att", "mina", "tack", "jag", "vänliga", "hälsningar"),
    "en": ("hello", "and", "the", "my", "thanks", "please", "regards", "dear"),
}
_AUTO_REPLY = re.compile(
    r"^(automatic reply|auto(matic)?[- ]?reply|out of office|automaattinen vastaus|"
    r"poissa toimistolta|autosvar|frånvaro)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class Classification:
    kind: str | None  # None: asks for nothing; UNCLEAR: several kinds, the operator decides
    language: str
    matched: tuple[str, ...]  # the keywords (from KEYWORDS), never the message's own text
    kinds: tuple[str, ...] = ()  # every kind that matched


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def readable_part(body: str) -> str:
    """The person's own words: no quoted lines, no signature, no lines with links."""
    kept: list[str] = []
    for line in body.splitlines():
        if line.strip() in {"--", "-- "} or line.startswith("-- "):
            break
        stripped = line.strip()
        if stripped.startswith(">") or "http://" in stripped or "https://" in stripped:
            continue
        if re.match(r"^(from|lähettäjä|från):", stripped, re.IGNORECASE) and kept:
            break  # an Outlook-style quoted header starts the quoted original
        kept.append(line)
    return "\n".join(kept)


def classify(
    subject: str, body: str, languages: tuple[str, ...] = ("fi", "sv", "en")
) -> Classification:
    if _AUTO_REPLY.match(subject.strip()):
        return Classification(kind=None, language=languages[0], matched=())
    text = " " + re.sub(r"[^\w]+", " ", fold(subject + "\n" + readable_part(body))) + " "
    hits: dict[str, list[tuple[str, str]]] = {}
    for kind, by_language in KEYWORDS.items():
        for language, phrases in by_language.items():
            if language not in languages:
                continue
            for phrase in phrases:
                if " " + phrase in text:
                    hits.setdefault(kind, []).append((language, phrase))
    language = _language(text, hits, languages)
    matched = tuple(sorted({p for found in hits.values() for _, p in found}))
    kinds = tuple(k for k in KINDS if k in hits)
    if not kinds:
        return Classification(kind=None, language=language, matched=())
    kind = kinds[0] if len(kinds) == 1 else UNCLEAR
    return Classification(kind=kind, language=language, matched=matched, kinds=kinds)


def _language(text: str, hits: dict[str, list[tuple[str, str]]], languages: tuple[str, ...]) -> str:
    score = dict.fromkeys(languages, 0)
    for found in hits.values():
        for language, _ in found:
            score[language] += 3
    words = text.split()
    for language in languages:
        score[language] += sum(words.count(w) for w in _COMMON[language])
    best = max(languages, key=lambda lang: (score[lang], lang == "fi"))
    return best if score[best] > 0 else ("fi" if "fi" in languages else languages[0])
