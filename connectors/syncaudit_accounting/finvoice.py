"""Streaming reader of Finvoice XML (1.3, 2.0, 2.01, 3.0) and of operators' SOAP batch files.

- No namespace; element names of the buyer are the same in every version. Declared encodings
  (ISO-8859-15, UTF-8, ...) are honoured by expat; dates are CCYYMMDD.
- Batch files repeat "SOAP envelope + Finvoice" per invoice, so the file is a series of XML
  documents, not one. The reader parses a document until its root closes; when expat then meets
  "junk after document element" it starts a fresh parser at that byte (carrying the encoding
  over), so a batch is split into messages without ever holding the whole file.
- Parsing goes through defusedxml: entity declarations and external references are refused
  (XXE, billion laughs). A DOCTYPE *without* an internal subset is allowed, because Finvoice 1.x
  files carry `<!DOCTYPE Finvoice SYSTEM "Finvoice.dtd">`; the DTD is never fetched.
- Nothing is built into a tree: a target keeps only the text of the few elements needed, each
  capped, so memory stays flat however large the file. Party identifiers are never buffered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from syncaudit.errors import InputFileError
from syncaudit_accounting.model import (
    BUYER,
    DELIVERY,
    RECIPIENT,
    Invoice,
    PartyBuilder,
    clean_number,
    parse_date,
)

CHUNK = 64 * 1024
MAX_FIELD_CHARS = 4096  # the schema's longest free text is 512
MAX_DEPTH = 64
_JUNK_AFTER_ROOT = 9  # expat XML_ERROR_JUNK_AFTER_DOC_ELEMENT
_TRUNCATED = {3, 5, 6}  # no element found, unclosed token, partial character
_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# Path under <Finvoice> -> (party role, attribute). Nothing else is read.
FIELDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("InvoiceDetails", "InvoiceNumber"): ("", "number"),
    ("InvoiceDetails", "InvoiceDate"): ("", "date"),
    ("BuyerPartyDetails", "BuyerOrganisationName"): (BUYER, "organisation"),
    ("BuyerContactPersonName",): (BUYER, "contact_person"),
    ("BuyerCommunicationDetails", "BuyerEmailaddressIdentifier"): (BUYER, "email"),
    ("InvoiceRecipientPartyDetails", "InvoiceRecipientOrganisationName"): (
        RECIPIENT,
        "organisation",
    ),
    ("InvoiceRecipientContactPersonName",): (RECIPIENT, "contact_person"),
    ("InvoiceRecipientCommunicationDetails", "InvoiceRecipientEmailaddressIdentifier"): (
        RECIPIENT,
        "email",
    ),
    ("DeliveryPartyDetails", "DeliveryOrganisationName"): (DELIVERY, "organisation"),
    ("DeliveryContactPersonName",): (DELIVERY, "contact_person"),
    ("DeliveryCommunicationDetails", "DeliveryEmailaddressIdentifier"): (DELIVERY, "email"),
}
_ADDRESS_ROLE = {
    ("BuyerPartyDetails", "BuyerPostalAddressDetails"): BUYER,
    ("InvoiceRecipientPartyDetails", "InvoiceRecipientPostalAddressDetails"): RECIPIENT,
    ("DeliveryPartyDetails", "DeliveryPostalAddressDetails"): DELIVERY,
}


class _Stop(Exception):
    """Raised inside a parser callback; carries the reason and the element path."""

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


class _InvoiceBuilder:
    def __init__(self, line: int) -> None:
        self.line = line
        self.number: str | None = None
        self.date_text: str | None = None
        self.parties = {role: PartyBuilder(role) for role in (BUYER, RECIPIENT, DELIVERY)}

    def set(self, role: str, attr: str, text: str) -> None:
        """Record a field; the first occurrence wins (e.g. of BuyerOrganisationName)."""
        if role:
            party = self.parties[role]
            if getattr(party, attr) is None:
                setattr(party, attr, text)
        elif attr == "number" and self.number is None:
            self.number = text
        elif attr == "date" and self.date_text is None:
            self.date_text = text

    def build(self) -> Invoice:
        number, removed = clean_number(self.number or "")
        if not number:
            raise _Stop("the invoice has no InvoiceDetails/InvoiceNumber", "Finvoice")
        when = parse_date(self.date_text or "")
        if when is None:
            raise _Stop("the invoice has no valid InvoiceDetails/InvoiceDate", "Finvoice")
        parties = []
        for builder in self.parties.values():
            if builder.empty():
                continue
            party, n = builder.build()
            parties.append(party)
            removed += n
        return Invoice(
            number=number, date=when, parties=tuple(parties), line=self.line, hetus_removed=removed
        )


class _Target:
    """Parser target: tracks the element path and keeps only the text of FIELDS."""

    def __init__(self, line_of: Callable[[], int], emit: Callable[[Invoice], None]) -> None:
        self.line_of = line_of
        self.emit = emit
        self.stack: list[str] = []
        self.root_closed = False
        self.finvoice_at: int | None = None  # stack depth of the open <Finvoice>
        self.invoice: _InvoiceBuilder | None = None
        self.capture: tuple[str, str] | None = None
        self.text: list[str] = []
        self.size = 0
        self.roots: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = tag.rpartition("}")[2]
        if not self.stack:
            self.roots.append(name)
        self.stack.append(name)
        if len(self.stack) > MAX_DEPTH:
            raise _Stop(f"elements nested deeper than {MAX_DEPTH}", self.path())
        if self.finvoice_at is None:
            if name == "Finvoice":
                self.finvoice_at = len(self.stack)
                self.invoice = _InvoiceBuilder(self.line_of())
            return
        rel = tuple(self.stack[self.finvoice_at :])
        self.capture = FIELDS.get(rel)
        if self.capture is None and len(rel) == 3 and rel[:2] in _ADDRESS_ROLE:
            self.capture = (_ADDRESS_ROLE[rel[:2]], "address")
        self.text = []
        self.size = 0

    def data(self, text: str) -> None:
        if self.capture is None:
            return
        self.size += len(text)
        if self.size > MAX_FIELD_CHARS:
            raise _Stop(f"text longer than {MAX_FIELD_CHARS} characters", self.path())
        self.text.append(text)

    def end(self, tag: str) -> None:
        if self.capture is not None and self.invoice is not None:
            role, attr = self.capture
            value = "".join(self.text)
            if attr == "address":
                if value.strip():
                    self.invoice.parties[role].address.append(value)
            else:
                self.invoice.set(role, attr, value)
            self.capture = None
        if self.finvoice_at == len(self.stack) and self.invoice is not None:
            self.emit(self.invoice.build())
            self.invoice = None
            self.finvoice_at = None
        self.stack.pop()
        if not self.stack:
            self.root_closed = True

    def close(self) -> None:
        return None

    def path(self) -> str:
        return "/".join(self.stack[-4:])


def read_finvoice(fp: IO[bytes], *, file: str) -> Iterator[Invoice]:
    """Invoices of a Finvoice or batch file, streamed. Raises InputFileError on bad input.

    `fp` must be seekable (a batch is split by seeking to the start of each message)."""
    from defusedxml.ElementTree import ParseError

    doc = _Document(fp)
    while doc.next_message():
        try:
            yield from doc.parse_message()
        except ParseError as exc:
            line = doc.base_line + exc.position[0] - 1
            reason = (
                "the XML ends in the middle of an element (truncated file?)"
                if exc.code in _TRUNCATED
                else f"not well-formed XML: {_reason(exc)}"
            )
            raise InputFileError(file, reason, where=f"line {line}") from None
        except _Stop as stop:
            where = f"line {doc.line()}, {stop.path}"
            raise InputFileError(file, stop.reason, where=where) from None
        except (ValueError, LookupError) as exc:  # refused DTD/entities, unknown encoding
            raise InputFileError(file, _refusal(exc), where=f"line {doc.line()}") from None
    if not doc.found:
        roots = sorted(set(doc.roots))
        what = f"root element(s): {', '.join(roots)}" if roots else "no XML element"
        raise InputFileError(file, f"no Finvoice invoice in the file ({what})")


class _Document:
    """One file being read: where the current message starts, its first line, its encoding."""

    def __init__(self, fp: IO[bytes]) -> None:
        self.fp = fp
        self.offset = 0
        self.base_line = 1
        self.encoding: str | None = None
        self.declared = False
        self.found = 0
        self.roots: list[str] = []
        self.expat: Any = None

    def line(self) -> int:
        return self.base_line + (self.expat.CurrentLineNumber - 1 if self.expat else 0)

    def next_message(self) -> bool:
        """Position at the next message; False at the end of the file."""
        self.offset, self.base_line = _skip_space(self.fp, self.offset, self.base_line)
        head = self.fp.read(256)
        self.fp.seek(self.offset)
        if not head:
            return False
        declared = _DECL_ENCODING.match(head)
        self.declared = declared is not None
        if declared:
            self.encoding = declared.group(1).decode("ascii")
        return True

    def parse_message(self) -> Iterator[Invoice]:
        """Parse from the current offset until the file ends or the next message begins."""
        from defusedxml.ElementTree import DefusedXMLParser, ParseError

        ready: list[Invoice] = []
        target = _Target(self.line, ready.append)
        # A message without its own declaration keeps the encoding declared before it.
        parser: Any = DefusedXMLParser(
            target=target, encoding=None if self.declared else self.encoding
        )
        self.expat = parser.parser
        self.expat.StartDoctypeDeclHandler = _doctype_without_subset
        size = 4096  # small first reads: batch messages are a few kB each
        while chunk := self.fp.read(size):
            size = min(size * 2, CHUNK)
            try:
                parser.feed(chunk)
            except ParseError as exc:
                if exc.code != _JUNK_AFTER_ROOT or not target.root_closed:
                    raise
                yield from self._take(ready, target)
                self.offset += self.expat.ErrorByteIndex
                self.base_line += self.expat.ErrorLineNumber - 1
                self.expat = None
                return
            yield from self._take(ready, target)
        parser.close()
        yield from self._take(ready, target)
        self.offset = self.fp.seek(0, 2)
        self.expat = None

    def _take(self, ready: list[Invoice], target: _Target) -> list[Invoice]:
        out = list(ready)
        ready.clear()
        self.found += len(out)
        if target.root_closed and target.roots:
            self.roots += target.roots
            target.roots = []
        return out


def _doctype_without_subset(name: str, sysid: str | None, pubid: str | None, subset: int) -> None:
    if subset:
        raise _Refused("a DTD with an internal subset is refused")


class _Refused(ValueError):
    pass


def _refusal(exc: Exception) -> str:
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

    if isinstance(exc, EntitiesForbidden):
        return "entity declarations are refused (possible entity-expansion or XXE attack)"
    if isinstance(exc, ExternalReferenceForbidden):
        return "external references are refused (possible XXE attack)"
    if isinstance(exc, DTDForbidden | _Refused):
        return f"{exc} (possible entity-expansion or XXE attack)"
    if isinstance(exc, LookupError):
        return "the declared encoding is unknown"
    return f"refused ({type(exc).__name__})"


def _reason(exc: Exception) -> str:
    """expat's message without its own position (we report the file's line instead)."""
    return str(exc).split(": line", 1)[0]


def _skip_space(fp: IO[bytes], offset: int, line: int) -> tuple[int, int]:
    """Move past whitespace between batch messages, counting lines."""
    fp.seek(offset)
    while True:
        block = fp.read(4096)
        stripped = block.lstrip(b" \t\r\n")
        skipped = len(block) - len(stripped)
        line += block[:skipped].count(b"\n")
        offset += skipped
        if stripped or not block:
            fp.seek(offset)
            return offset, line
