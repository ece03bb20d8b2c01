"""How long an invoice must be kept, and the invoice a reference names: pure, no I/O.

Accounting Act (Kirjanpitolaki 1336/1997) ch. 2 § 10: vouchers — a sales invoice is one — are kept
at least `voucher_retention_years` (6) years from the end of the calendar year in which the
financial year ended. Example: financial year ends 30.4.2017 -> kept until 31.12.2023.

`financial_year_end` is "MM-DD". "02-29" means the last day of February (28th in common years);
"02-28" is taken literally, so in a leap year 29 February starts the next financial year.
Irregular first or last financial years (up to 18 months) are not modelled: an invoice is placed
in the regular year that contains its date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from syncaudit.contract import RecordRef

LEGAL_BASIS = "Accounting Act 1336/1997 ch. 2 § 10; GDPR Art. 17(3)(b)"
DEFAULT_YEAR_END = "12-31"
DEFAULT_YEARS = 6
_MM_DD = re.compile(r"^(\d{2})-(\d{2})$")


def parse_year_end(text: str) -> tuple[int, int]:
    """(month, day) of "MM-DD"; ValueError naming the problem (any leap-year date is allowed)."""
    match = _MM_DD.match(text.strip())
    if not match:
        raise ValueError(f'must look like "MM-DD" (e.g. "12-31"), got {text!r}')
    month, day = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01-12, got {match.group(1)}")
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f"day {match.group(2)} does not exist in month {match.group(1)}")
    return month, day


def _year_end_in(year: int, month: int, day: int) -> date:
    if (month, day) == (2, 29):
        return date(year, 2, calendar.monthrange(year, 2)[1])
    return date(year, month, day)


def financial_year_end_for(when: date, financial_year_end: str = DEFAULT_YEAR_END) -> date:
    """The last day of the financial year that contains `when`."""
    month, day = parse_year_end(financial_year_end)
    end = _year_end_in(when.year, month, day)
    return end if when <= end else _year_end_in(when.year + 1, month, day)


def retention_end(
    invoice_date: date,
    *,
    financial_year_end: str = DEFAULT_YEAR_END,
    years: int = DEFAULT_YEARS,
) -> date:
    """The last day the invoice must still be kept (inclusive)."""
    ended = financial_year_end_for(invoice_date, financial_year_end)
    return date(ended.year + years, 12, 31)


def under_hold(until: date, today: date) -> bool:
    """True while the retention period runs (the end date itself included)."""
    return today <= until


def invoice_date(ref: RecordRef) -> date | None:
    """From the locator, else from the item id `number@YYYY-MM-DD`; None if neither says."""
    for text in (ref.locator.get("date", ""), ref.external_id.rpartition("@")[2]):
        try:
            return date.fromisoformat(text)
        except ValueError:
            continue
    return None


def invoice_number(ref: RecordRef) -> str:
    return ref.locator.get("invoice") or ref.external_id.rpartition("@")[0] or ref.external_id
