"""The Art. 19 notice for partner-register entries: delete them in Procountor, then confirm.

Invoices are covered by the shared notice (`syncaudit.bookkeeping_notice`); this adds the entries
of the business-partner register that no longer back an invoice under retention. Procountor has
no API delete for them, so the accounting firm deletes them by hand. Pure text, no I/O; names
entries only by Procountor id and customer number, never by name or address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncaudit.contract import RecordRef


@dataclass(frozen=True, kw_only=True)
class _Words:
    subject: str
    intro: str
    asks: tuple[str, ...]
    header: tuple[str, str]
    closing: str


_TEXT = {
    "fi": _Words(
        subject="Aihe: Henkilötietojen poisto Procountorin kumppanirekisteristä",
        intro=(
            "Hei,\n\n"
            "asiakkaamme on pyytänyt henkilötietojensa poistamista (EU:n tietosuoja-asetus, "
            "17 artikla). Alla luetellut Procountorin kumppanirekisterin tiedot eivät enää liity "
            "kirjanpitolain (1336/1997) 2 luvun 10 §:n mukaan säilytettäviin laskuihin. "
            "Ilmoitamme tästä tietosuoja-asetuksen 19 artiklan mukaisesti ja pyydämme, että"
        ),
        asks=(
            "- poistatte kumppanit (tai niiden henkilötiedot: nimi, yhteyshenkilöt, "
            "sähköpostiosoitteet, osoitteet, puhelinnumerot) Procountorista, ja",
            "- vahvistatte poiston meille kirjallisesti.",
        ),
        header=("Kumppanin ID", "Asiakasnumero"),
        closing="Ystävällisin terveisin",
    ),
    "en": _Words(
        subject="Subject: Deletion of personal data from the Procountor partner register",
        intro=(
            "Hello,\n\n"
            "a customer of ours has asked for their personal data to be erased (GDPR Art. 17). "
            "The entries of the Procountor business-partner register listed below no longer back "
            "any invoice that must be kept under the Finnish Accounting Act (1336/1997) ch. 2 "
            "§ 10. We notify you of this under GDPR Art. 19 and ask you to"
        ),
        asks=(
            "- delete these partners (or their personal data: name, contact persons, email "
            "addresses, addresses, phone numbers) from Procountor, and",
            "- confirm the deletion to us in writing.",
        ),
        header=("Partner id", "Customer number"),
        closing="Kind regards",
    ),
}


@dataclass(frozen=True)
class _Entry:
    partner_id: str
    customer_number: str


def partner_notice(
    refs: Sequence[RecordRef], lang: str = "fi", *, sender: str = "", standalone: bool = True
) -> str:
    """The notice in Finnish ("fi") or English ("en"), one line per partner. `standalone=False`
    leaves out the greeting and closing, to follow the invoice notice in the same message."""
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {', '.join(_TEXT)}, got {lang!r}")
    words = _TEXT[lang]
    entries = sorted(
        {
            _Entry(r.locator.get("id", r.external_id), r.locator.get("customer_number", ""))
            for r in refs
        },
        key=lambda e: (len(e.partner_id), e.partner_id),
    )
    header = words.header
    width = max([len(header[0])] + [len(e.partner_id) for e in entries])
    intro = words.intro
    if not standalone:
        intro = intro.split("\n\n", 1)[1]
    lines = [words.subject, ""] if standalone else []
    lines += [intro, *words.asks, ""]
    lines.append(f"{header[0]:<{width}}  {header[1]}")
    lines += [f"{e.partner_id:<{width}}  {e.customer_number or '-'}" for e in entries]
    if standalone:
        lines += ["", words.closing]
        if sender:
            lines.append(sender)
    return "\n".join(lines) + "\n"
