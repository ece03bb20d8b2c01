"""Report data -> HTML (one self-contained file), PDF (from that HTML), Markdown, JSON.

Templates are Jinja2 with autoescaping for HTML; Markdown cells go through the `md` filter.
Texts come from the message catalogs (`syncaudit.reports.i18n`), values through a Formatter.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from syncaudit import sysdeps
from syncaudit.errors import SyncauditError, SystemPackageMissing, UsageError
from syncaudit.reports import charts
from syncaudit.reports.i18n import Formatter, check_language, translations

FORMATS = ("html", "pdf", "md", "json")
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(
            f"no report format {fmt!r}", next_step=f"Use one of: {', '.join(FORMATS)}."
        )
    return fmt


def markdown_escape(value: object) -> str:
    """Free text in a Markdown table: no markup, no broken cell, on one line."""
    text = "" if value is None else str(value)
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


@functools.cache
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("syncaudit.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["md"] = markdown_escape
    return env


def render_text(template: str, report: dict[str, Any], **extra: Any) -> str:
    lang = check_language(report["language"])
    fmt = Formatter(lang, report["timezone"])
    return _environment(lang).get_template(template).render(r=report, f=fmt, **extra)


def render(kind: str, report: dict[str, Any], fmt: str) -> bytes:
    """`kind` is monthly, transfers or ropa; PDF is the HTML laid out for print."""
    check_format(fmt)
    if fmt == "json":
        return (json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()
    if fmt == "md":
        return render_text(f"{kind}.md", report).encode("utf-8")
    html = render_text(f"{kind}.html", report, **_charts(kind, report))
    if fmt == "html":
        return html.encode("utf-8")
    return html_to_pdf(html)


def render_monthly(report: dict[str, Any], fmt: str) -> bytes:
    return render("monthly", report, fmt)


def _charts(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    if kind != "monthly":
        return {}
    fmt = Formatter(report["language"], report["timezone"])
    start = datetime.fromisoformat(report["period"]["start"])
    end = datetime.fromisoformat(report["period"]["end"])
    return {
        "weekly_chart": charts.weekly_chart(report["weekly"], fmt),
        "completion_chart": charts.completion_chart(
            report["request_lines"], report["deadline_hours"], fmt, start, end
        ),
    }


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint lays the HTML out for A4; it needs Pango from the operating system.

    A missing required package is named with the command that installs it (the same line
    `make` prints); a missing optional one (HarfBuzz-subset) only makes the PDF larger, so
    WeasyPrint's warning about it is not passed on to the operator as a failure."""
    absent = sysdeps.missing(["pdf"], required_only=True)
    if absent:
        raise SystemPackageMissing(
            f"PDF output is not available here: {sysdeps.message(absent)}",
            next_step=f"Run `{sysdeps.install_command(absent)}`, or use --format html "
            "(every other format works without these packages).",
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required")
        try:
            from weasyprint import HTML  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except (ImportError, OSError) as exc:
            raise SyncauditError(
                f"PDF output is not available here ({type(exc).__name__})",
                next_step="Reinstall syncaudit (WeasyPrint is one of its packages), or use "
                "--format html and print it to PDF.",
            ) from None
        document: bytes = HTML(string=html, base_url=None).write_pdf()
    return document
