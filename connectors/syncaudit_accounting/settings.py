"""The validated `[[systems]]` table of an accounting_export system (cheap to import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncaudit.bookkeeping import DEFAULT_YEARS, parse_year_end
from syncaudit.contract import Capability, SettingsReader

# What a connector of this kind can do (declared, so it is known without building one).
CAPABILITIES = frozenset({Capability.PULL, Capability.LEGAL_HOLD, Capability.EXPORT})

KIND = "accounting_export"
CSV_FIELDS = (
    "invoice_number",
    "invoice_date",
    "buyer_name",
    "buyer_email",
    "contact_person",
    "recipient_name",
    "recipient_email",
    "address",
    "street",
    "postcode",
    "city",
    "country",
)  # the keys of csv_columns; headers.FIELDS has word rules for each
MIN_RETENTION_YEARS = 6  # Accounting Act 2:10 § for vouchers; more is allowed, less is not


@dataclass(frozen=True, kw_only=True)
class AccountingSettings:
    path: Path
    patterns: tuple[str, ...] = ("*.xml", "*.csv")
    financial_year_end: str = "12-31"
    voucher_retention_years: int = DEFAULT_YEARS
    csv_columns: Mapping[str, str] = field(default_factory=dict)
    country: str = "FI"
    max_file_mb: int = 20  # larger files are refused unread (raise it for genuine big exports)

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


def parse_settings(raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> Any:
    reader = SettingsReader(raw, path, env)
    folder = reader.string("path", required=True)
    patterns = reader.string_list("patterns", ("*.xml", "*.csv"))
    if not patterns or not all(p.strip() for p in patterns):
        reader.problem("patterns", 'must list at least one file pattern, e.g. ["*.xml"]')
    year_end = reader.string("financial_year_end", "12-31")
    try:
        parse_year_end(year_end)
    except ValueError as exc:
        reader.problem("financial_year_end", str(exc))
        year_end = "12-31"
    years = reader.integer("voucher_retention_years", DEFAULT_YEARS)
    if years < MIN_RETENTION_YEARS:
        reader.problem(
            "voucher_retention_years",
            f"must be at least {MIN_RETENTION_YEARS} (Accounting Act 2:10 §), got {years}",
        )
    columns = _csv_columns(reader)
    country = reader.string("country", "FI").upper()
    max_mb = reader.integer("max_file_mb", 20, minimum=1)
    reader.finish()
    return AccountingSettings(
        path=Path(folder).expanduser(),
        patterns=patterns,
        financial_year_end=year_end,
        voucher_retention_years=years,
        csv_columns=columns,
        country=country,
        max_file_mb=max_mb,
    )


def _csv_columns(reader: SettingsReader) -> dict[str, str]:
    table = reader.table("csv_columns")
    columns: dict[str, str] = {}
    for key, value in table.items():
        if key not in CSV_FIELDS:
            reader.problem(f"csv_columns.{key}", f"unknown field; one of {', '.join(CSV_FIELDS)}")
        elif not isinstance(value, str) or not value.strip():
            reader.problem(f"csv_columns.{key}", 'must be the header text, e.g. "Sähköposti"')
        else:
            columns[key] = value
    return columns
