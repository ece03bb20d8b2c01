"""Record references of invoices: what the engine stores, and the dates they imply."""

from __future__ import annotations

from syncaudit.contract import RecordKind, RecordRef
from syncaudit_accounting.files import ExportFile
from syncaudit_accounting.model import BUYER, Invoice, Party


def kind_of(party: Party) -> RecordKind:
    return RecordKind.INVOICE_BUYER if party.role == BUYER else RecordKind.INVOICE_RECIPIENT


def locator(export: ExportFile, invoice: Invoice) -> dict[str, str]:
    """Ids only: the file, the invoice number and its date (the date fixes the retention)."""
    return {"file": export.name, "invoice": invoice.number, "date": invoice.date.isoformat()}


def make_ref(system: str, export: ExportFile, invoice: Invoice, kind: RecordKind) -> RecordRef:
    return RecordRef(
        system=system,
        kind=kind,
        external_id=invoice.key,
        stream=export.stream,
        locator=locator(export, invoice),
        label=f"invoice {invoice.number}",
    )
