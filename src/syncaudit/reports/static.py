"""Reports without a period (transfers, the Art. 30 record): built, rendered and named in one
place, for the CLI (`syncaudit report transfers|ropa`) and the web console alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncaudit.context import Context

KINDS = ("transfers", "ropa")


@dataclass(frozen=True, kw_only=True)
class IssuedReport:
    report: dict[str, Any]
    filename: str
    content: bytes


def _builder(kind: str) -> Callable[..., dict[str, Any]]:
    from syncaudit.errors import UsageError

    if kind == "transfers":
        from syncaudit.reports.transfers import build_transfers

        return build_transfers
    if kind == "ropa":
        from syncaudit.reports.ropa import build_ropa

        return build_ropa
    raise UsageError(f"no report {kind!r}", next_step=f"Use one of: {', '.join(KINDS)}.")


def issue_static(app: Context, kind: str, *, lang: str, fmt: str) -> IssuedReport:
    """Build and render `kind` in `lang`; the caller delivers the bytes (a file, stdout)."""
    from syncaudit.reports.render import render

    report = _builder(kind)(app, lang=lang)
    return IssuedReport(
        report=report,
        filename=f"syncaudit-{kind}-{report['as_of']}-{lang}.{fmt}",
        content=render(kind, report, fmt),
    )
