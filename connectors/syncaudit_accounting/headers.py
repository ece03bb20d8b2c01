"""CSV header cells matched to invoice fields by the words they contain, not by exact spelling.

A header cell is folded (case, accents, punctuation) and each word is cut into known stems,
longest first, so Finnish compounds split on their own: "Laskupvm" -> lasku + pvm,
"Sähköpostiosoite" -> sähköposti + osoite. Each stem names a concept (INVOICE, DATE, EMAIL ...);
a field is claimed by a column whose concepts hold all of a rule's `needs` and nothing outside
`needs | may`. A rule of one concept ("Pvm", "Numero", "Nimi") is *bare*: it also refuses any
word it does not know, so "Tilinumero" or "Kirjauspäivä" claim nothing. Concepts such as DUE,
DELIVERY, REFERENCE, PHONE or PRODUCT exist only to veto ("Eräpäivä" is not the invoice date).
A column naming an identity code (Y-tunnus, henkilötunnus, identifier) claims nothing, so it is
never read.

The operator's `csv_columns` win over words. A required field with no column, or any field
claimed by two columns, is refused with the header that was seen and a ready-to-paste
`csv_columns = { ... }` line — unless line 1 looks like data (an address, a date, an identity
code): a header holds column names, a data row holds people, and people are never printed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncaudit import hetu
from syncaudit.errors import InputFileError

REQUIRED = ("invoice_number", "invoice_date")
EMAIL_FIELDS = ("buyer_email", "recipient_email")
MAX_SHOWN = 400  # characters of the header quoted in a message

# concepts
INVOICE, NUMBER, DATE, NAME, CUSTOMER, EMAIL = "invoice", "number", "date", "name", "cust", "email"
CONTACT, PERSON, RECIPIENT, ADDRESS, STREET = "contact", "person", "recipient", "addr", "street"
POSTCODE, POSTAL, CODE, CITY, COUNTRY = "postcode", "postal", "code", "city", "country"
IDENTITY = "identity"  # never read
VETO = "veto"  # due, delivery, payment, reference, phone, product, total, seller, details ...

_STEMS: dict[str, tuple[str, ...]] = {
    INVOICE: ("lasku", "laskutus", "invoice", "billing", "bill=", "faktura"),
    NUMBER: ("numero", "number", "nro", "no=", "nr=", "num=", "id="),
    DATE: ("paiva", "paivays", "paivamaara", "pvm", "date"),
    NAME: ("nimi", "name"),
    CUSTOMER: ("asiakas", "asiakkaan", "ostaja", "buyer", "customer", "client", "vastapuoli",
               "counterparty", "kunde"),
    EMAIL: ("sahkoposti", "sposti", "email", "mail=", "posti="),
    CONTACT: ("yhteyshenkilo", "yhteys", "contact"),
    PERSON: ("henkilo", "person"),
    RECIPIENT: ("vastaanottaja", "recipient", "receiver"),
    ADDRESS: ("osoite", "address", "adress"),
    STREET: ("katuosoite", "lahiosoite", "street", "katu="),
    POSTCODE: ("postinumero", "postcode", "zip", "zipcode", "postnummer"),
    POSTAL: ("postal=", "post="),
    CODE: ("code=", "koodi"),
    CITY: ("postitoimipaikka", "toimipaikka", "kaupunki", "paikkakunta", "city", "town"),
    COUNTRY: ("maa=", "maakoodi", "country"),
    IDENTITY: ("tunnus", "ytunnus", "hetu", "henkilotunnus", "sotu", "identifier", "ssn=",
               "vat=", "alv="),
    VETO: ("era", "erapaiva", "erapvm", "due", "toimitus", "delivery", "shipping", "maksu",
           "payment", "paid", "viite", "reference", "ref=", "puhelin", "phone", "gsm=",
           "tel=", "mobile", "tuote", "nimike", "product", "article", "item", "summa", "total",
           "amount", "hinta", "price", "vero", "tax", "myyja", "seller", "vendor", "supplier",
           "laskuttaja", "tiedot", "details", "info", "notes", "huomautus", "viesti", "message",
           "tili", "account", "iban", "tilaus", "order", "kirjaus", "posting"),
}  # fmt: skip
_ENDINGS = 2  # leftover letters a stem may carry (laskun, ostajan) without counting as a word

# field, needs, may also have; a one-concept `needs` is bare (refuses unknown words)
_RULES: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = tuple(
    (name, frozenset(needs), frozenset(may))
    for name, needs, may in (
        ("recipient_email", {EMAIL, RECIPIENT}, {INVOICE, ADDRESS}),
        ("recipient_email", {EMAIL, INVOICE}, {ADDRESS}),
        ("buyer_email", {EMAIL}, {ADDRESS, CUSTOMER, CONTACT, PERSON}),
        ("invoice_number", {INVOICE, NUMBER}, ()),
        ("invoice_number", {NUMBER}, ()),
        ("invoice_number", {INVOICE}, ()),
        ("invoice_date", {INVOICE, DATE}, ()),
        ("invoice_date", {DATE}, ()),
        ("street", {STREET}, {ADDRESS, CUSTOMER, INVOICE}),
        ("postcode", {POSTCODE}, {CODE, CUSTOMER, INVOICE}),
        ("postcode", {POSTAL, CODE}, {CUSTOMER, INVOICE}),
        ("city", {CITY}, {CUSTOMER, INVOICE}),
        ("country", {COUNTRY}, {CODE, CUSTOMER, INVOICE}),
        ("address", {ADDRESS}, {INVOICE, CUSTOMER}),
        ("contact_person", {CONTACT}, {NAME, PERSON, CUSTOMER, INVOICE}),
        ("recipient_name", {RECIPIENT}, {INVOICE, NAME}),
        ("buyer_name", {CUSTOMER}, {NAME, INVOICE}),
        ("buyer_name", {NAME}, ()),
    )
)
FIELDS = tuple(dict.fromkeys(name for name, _, _ in _RULES))


@dataclass(frozen=True)
class _Stem:
    text: str
    concept: str
    whole: bool  # only as a word of its own ("no", "id", "maa")


_BY_LENGTH = sorted(
    (
        _Stem(s.rstrip("="), concept, s.endswith("="))
        for concept, stems in _STEMS.items()
        for s in stems
    ),
    key=lambda s: -len(s.text),
)


def fold(text: str) -> str:
    """Case-, accent- and punctuation-free words: "Laskun päivä:" -> "laskun paiva"."""
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", "")).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def concepts(cell: str) -> tuple[frozenset[str], bool]:
    """The concepts in a header cell, and whether it has a word (or compound part) not known."""
    found: set[str] = set()
    unknown = False
    for word in fold(cell).split():
        if word.isdigit():
            continue
        leftover = _segment(word, found)
        unknown = unknown or any(len(part) > _ENDINGS for part in leftover)
    return frozenset(found), unknown


def _segment(word: str, found: set[str]) -> list[str]:
    """Cut `word` into stems, longest first at each position; returns the uncut runs."""
    leftover: list[str] = []
    run, pos = "", 0
    while pos < len(word):
        stem = next((s for s in _BY_LENGTH if _fits(s, word, pos)), None)
        if stem is None:
            run += word[pos]
            pos += 1
            continue
        found.add(stem.concept)
        leftover.append(run)
        run, pos = "", pos + len(stem.text)
    leftover.append(run)
    return leftover


def _fits(stem: _Stem, word: str, pos: int) -> bool:
    if stem.whole:
        return pos == 0 and word == stem.text
    return word.startswith(stem.text, pos)


def field_of(cell: str) -> str | None:
    """The invoice field a header cell names, or None (unknown, vetoed or an identity code)."""
    found, unknown = concepts(cell)
    if not found or IDENTITY in found or VETO in found:
        return None
    for name, needs, may in _RULES:
        if needs <= found <= needs | may and not (unknown and len(needs) == 1):
            return name
    return None


def map_columns(
    header: Sequence[str], overrides: Mapping[str, str], *, file: str
) -> dict[str, int]:
    """field -> column index. csv_columns (compared folded) win; every other field is claimed by
    words. InputFileError, with a suggested csv_columns line, when a required field has no
    column or a field has two."""
    found: dict[str, int] = {}
    wanted = {fold(text): name for name, text in overrides.items()}
    for index, cell in enumerate(header):
        name = wanted.get(fold(cell))
        if name is not None and name not in found:
            found[name] = index
    claims: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        if index in found.values():
            continue
        name = field_of(cell)
        if name is not None and name not in found:
            claims.setdefault(name, []).append(index)
    doubled = {name: ix for name, ix in claims.items() if len(ix) > 1}
    found.update({name: ix[0] for name, ix in claims.items()})
    missing = [name for name in REQUIRED if name not in found]
    if not any(name in found for name in EMAIL_FIELDS):
        missing.append("buyer_email or recipient_email")
    if missing or doubled:
        raise InputFileError(file, _refusal(header, found, missing, doubled), where="line 1")
    return found


def _refusal(
    header: Sequence[str],
    found: Mapping[str, int],
    missing: Sequence[str],
    doubled: Mapping[str, Sequence[int]],
) -> str:
    parts = [f"no column for {', '.join(missing)}"] if missing else []
    if _looks_like_data(header):
        parts.append("line 1 looks like data, not column names (not shown)")
        parts.append("the export needs a header row; csv_columns maps its column names")
        return "; ".join(parts)
    for name, indexes in doubled.items():
        shown = " and ".join(_quote(header[i]) for i in indexes)
        parts.append(f"{name} is claimed by {shown}")
    parts.append(f"header seen: {_quote(_joined(header))}")
    parts.append(
        "map the columns in the system's table (fill in any empty header): "
        + suggestion(header, found, missing)
    )
    return "; ".join(parts)


def suggestion(header: Sequence[str], found: Mapping[str, int], missing: Sequence[str]) -> str:
    """A TOML line for the system's table: what was recognised (first claimant of a doubled
    field), and an empty string for each missing field, to be filled in."""
    pairs = [(name, header[index]) for name, index in sorted(found.items(), key=lambda kv: kv[1])]
    wanted = [m if m in FIELDS else EMAIL_FIELDS[0] for m in missing]
    pairs += [(name, "") for name in wanted]
    return "csv_columns = { " + ", ".join(f"{name} = {_toml(text)}" for name, text in pairs) + " }"


def _looks_like_data(header: Sequence[str]) -> bool:
    """A cell holding an address, a date, an identity code or a bare number: not a header."""
    return any(
        "@" in cell
        or hetu.find(cell, strict=False)
        or re.search(r"\d{1,4}[.\-/]\d{1,2}[.\-/]\d{2,4}", cell)
        or re.fullmatch(r"\s*\d{3,}\s*", cell)
        for cell in header
    )


def _joined(header: Sequence[str]) -> str:
    text = ";".join(header)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _quote(text: str) -> str:
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return f'"{printable}"'


def _toml(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'
