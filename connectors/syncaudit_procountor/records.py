"""Invoices and business partners as the index sees them: who is on them, scrubbed on entry.

Indexed: the counterparty's email (and its Bcc copies), name, contact person, the invoice id,
number and date, the customer number and, when it is a business ID (Y-tunnus), the identifier.
Never: an identifier or customer number holding a personal identity code (one check:
`syncaudit.hetu`), names' identity codes (scrubbed), addresses, invoice rows, notes or
additional information. Every value read from Procountor passes `_text` or `_email` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from syncaudit import hetu
from syncaudit.bookkeeping import LEGAL_BASIS, retention_end
from syncaudit.contract import ErasureTarget, ItemUpsert, Observation, RecordKind, RecordRef

STREAM = "ledger"
INVOICE = "invoice"
PARTNER = "partner"
_BUSINESS_ID = re.compile(r"^\d{7}-\d$")


@dataclass(frozen=True, kw_only=True)
class Hold:
    """The retention rule of this system (financial year end, years), remembered per day."""

    financial_year_end: str
    years: int
    _known: dict[date, tuple[date, str, datetime]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def until(self, issued: date) -> date:
        return self.day(issued)[0]

    def day(self, issued: date) -> tuple[date, str, datetime]:
        """(retained until, ISO date, midnight UTC) of an invoice date."""
        known = self._known.get(issued)
        if known is None:
            end = retention_end(
                issued, financial_year_end=self.financial_year_end, years=self.years
            )
            midnight = datetime(issued.year, issued.month, issued.day, tzinfo=UTC)
            known = self._known[issued] = (end, issued.isoformat(), midnight)
        return known


@dataclass
class Scrubbed:
    """Counts for the pull's log line (numbers only)."""

    hetus: int = 0
    no_email: int = 0


def key_of(kind: str, record_id: object) -> str:
    return f"{kind[0]}:{record_id}"


def external_id(kind: str, record_id: object) -> str:
    return f"{kind}:{record_id}"


def kind_and_id(ext: str) -> tuple[str, str]:
    kind, _, record_id = ext.partition(":")
    return kind, record_id


def suspect(*values: Any) -> bool:
    """Whether any value may hold an identity code: one scan of them all, so a record without
    one (the common case) is not scanned field by field."""
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(map(str, value))
        elif value is not None:
            parts.append(str(value))
    return bool(parts) and bool(hetu.find("\x00".join(parts), strict=False))


def _text(value: Any, counts: Scrubbed, scan: bool = True) -> str | None:
    if not isinstance(value, str):
        return None
    squashed = " ".join(value.split()) or None
    if not scan:
        return squashed
    text, removed = hetu.scrub(squashed)
    counts.hetus += removed
    return text


def _email(value: Any, counts: Scrubbed, scan: bool = True) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if scan and hetu.find(text, strict=False):  # an identity code is not an address
        counts.hetus += 1
        return None
    return text


def _id_value(value: Any, counts: Scrubbed, scan: bool = True) -> str | None:
    """A customer number: kept only without an identity code in it."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    if scan and hetu.find(text, strict=False):
        counts.hetus += 1
        return None
    return text


def business_id(value: Any, counts: Scrubbed, scan: bool = True) -> str | None:
    """`identifier` only when it is a business ID; an identity code or anything else: None."""
    if not isinstance(value, str):
        return None
    if scan and hetu.find(value, strict=False):
        counts.hetus += 1
        return None
    text = value.strip()
    return text if _BUSINESS_ID.match(text) else None


def invoice_day(invoice: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(invoice.get("date") or "")[:10])
    except ValueError:
        return None


def invoice_locator(invoice: Mapping[str, Any], issued: date) -> dict[str, str]:
    """Ids only: the invoice id, its number and date (the date fixes the retention)."""
    return {
        "id": str(invoice.get("id")),
        "invoice": str(invoice.get("invoiceNumber") or invoice.get("id")),
        "date": issued.isoformat(),
    }


def invoice_people(
    invoice: Mapping[str, Any], counts: Scrubbed, scan: bool = True
) -> Iterator[tuple[RecordKind, str, str | None, str]]:
    """(kind, raw email, name, role) of everyone addressed on the invoice."""
    party = invoice.get("counterParty") or {}
    address = party.get("counterPartyAddress") or {}
    email = _email(party.get("email"), counts, scan)
    name = _text(party.get("contactPersonName"), counts, scan) or _text(
        address.get("name"), counts, scan
    )
    if email:
        yield RecordKind.INVOICE_BUYER, email, name, "buyer"
    else:
        counts.no_email += 1
    for copy in party.get("bccAddresses") or ():
        bcc = _email(copy, counts, scan)
        if bcc:
            yield RecordKind.INVOICE_RECIPIENT, bcc, None, "bcc"


def invoice_upsert(
    invoice: Mapping[str, Any],
    hold: Hold,
    counts: Scrubbed,
    *,
    issued: date | None = None,
) -> ItemUpsert | None:
    issued = issued or invoice_day(invoice)
    record_id = invoice.get("id")
    if issued is None or record_id is None:
        return None
    party = invoice.get("counterParty") or {}
    number, identifier = party.get("customerNumber"), party.get("identifier")
    scan = suspect(
        party.get("email"),
        party.get("contactPersonName"),
        (party.get("counterPartyAddress") or {}).get("name"),
        number,
        identifier,
        party.get("bccAddresses"),
    )
    people = list(invoice_people(invoice, counts, scan))
    if not people:
        return None
    until, day, midnight = hold.day(issued)
    shown = str(invoice.get("invoiceNumber") or record_id)
    details = {"invoice": shown, "status": str(invoice.get("status") or "")}
    number = _id_value(number, counts, scan)
    if number:
        details["customer_number"] = number
    company = business_id(identifier, counts, scan)
    if company:
        details["business_id"] = company
    observations = _unique(
        [
            Observation(
                kind=kind, email=email, name=name, role=role, when=midnight, details=details
            )
            for kind, email, name, role in people
        ]
    )
    return ItemUpsert(
        stream=STREAM,
        external_id=f"{INVOICE}:{record_id}",
        observations=observations,
        locator={"id": str(record_id), "invoice": shown, "date": day},
        legal_hold_until=until,
        legal_basis=LEGAL_BASIS,
    )


def partner_people(
    partner: Mapping[str, Any], counts: Scrubbed
) -> Iterator[tuple[str, str | None, str]]:
    """(raw email, name, role) of everyone in a business partner's register entry."""
    info = partner.get("invoicingInfo") or {}
    name = _text(info.get("contactPerson"), counts) or _text(partner.get("name"), counts)
    email = _email(info.get("email"), counts)
    if email:
        yield email, name, str(partner.get("type") or "partner").lower()
    for copy in info.get("bccAddresses") or ():
        bcc = _email(copy, counts)
        if bcc:
            yield bcc, None, "bcc"
    for person in partner.get("contactPersons") or ():
        if isinstance(person, Mapping):
            address = _email(person.get("email"), counts)
            if address:
                yield address, _text(person.get("name"), counts), "contact person"


def partner_locator(partner: Mapping[str, Any], counts: Scrubbed) -> dict[str, str]:
    locator = {"id": str(partner.get("id"))}
    number = _id_value((partner.get("invoicingInfo") or {}).get("customerNumber"), counts)
    if number:
        locator["customer_number"] = number
    return locator


def partner_upsert(
    partner: Mapping[str, Any], latest: str | None, hold: Hold, counts: Scrubbed
) -> ItemUpsert | None:
    """The register entry as one item. Its legal hold is that of its latest sales invoice
    (`latest`, ISO date): the entry is kept as long as an invoice it backs must be."""
    if partner.get("id") is None:
        return None
    locator = partner_locator(partner, counts)
    details = {"partner_type": str(partner.get("type") or "")}
    if "customer_number" in locator:
        details["customer_number"] = locator["customer_number"]
    company = business_id((partner.get("invoicingInfo") or {}).get("identifier"), counts)
    if company:
        details["business_id"] = company
    observations = _unique(
        Observation(
            kind=RecordKind.BUSINESS_PARTNER, email=email, name=name, role=role, details=details
        )
        for email, name, role in partner_people(partner, counts)
    )
    if not observations:
        counts.no_email += 1
        return None
    until = hold.until(date.fromisoformat(latest)) if latest else None
    return ItemUpsert(
        stream=STREAM,
        external_id=external_id(PARTNER, partner["id"]),
        observations=observations,
        locator=locator,
        legal_hold_until=until,
        legal_basis=LEGAL_BASIS if until else None,
    )


def _unique(observations: Iterable[Observation]) -> tuple[Observation, ...]:
    """One observation per (kind, address as written, any case); the first with a name wins.
    (The core normalises; this only keeps one item from repeating an address.)"""
    found = tuple(observations)
    if len(found) == 1:
        return found
    out: dict[tuple[RecordKind, str], Observation] = {}
    for obs in found:
        key = (obs.kind, (obs.email or "").casefold())
        if key not in out or out[key].name is None:
            out[key] = obs
    return tuple(out.values())


def holds_address(kind: str, record: Mapping[str, Any], target: ErasureTarget) -> list[RecordKind]:
    """The record kinds under which `record` holds the person's address (empty: none)."""
    counts = Scrubbed()
    if kind == INVOICE:
        return sorted(
            {k for k, raw, _, _ in invoice_people(record, counts) if target.is_address(raw)},
            key=str,
        )
    if any(target.is_address(raw) for raw, _, _ in partner_people(record, counts)):
        return [RecordKind.BUSINESS_PARTNER]
    return []


def ref_for(system: str, kind: str, record: Mapping[str, Any], rk: RecordKind) -> RecordRef:
    counts = Scrubbed()
    if kind == INVOICE:
        issued = invoice_day(record) or date.min
        locator = invoice_locator(record, issued)
        label = f"invoice {locator['invoice']}"
    else:
        locator = partner_locator(record, counts)
        number = locator.get("customer_number")
        label = f"business partner {locator['id']}" + (f" (customer {number})" if number else "")
    return RecordRef(
        system=system,
        kind=rk,
        external_id=external_id(kind, record.get("id")),
        stream=STREAM,
        locator=locator,
        label=label,
    )
