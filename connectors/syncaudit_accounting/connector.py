"""The accounting_export connector: invoices in an export folder, kept under a legal hold.

Pull — one stream per file, cursor = the file's SHA-256:
- unchanged file (cursor == checksum): not read, nothing yielded;
- new or changed file: RoundStart, one ItemUpsert per invoice, Checkpoint(round_complete=True);
- unreadable file: StreamProblem naming the file and line; no checkpoint, so the cursor stays
  and the records already indexed from the file's earlier version are kept;
- file gone from the folder: its records are *kept*. The invoices still exist at the accounting
  firm (the folder only held a copy) and stay under the legal hold, so forgetting them would make
  an erasure look complete when it is not. A warning is logged once and the cursor is marked
  `missing:<sha>`; if the file comes back it is read again.

Erasure never touches the files: erase() answers RETAINED with the basis and the end date while
the retention runs, and AWAITING_MANUAL after it (the firm must delete at source; see
syncaudit.bookkeeping_notice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import structlog

from syncaudit.bookkeeping import (
    LEGAL_BASIS,
    invoice_date,
    invoice_number,
    retention_end,
    under_hold,
)
from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Change,
    Checkpoint,
    ErasureTarget,
    ItemUpsert,
    Observation,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    RoundStart,
    StreamProblem,
    SystemProfile,
)
from syncaudit.errors import InputFileError, PermanentError
from syncaudit.identity import try_normalize_email
from syncaudit_accounting.files import (
    STREAM_PREFIX,
    ExportFile,
    Fingerprint,
    fingerprint,
    list_files,
    read_invoices,
)
from syncaudit_accounting.model import Invoice
from syncaudit_accounting.refs import kind_of, locator, make_ref
from syncaudit_accounting.settings import CAPABILITIES, KIND, AccountingSettings

log = structlog.get_logger(__name__)
MISSING = "missing:"


@dataclass
class _Counts:
    """What a pull did; logged once at the end (numbers only)."""

    files_read: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    invoices: int = 0
    items: int = 0
    no_email: int = 0  # parties skipped: no email address to link a subject to
    invalid_email: int = 0  # parties skipped: the address does not normalise
    hetus_removed: int = 0  # identity codes scrubbed out of names and numbers

    def log(self, system: str) -> None:
        log.info(
            "accounting.pull",
            system=system,
            files_read=self.files_read,
            files_unchanged=self.files_unchanged,
            files_rejected=self.files_rejected,
            invoices=self.invoices,
            items=self.items,
            parties_without_email=self.no_email,
            invalid_emails=self.invalid_email,
            identity_codes_removed=self.hetus_removed,
        )


class AccountingExportConnector:
    kind = KIND

    def __init__(
        self, name: str, settings: AccountingSettings, profile: SystemProfile, *, clock: Clock
    ) -> None:
        self.name = name
        self.settings = settings
        self.profile = profile
        self.clock = clock
        self.capabilities = CAPABILITIES

    # -- the folder ---------------------------------------------------------------------------

    def _files(self) -> list[ExportFile]:
        root = self.settings.path
        if not root.is_dir():
            raise PermanentError(
                f"export folder {root} does not exist or is not a folder",
                next_step="Check `path` of this system and that the share is mounted.",
            )
        try:
            return list_files(root, self.settings.patterns)
        except OSError as exc:
            raise PermanentError(
                f"export folder {root} cannot be listed: {exc.strerror}",
                next_step="Give syncaudit read access to the export folder.",
            ) from None

    def check(self) -> str:
        files = self._files()
        return f"export folder {self.settings.path}: {len(files)} matching file(s)"

    def retained_until(self, issued: date) -> date:
        return retention_end(
            issued,
            financial_year_end=self.settings.financial_year_end,
            years=self.settings.voucher_retention_years,
        )

    # -- pull ---------------------------------------------------------------------------------

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        files = self._files()
        counts = _Counts()
        for export in files:
            cursor = None if full else cursors.get(export.stream)
            yield from self._pull_file(export, cursor, counts)
        counts.log(self.name)
        present = {f.stream for f in files}
        for stream, cursor in sorted(cursors.items()):
            gone = stream.startswith(STREAM_PREFIX) and stream not in present
            if gone and not cursor.startswith(MISSING):
                log.warning("accounting.file_missing_records_kept", stream=stream)
                yield Checkpoint(stream=stream, cursor=MISSING + cursor)

    def _pull_file(
        self, export: ExportFile, cursor: str | None, counts: _Counts
    ) -> Iterator[Change]:
        try:
            print_ = fingerprint(export, max_bytes=self.settings.max_file_bytes)
        except InputFileError as exc:
            counts.files_rejected += 1
            yield self._problem(export, exc)
            return
        except OSError as exc:
            counts.files_rejected += 1
            reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
            yield self._problem(export, InputFileError(export.name, reason))
            return
        if cursor == print_.sha256:
            counts.files_unchanged += 1
            return
        started = False
        try:
            for invoice in self._merged(export, print_, counts):
                counts.invoices += 1
                if not started:
                    yield RoundStart(stream=export.stream)
                    started = True
                upsert = self._upsert(export, invoice, counts)
                if upsert is not None:
                    yield upsert
        except InputFileError as exc:
            counts.files_rejected += 1
            yield self._problem(export, exc)
            return
        if not started:
            yield RoundStart(stream=export.stream)
        counts.files_read += 1
        yield Checkpoint(stream=export.stream, cursor=print_.sha256, round_complete=True)

    def _merged(
        self, export: ExportFile, print_: Fingerprint, counts: _Counts
    ) -> Iterator[Invoice]:
        """Invoices with the same number and date are one item: rows of one invoice (CSV line
        exports) or repeated copies are merged, so each upsert carries everyone on it."""
        seen: dict[str, Invoice] = {}
        pending: Invoice | None = None
        for invoice in read_invoices(export, print_, self.settings):
            counts.hetus_removed += invoice.hetus_removed
            if pending is not None and pending.key == invoice.key:
                pending = _merge(pending, invoice)
                continue
            if pending is not None:
                seen[pending.key] = pending
                yield pending
            earlier = seen.get(invoice.key)
            pending = invoice if earlier is None else _merge(earlier, invoice)
        if pending is not None:
            yield pending

    def _upsert(self, export: ExportFile, invoice: Invoice, counts: _Counts) -> ItemUpsert | None:
        when = datetime(invoice.date.year, invoice.date.month, invoice.date.day, tzinfo=UTC)
        details = {
            "invoice": invoice.number,
            "billing_address": "present" if invoice.billing_address else "absent",
        }
        observations: dict[tuple[RecordKind, str], Observation] = {}
        for party in invoice.parties:
            if not party.email:
                counts.no_email += 1
                continue
            normalized = try_normalize_email(party.email)
            if normalized is None:
                counts.invalid_email += 1
                continue
            key = (kind_of(party), normalized)
            if key not in observations or observations[key].name is None:
                observations[key] = Observation(
                    kind=key[0],
                    email=party.email,
                    name=party.name,
                    role=party.role,
                    when=when,
                    details=details,
                )
        if not observations:
            return None
        counts.items += 1
        return ItemUpsert(
            stream=export.stream,
            external_id=invoice.key,
            observations=tuple(observations.values()),
            locator=locator(export, invoice),
            legal_hold_until=self.retained_until(invoice.date),
            legal_basis=LEGAL_BASIS,
        )

    def _problem(self, export: ExportFile, exc: InputFileError) -> StreamProblem:
        log.warning("accounting.file_rejected", stream=export.stream, reason=exc.reason)
        return StreamProblem(stream=export.stream, message=f"{exc} — {exc.next_step}")

    # -- live look-ups ------------------------------------------------------------------------

    def _scan(self, stream: str | None = None) -> Iterator[tuple[ExportFile, Invoice]]:
        """Every invoice in the folder (or in one stream's file) now; unreadable files are
        logged and skipped (their records stay in the index from earlier pulls)."""
        for export in self._files():
            if stream is not None and export.stream != stream:
                continue
            try:
                print_ = fingerprint(export, max_bytes=self.settings.max_file_bytes)
                for invoice in read_invoices(export, print_, self.settings):
                    yield export, invoice
            except (InputFileError, OSError):
                log.warning("accounting.file_unreadable_in_lookup", stream=export.stream)

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        refs: dict[tuple[str, str, RecordKind], RecordRef] = {}
        for export, invoice in self._scan():
            for party in invoice.parties:
                if target.is_address(party.email):
                    kind = kind_of(party)
                    key = (export.stream, invoice.key, kind)
                    refs.setdefault(key, make_ref(self.name, export, invoice, kind))
        return list(refs.values())

    # -- erasure ------------------------------------------------------------------------------

    def _until(self, ref: RecordRef) -> date | None:
        issued = invoice_date(ref)
        return None if issued is None else self.retained_until(issued)

    def _today(self) -> date:
        return self.clock.now().astimezone(UTC).date()

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        until = self._until(ref)
        number = invoice_number(ref)
        if until is not None and under_hold(until, self._today()):
            return PlannedAction(
                ref=ref,
                action=Action.RETAIN,
                explanation=(
                    f"invoice {number} is an accounting voucher kept until {until.isoformat()} "
                    f"({LEGAL_BASIS}); processing is restricted, the file is not changed, and "
                    "the accounting firm is to be told (Art. 19)"
                ),
            )
        return PlannedAction(ref=ref, action=Action.MANUAL, explanation=self._manual_text(ref))

    def _manual_text(self, ref: RecordRef) -> str:
        until = self._until(ref)
        ended = f"ended on {until.isoformat()}" if until else "cannot be determined"
        return (
            f"the retention of invoice {invoice_number(ref)} {ended}: ask the accounting firm to "
            "delete it at source and confirm"
        )

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        until = self._until(ref)
        if until is not None and under_hold(until, self._today()):
            return Outcome(
                status=OutcomeStatus.RETAINED,
                ref=ref,
                detail="accounting voucher under the statutory retention; processing restricted",
                legal_basis=LEGAL_BASIS,
                retained_until=until,
            )
        return Outcome(status=OutcomeStatus.AWAITING_MANUAL, ref=ref, detail=self._manual_text(ref))

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        """What is still there beyond invoices under hold: invoices whose retention has ended,
        found live or (file gone from the folder) presumed still at the accounting firm."""
        today = self._today()
        files = {f.stream for f in self._files()}
        live = self.locate(target)
        live_keys = {(r.stream, r.external_id, r.kind) for r in live}
        remaining: list[RecordRef] = []
        for ref in [
            *live,
            *(r for r in refs if (r.stream, r.external_id, r.kind) not in live_keys),
        ]:
            until = self._until(ref)
            if until is not None and under_hold(until, today):
                continue
            still_here = (ref.stream, ref.external_id, ref.kind) in live_keys
            if still_here or ref.stream not in files:
                remaining.append(ref)
        return remaining

    def deletion_notice(self, refs: Sequence[RecordRef], lang: str, *, sender: str = "") -> str:
        """The Art. 19 notice for these invoices (syncaudit.bookkeeping_notice), with this
        system's retention rules; the service puts it in the manual task opened when a legal
        hold ends."""
        from syncaudit.bookkeeping_notice import source_deletion_notice

        return source_deletion_notice(
            refs,
            lang,
            financial_year_end=self.settings.financial_year_end,
            retention_years=self.settings.voucher_retention_years,
            today=self._today(),
            sender=sender,
        )

    # -- right of access ----------------------------------------------------------------------

    def export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        """The person's fields on the invoice, read live from the file (no identity codes)."""
        for export, invoice in self._scan(ref.stream):
            if invoice.key != ref.external_id:
                continue
            parties = [
                {
                    "role": p.role,
                    "name": p.organisation,
                    "contact_person": p.contact_person,
                    "email": p.email,
                    "address_lines": list(p.address_lines),
                }
                for p in invoice.parties
                if target.is_address(p.email)
            ]
            until = self.retained_until(invoice.date)
            return {
                "system": self.name,
                "file": export.name,
                "invoice": invoice.number,
                "date": invoice.date.isoformat(),
                "parties": parties,
                "retained_until": until.isoformat(),
                "legal_basis": LEGAL_BASIS,
            }
        return {
            "system": self.name,
            "invoice": invoice_number(ref),
            "file": ref.locator.get("file", ""),
            "parties": [],
            "note": "not in the current export files; the accounting firm holds the original",
        }

    def close(self) -> None:
        return None


def _merge(first: Invoice, second: Invoice) -> Invoice:
    parties = first.parties + tuple(p for p in second.parties if p not in first.parties)
    return Invoice(
        number=first.number,
        date=first.date,
        parties=parties,
        line=first.line,
        hetus_removed=first.hetus_removed + second.hetus_removed,
    )
