"""The export folder: which files are streams, their checksums, and which reader reads each.

A stream is `file:{path relative to the folder}` (POSIX separators). Identity codes in a file
name are masked in the stream name too, so not even a path keeps one.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog

from syncaudit import hetu
from syncaudit.errors import InputFileError
from syncaudit_accounting.csvfile import ByteStats, read_csv
from syncaudit_accounting.finvoice import read_finvoice
from syncaudit_accounting.model import Invoice
from syncaudit_accounting.settings import AccountingSettings

log = structlog.get_logger(__name__)
STREAM_PREFIX = "file:"
READ_CHUNK = 1024 * 1024
_XML_SUFFIXES = (".xml",)
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass(frozen=True, kw_only=True)
class ExportFile:
    path: Path
    name: str  # path relative to the folder, POSIX, identity codes masked

    @property
    def stream(self) -> str:
        return STREAM_PREFIX + self.name


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    sha256: str
    size: int
    mtime_ns: int
    stats: ByteStats | None  # CSV only: what decides the encoding


def list_files(root: Path, patterns: tuple[str, ...]) -> list[ExportFile]:
    """Matching files under `root`, sorted; hidden files and links out of the folder skipped."""
    real_root = root.resolve()
    found: list[ExportFile] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for filename in sorted(names):
            if filename.startswith(".") or not _matches(filename, patterns):
                continue
            path = Path(folder, filename)
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                log.warning("accounting.link_outside_folder_skipped")
                continue
            relative = path.relative_to(root).as_posix()
            found.append(ExportFile(path=path, name=_mask_name(relative)))
    return found


def _mask_name(relative: str) -> str:
    for code in hetu.find(relative, strict=False):
        relative = relative.replace(code, hetu.MASK)
    return relative


def _matches(filename: str, patterns: tuple[str, ...]) -> bool:
    lowered = filename.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def is_csv(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in _XML_SUFFIXES:
        return False
    if suffix in _CSV_SUFFIXES:
        return True
    with path.open("rb") as fp:
        head = fp.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return not head.startswith(b"<")


def fingerprint(export: ExportFile, *, max_bytes: int) -> Fingerprint:
    """SHA-256 of the file (the stream's cursor); InputFileError when it is over the limit."""
    stat = export.path.stat()
    _check_size(export, stat.st_size, max_bytes)
    stats = ByteStats() if is_csv(export.path) else None
    digest = hashlib.sha256()
    size = 0
    with export.path.open("rb") as fp:
        while chunk := fp.read(READ_CHUNK):
            size += len(chunk)
            _check_size(export, size, max_bytes)
            digest.update(chunk)
            if stats is not None:
                stats.feed(chunk)
    if stats is not None:
        stats.feed(b"", final=True)
    return Fingerprint(sha256=digest.hexdigest(), size=size, mtime_ns=stat.st_mtime_ns, stats=stats)


def _check_size(export: ExportFile, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        mb = max_bytes // (1024 * 1024)
        raise InputFileError(
            export.name,
            f"larger than the {mb} MB limit; not read (raise max_file_mb if the export is genuine)",
        )


def read_invoices(
    export: ExportFile, print_: Fingerprint, settings: AccountingSettings
) -> Iterator[Invoice]:
    """The invoices of one file, streamed; InputFileError for anything wrong with it, including
    a file that changed while it was read (the next pull reads it again)."""
    with export.path.open("rb") as fp:
        if print_.stats is not None:
            encoding = print_.stats.encoding(export.name)
            yield from read_csv(
                fp, file=export.name, encoding=encoding, columns=settings.csv_columns
            )
        else:
            _refuse_binary(fp, export.name)
            yield from read_finvoice(fp, file=export.name)
    stat = export.path.stat()
    if (stat.st_size, stat.st_mtime_ns) != (print_.size, print_.mtime_ns):
        raise InputFileError(export.name, "changed while it was read; it is read again next time")


def _refuse_binary(fp: IO[bytes], name: str) -> None:
    head = fp.read(8192)
    fp.seek(0)
    if not head.strip():
        raise InputFileError(name, "empty file")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(name, "binary data (NUL bytes), not an XML export", where="line 1")
