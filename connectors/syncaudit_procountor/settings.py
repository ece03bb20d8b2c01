"""The `[[systems]]` table of a Procountor system, validated once (standard library only).

```toml
[[systems]]
name = "procountor"
type = "procountor"
client_id = "syncaudit-valmennus"                 # the API client made in Procountor
client_secret_env = "SYNCAUDIT_PROCOUNTOR_SECRET"
api_key_env = "SYNCAUDIT_PROCOUNTOR_API_KEY"      # the company's API key (M2M login)
base_url = "https://api.procountor.com/api"       # test environment: https://pts-api.procountor.com/api
# optional, with their defaults:
partner_types = ["CUSTOMER", "PERSON"]  # business-partner registers read (SUPPLIER too if wanted)
financial_year_end = "12-31"            # MM-DD: the legal hold of an invoice depends on it
voucher_retention_years = 6             # Accounting Act 2:10 §; more is allowed, less is not
max_requests_per_second = 5             # our pace; Procountor answers 429 above its own limit
reconcile_days = 7                      # full re-read (finds records deleted in Procountor)
lag_seconds = 600                       # increments start this long before the last pull began
timeout_seconds = 30                    # read timeout of one request (connect: at most 10 s)
notice_language = "fi"                  # the Art. 19 notice to the accounting firm: fi or en
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncaudit.bookkeeping import DEFAULT_YEAR_END, DEFAULT_YEARS, parse_year_end
from syncaudit.contract import Capability, Secret, SettingsReader

# What a connector of this kind can do (declared, so it is known without building one).
CAPABILITIES = frozenset({Capability.PULL, Capability.LEGAL_HOLD, Capability.EXPORT})

KIND = "procountor"
PRODUCTION_URL = "https://api.procountor.com/api"
TEST_URL = "https://pts-api.procountor.com/api"
PARTNER_TYPES = ("CUSTOMER", "PERSON", "SUPPLIER")
DEFAULT_PARTNER_TYPES = ("CUSTOMER", "PERSON")
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")


@dataclass(frozen=True, kw_only=True)
class ProcountorSettings:
    client_id: str
    client_secret: Secret
    api_key: Secret
    base_url: str = PRODUCTION_URL
    partner_types: tuple[str, ...] = DEFAULT_PARTNER_TYPES
    financial_year_end: str = DEFAULT_YEAR_END
    voucher_retention_years: int = DEFAULT_YEARS
    max_requests_per_second: int = 5
    reconcile_days: int = 7
    lag_seconds: int = 600
    timeout_seconds: int = 30
    notice_language: str = "fi"
    country: str = "FI"


def parse_settings(
    raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
) -> ProcountorSettings:
    reader = SettingsReader(raw, path, env)
    client_id = reader.string("client_id", required=True).strip()
    secret = reader.secret("client_secret_env")
    api_key = reader.secret("api_key_env")
    base_url = _base_url(reader)
    types = _partner_types(reader)
    year_end = reader.string("financial_year_end", DEFAULT_YEAR_END)
    try:
        parse_year_end(year_end)
    except ValueError as exc:
        reader.problem("financial_year_end", str(exc))
        year_end = DEFAULT_YEAR_END
    years = reader.integer("voucher_retention_years", DEFAULT_YEARS)
    if years < DEFAULT_YEARS:
        reader.problem(
            "voucher_retention_years",
            f"must be at least {DEFAULT_YEARS} (Accounting Act 2:10 §), got {years}",
        )
    settings = ProcountorSettings(
        client_id=client_id,
        client_secret=secret,
        api_key=api_key,
        base_url=base_url,
        partner_types=types,
        financial_year_end=year_end,
        voucher_retention_years=years,
        max_requests_per_second=reader.integer("max_requests_per_second", 5, minimum=1),
        reconcile_days=reader.integer("reconcile_days", 7, minimum=1),
        lag_seconds=reader.integer("lag_seconds", 600, minimum=0),
        timeout_seconds=reader.integer("timeout_seconds", 30, minimum=1),
        notice_language=reader.choice("notice_language", "fi", ["fi", "en"]),
        country=reader.string("country", "FI").upper(),
    )
    reader.finish()
    return settings


def _base_url(reader: SettingsReader) -> str:
    url = reader.string("base_url", PRODUCTION_URL).strip().rstrip("/")
    if not url.startswith("https://") and not url.startswith(_LOOPBACK):
        reader.problem("base_url", f"must start with https:// (e.g. {PRODUCTION_URL})")
    elif not url.endswith("/api"):
        reader.problem(
            "base_url", f"must be the API root ending in /api, e.g. {PRODUCTION_URL} or {TEST_URL}"
        )
    return url


def _partner_types(reader: SettingsReader) -> tuple[str, ...]:
    types = tuple(
        t.strip().upper() for t in reader.string_list("partner_types", DEFAULT_PARTNER_TYPES)
    )
    unknown = [t for t in types if t not in PARTNER_TYPES]
    if unknown:
        reader.problem(
            "partner_types", f"unknown {unknown}; each one of {', '.join(PARTNER_TYPES)}"
        )
    if len(set(types)) != len(types):
        reader.problem("partner_types", "lists a type twice")
    return tuple(t for t in dict.fromkeys(types) if t in PARTNER_TYPES)
