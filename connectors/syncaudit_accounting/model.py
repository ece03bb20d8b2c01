"""What the readers make of an invoice: only the people on it, already free of identity codes.

Built where the data enters (`PartyBuilder.build`), so every later use — the index, locate, the
access export — sees scrubbed values. Party identifiers (business ID or HETU) are never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from syncaudit import hetu

BUYER = "buyer"
RECIPIENT = "invoice_recipient"
DELIVERY = "delivery"
ROLES = (BUYER, RECIPIENT, DELIVERY)


@dataclass(frozen=True, kw_only=True)
class Party:
    role: str  # BUYER, RECIPIENT or DELIVERY
    email: str | None = None  # raw, as in the file; the core normalises
    organisation: str | None = None  # a consumer's own name goes here in Finvoice
    contact_person: str | None = None
    address_lines: tuple[str, ...] = ()  # only for the access export, never indexed

    @property
    def name(self) -> str | None:
        """The person's name: the contact person when given, else the organisation name."""
        return self.contact_person or self.organisation


@dataclass(frozen=True, kw_only=True)
class Invoice:
    number: str
    date: date
    parties: tuple[Party, ...]
    line: int = 0  # where it starts in the file (for messages)
    hetus_removed: int = 0  # identity codes scrubbed out of its fields (a count, for logs)

    @property
    def key(self) -> str:
        """The item id: invoice numbers may restart each year, so the date is part of it."""
        return f"{self.number}@{self.date.isoformat()}"

    @property
    def billing_address(self) -> bool:
        return any(p.address_lines for p in self.parties if p.role in (BUYER, RECIPIENT))


@dataclass
class PartyBuilder:
    """Collects one party's fields while a file is read; `build` scrubs them."""

    role: str
    email: str | None = None
    organisation: str | None = None
    contact_person: str | None = None
    address: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.email or self.organisation or self.contact_person or self.address)

    def build(self) -> tuple[Party, int]:
        removed = 0

        def clean(value: str | None) -> str | None:
            nonlocal removed
            text, n = hetu.scrub(_squash(value))
            removed += n
            return text

        lines = tuple(line for line in (clean(a) for a in self.address) if line)
        email = _squash(self.email)
        if email and hetu.find(email, strict=False):  # an identity code is not an address
            email, removed = None, removed + 1
        party = Party(
            role=self.role,
            email=email,
            organisation=clean(self.organisation),
            contact_person=clean(self.contact_person),
            address_lines=lines,
        )
        return party, removed


def parse_date(text: str) -> date | None:
    """CCYYMMDD (Finvoice), ISO or d.m.yyyy, a time part ignored; None when not a date."""
    token = (text.split() or [""])[0].split("T")[0]
    try:
        if re.fullmatch(r"\d{8}", token):
            return date(int(token[:4]), int(token[4:6]), int(token[6:]))
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", token):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", token):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None
    return None


def _squash(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def clean_number(raw: str) -> tuple[str, int]:
    """An invoice number fit for an item id: whitespace squashed, identity codes removed."""
    text, removed = hetu.scrub(_squash(raw), strict=True)
    return (text or ""), removed
