"""The Art. 19 notice to the accounting firm: restrict now, delete at source when the period ends.

Pure text, no I/O; the daemon sends it. It names invoices only by number and date — the firm
finds the person from the invoice, so no name or address travels in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from syncaudit.bookkeeping import (
    DEFAULT_YEAR_END,
    DEFAULT_YEARS,
    invoice_date,
    invoice_number,
    retention_end,
)
from syncaudit.contract import RecordRef


@dataclass(frozen=True, kw_only=True)
class _Words:
    subject: str
    intro: str
    asks: tuple[str, ...]
    header: tuple[str, str, str]
    ended: str
    unknown: str
    closing: str


_TEXT = {
    "fi": _Words(
        subject="Aihe: Laskujen henkilötietojen käsittelyn rajoittaminen ja poisto lähteestä",
        intro=(
            "Hei,\n\n"
            "asiakkaamme on pyytänyt henkilötietojensa poistamista (EU:n tietosuoja-asetus, "
            "17 artikla). Alla luetellut laskut ovat kirjanpitoaineistoa, joka on säilytettävä "
            "kirjanpitolain (1336/1997) 2 luvun 10 §:n mukaan, joten niitä ei poisteta ennen "
            "säilytysajan päättymistä (tietosuoja-asetus 17 artiklan 3 kohdan b alakohta). "
            "Ilmoitamme tästä tietosuoja-asetuksen 19 artiklan mukaisesti ja pyydämme, että"
        ),
        asks=(
            "- rajoitatte laskujen henkilötietojen käsittelyn säilytysaikana kirjanpito- ja "
            "verovelvoitteiden täyttämiseen,",
            "- poistatte laskut ja niihin liittyvät henkilötiedot lähdejärjestelmästä (esim. "
            "Procountor), vienneistä ja varmuuskopioista säilytysajan päätyttyä, ja",
            "- vahvistatte poiston meille kirjallisesti.",
        ),
        header=("Lasku", "Laskupäivä", "Säilytettävä asti"),
        ended="Säilytysaika on jo päättynyt laskuilta: {numbers}. Pyydämme poistamaan ne nyt.",
        unknown="tuntematon",
        closing="Ystävällisin terveisin",
    ),
    "en": _Words(
        subject="Subject: Restriction of processing and deletion at source of invoice data",
        intro=(
            "Hello,\n\n"
            "a customer of ours has asked for their personal data to be erased (GDPR Art. 17). "
            "The invoices listed below are accounting vouchers that must be kept under the "
            "Finnish Accounting Act (1336/1997) ch. 2 § 10, so they are not erased before the "
            "retention period ends (GDPR Art. 17(3)(b)). We notify you of this under GDPR "
            "Art. 19 and ask you to"
        ),
        asks=(
            "- restrict the processing of the personal data on these invoices to meeting "
            "accounting and tax obligations while they are retained,",
            "- delete the invoices and the personal data on them from the source system (e.g. "
            "Procountor), exports and backups when the retention period ends, and",
            "- confirm the deletion to us in writing.",
        ),
        header=("Invoice", "Invoice date", "Retain until"),
        ended="The retention period has already ended for invoices {numbers}; please delete "
        "them now.",
        unknown="unknown",
        closing="Kind regards",
    ),
}


def source_deletion_notice(
    refs: Sequence[RecordRef],
    lang: str = "fi",
    *,
    financial_year_end: str = DEFAULT_YEAR_END,
    retention_years: int = DEFAULT_YEARS,
    today: date | None = None,
    sender: str = "",
) -> str:
    """The notice in Finnish ("fi") or English ("en"); one line per invoice, earliest end first."""
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {', '.join(_TEXT)}, got {lang!r}")
    text = _TEXT[lang]
    rows: dict[tuple[str, str], tuple[date | None, date | None]] = {}
    for ref in refs:
        issued = invoice_date(ref)
        until = (
            retention_end(issued, financial_year_end=financial_year_end, years=retention_years)
            if issued
            else None
        )
        rows[(invoice_number(ref), issued.isoformat() if issued else "")] = (issued, until)
    ordered = sorted(rows.items(), key=lambda kv: (kv[1][1] or date.max, kv[0]))
    header = text.header
    widths = [max([len(header[0])] + [len(number) for (number, _), _ in ordered]), 12]
    lines = [text.subject, "", text.intro, *text.asks, ""]
    lines.append(f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]}")
    for (number, _), (issued, until) in ordered:
        shown = [_fmt(d, lang) if d else text.unknown for d in (issued, until)]
        lines.append(f"{number:<{widths[0]}}  {shown[0]:<{widths[1]}}  {shown[1]}")
    if today is not None:
        ended = [number for (number, _), (_, until) in ordered if until and until < today]
        if ended:
            lines += ["", text.ended.format(numbers=", ".join(ended))]
    lines += ["", text.closing]
    if sender:
        lines.append(sender)
    return "\n".join(lines) + "\n"


def _fmt(day: date, lang: str) -> str:
    return f"{day.day}.{day.month}.{day.year}" if lang == "fi" else day.isoformat()


# -- rectification (Art. 16 + 19): invoices are vouchers and are not rewritten ----------------


@dataclass(frozen=True, kw_only=True)
class _FixWords:
    subject: str
    intro: str
    name: str
    address: str
    asks: tuple[str, ...]
    header: tuple[str, str]
    none: str
    closing: str


_FIX = {
    "fi": _FixWords(
        subject="Aihe: Asiakkaan henkilötietojen oikaisu (tietosuoja-asetus 16 ja 19 artikla)",
        intro=(
            "Hei,\n\n"
            "asiakkaamme on pyytänyt virheellisten tai vanhentuneiden tietojensa oikaisemista "
            "(EU:n tietosuoja-asetus, 16 artikla). Ilmoitamme oikaisusta 19 artiklan mukaisesti. "
            "Oikaistut tiedot:"
        ),
        name="- nimi: {value}",
        address="- sähköpostiosoite: {value}",
        asks=(
            "Alla luetellut laskut ovat kirjanpitoaineistoa (kirjanpitolaki 1336/1997, 2 luku "
            "10 §), eikä niitä muuteta jälkikäteen. Pyydämme, että",
            "- käytätte oikaistuja tietoja tulevissa laskuissa ja asiakasrekisterissä, ja",
            "- vahvistatte muutoksen meille.",
        ),
        header=("Lasku", "Laskupäivä"),
        none="(Asiakkaalla ei ole laskuja; päivittäkää asiakasrekisteri.)",
        closing="Ystävällisin terveisin",
    ),
    "en": _FixWords(
        subject="Subject: Rectification of a customer's personal data (GDPR Art. 16 and 19)",
        intro=(
            "Hello,\n\n"
            "a customer of ours has asked for inaccurate or outdated personal data to be "
            "rectified (GDPR Art. 16). We notify you of the rectification under GDPR Art. 19. "
            "The corrected data:"
        ),
        name="- name: {value}",
        address="- e-mail address: {value}",
        asks=(
            "The invoices listed below are accounting vouchers (Finnish Accounting Act "
            "1336/1997, ch. 2 § 10) and are not altered afterwards. Please",
            "- use the corrected data on future invoices and in the customer register, and",
            "- confirm the change to us.",
        ),
        header=("Invoice", "Invoice date"),
        none="(The customer has no invoices; please update the customer register.)",
        closing="Kind regards",
    ),
}


def rectification_notice(
    refs: Sequence[RecordRef],
    lang: str = "fi",
    *,
    name: str | None = None,
    email: str | None = None,
    sender: str = "",
) -> str:
    """The Art. 19 notice of a rectification in Finnish or English: the corrected data, and the
    invoices (by number and date) that stay as they are."""
    if lang not in _FIX:
        raise ValueError(f"lang must be one of {', '.join(_FIX)}, got {lang!r}")
    text = _FIX[lang]
    lines = [text.subject, "", text.intro]
    if name:
        lines.append(text.name.format(value=name))
    if email:
        lines.append(text.address.format(value=email))
    lines += ["", *text.asks, ""]
    rows = sorted(
        {(invoice_number(r), (invoice_date(r) or date.min)) for r in refs},
        key=lambda row: (row[1], row[0]),
    )
    if rows:
        width = max(len(text.header[0]), *(len(number) for number, _ in rows))
        lines.append(f"{text.header[0]:<{width}}  {text.header[1]}")
        for number, issued in rows:
            shown = _fmt(issued, lang) if issued != date.min else "?"
            lines.append(f"{number:<{width}}  {shown}")
    else:
        lines.append(text.none)
    lines += ["", text.closing]
    if sender:
        lines.append(sender)
    return "\n".join(lines) + "\n"
