"""Streaming reader of CSV invoice exports (Procountor reports, spreadsheets saved as CSV).

Encoding — decided from byte statistics gathered while the file is hashed:
1. Valid UTF-8 (with or without BOM) -> UTF-8. Strict: one invalid byte rules it out.
2. Otherwise a single-byte Windows/ISO encoding. Bytes 0x80-0x9F are C1 control codes in
   ISO-8859-15 that never occur in real text, while Windows-1252 puts € “ ” – … Š Ž there: any such
   byte -> cp1252. Without them the two agree on every Finnish letter (ä ö å Ä Ö Å) and differ
   only in eight positions where ISO-8859-15 has € Š š Ž ž Œ œ Ÿ and cp1252 rare symbols
   (¤ ¦ ¨ ´ ¸ ¼ ½ ¾) -> ISO-8859-15, the more likely reading of a letter in a name.
3. Refused: NUL bytes (binary, or UTF-16), bytes undefined in cp1252 next to C1 bytes, and files
   mixing valid UTF-8 letters with invalid bytes (two encodings spliced together).

Delimiter: `;` `,` or tab, counted on the header line (ties go to `;`, the Finnish default,
because the decimal separator is a comma). Headers are matched by their words (`headers`), the
operator's `csv_columns` first. Dates `dd.mm.yyyy`, `d.m.yyyy`, ISO or `yyyymmdd`.
Identity-code columns (henkilötunnus, Y-tunnus, identifier) are never mapped, so never read.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

from syncaudit.errors import InputFileError
from syncaudit_accounting.headers import map_columns
from syncaudit_accounting.model import (
    BUYER,
    RECIPIENT,
    Invoice,
    PartyBuilder,
    clean_number,
    parse_date,
)

MAX_LINE_CHARS = 64 * 1024
_C1 = bytes(range(0x80, 0xA0))
_HIGH = bytes(range(0x80, 0x100))
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
_UTF8_LETTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


@dataclass
class ByteStats:
    """Fed every chunk of the file while it is hashed; decides the encoding afterwards."""

    size: int = 0
    lines: int = 0
    utf8_ok: bool = True
    utf8_error_line: int = 0
    nul: int = 0
    c1: int = 0
    cp1252_undefined: int = 0
    high: int = 0
    utf8_letters: int = 0
    bom: bool = False
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("strict")
    )

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.size == 0 and chunk.startswith(codecs.BOM_UTF8):
            self.bom = True
        if self.utf8_ok:
            try:
                self._decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                self.utf8_ok = False
                self.utf8_error_line = self.lines + chunk[: max(exc.start, 0)].count(b"\n") + 1
        self.size += len(chunk)
        self.lines += chunk.count(b"\n")
        self.nul += chunk.count(0)
        self.c1 += len(chunk) - len(chunk.translate(None, _C1))
        self.cp1252_undefined += len(chunk) - len(chunk.translate(None, _CP1252_UNDEFINED))
        self.high += len(chunk) - len(chunk.translate(None, _HIGH))
        self.utf8_letters += len(_UTF8_LETTER.findall(chunk))

    def encoding(self, file: str) -> str:
        """The codec to read the file with, or InputFileError saying why none fits."""
        if self.nul:
            raise InputFileError(file, "binary data (NUL bytes), not a text export")
        if self.utf8_ok:
            return "utf-8-sig"
        where = f"line {self.utf8_error_line}"
        if self.bom or self.utf8_letters * 4 >= self.high:  # half the high bytes are UTF-8
            raise InputFileError(file, "mixes UTF-8 with another encoding", where=where)
        if self.c1:
            if self.cp1252_undefined:
                raise InputFileError(file, "bytes undecodable in UTF-8 and cp1252", where=where)
            return "cp1252"
        return "iso-8859-15"


def sniff_delimiter(line: str) -> str:
    counts = {d: _count_outside_quotes(line, d) for d in (";", ",", "\t")}
    best = max(counts.values())
    if best == 0 or counts[";"] == best:
        return ";"
    return "," if counts[","] == best else "\t"


def _count_outside_quotes(line: str, delimiter: str) -> int:
    return re.sub(r'"[^"]*"', "", line).count(delimiter)


def read_csv(
    fp: IO[bytes], *, file: str, encoding: str, columns: Mapping[str, str] | None = None
) -> Iterator[Invoice]:
    """Invoices of a CSV export, one per row (rows are merged by the caller). InputFileError
    on a missing column, a row without number or date, a line too long, or a csv error."""
    text = io.TextIOWrapper(fp, encoding=encoding, newline="")
    try:
        yield from _rows(text, file, encoding, columns or {})
    finally:
        text.detach()  # the caller owns `fp`


def _rows(text: IO[str], file: str, encoding: str, columns: Mapping[str, str]) -> Iterator[Invoice]:
    lines = _bounded_lines(text, file)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise InputFileError(file, "empty file (no header row)")
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(_chain(header_line, lines), delimiter=delimiter)
    try:
        header = next(reader)
        index = map_columns(header, columns, file=file)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            yield _invoice(row, index, file, reader.line_num)
    except csv.Error as exc:
        raise InputFileError(file, f"CSV error: {exc}", where=f"line {reader.line_num}") from None
    except UnicodeDecodeError:
        raise InputFileError(file, f"not decodable as {encoding}") from None


def _invoice(row: list[str], index: Mapping[str, int], file: str, line: int) -> Invoice:
    def cell(name: str) -> str | None:
        i = index.get(name)
        if i is None or i >= len(row):
            return None
        return row[i].strip() or None

    number, removed = clean_number(cell("invoice_number") or "")
    if not number:
        raise InputFileError(file, "row without an invoice number", where=f"line {line}")
    when = parse_date(cell("invoice_date") or "")
    if when is None:
        raise InputFileError(file, "row without a valid invoice date", where=f"line {line}")
    buyer = PartyBuilder(
        BUYER,
        email=cell("buyer_email"),
        organisation=cell("buyer_name"),
        contact_person=cell("contact_person"),
        address=_address(cell),
    )
    recipient = PartyBuilder(
        RECIPIENT, email=cell("recipient_email"), organisation=cell("recipient_name")
    )
    parties = []
    for builder in (buyer, recipient):
        if not builder.empty():
            party, n = builder.build()
            parties.append(party)
            removed += n
    return Invoice(
        number=number, date=when, parties=tuple(parties), line=line, hetus_removed=removed
    )


def _address(cell: Callable[[str], str | None]) -> list[str]:
    lines: list[str] = []
    combined = cell("address")
    if combined:  # Procountor joins address parts with backslashes
        lines += [part for part in combined.split("\\") if part.strip()]
    street, postcode, city, country = (cell(n) for n in ("street", "postcode", "city", "country"))
    if street:
        lines.append(street)
    town = " ".join(p for p in (postcode, city) if p)
    if town:
        lines.append(town)
    if country:
        lines.append(country)
    return lines


def _bounded_lines(text: IO[str], file: str) -> Iterator[str]:
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise InputFileError(
                file, f"line longer than {MAX_LINE_CHARS} characters", where=f"line {number}"
            )
        yield line


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
