"""CLI commands of the reports area. Heavy imports inside commands.

    syncaudit report monthly   [--month YYYY-MM] [--lang fi|en] [--format html|pdf|md|json]
                               [-o PATH]
    syncaudit report transfers [--lang ...] [--format ...] [-o PATH]
    syncaudit report ropa      [--lang ...] [--format ...] [-o PATH]

-o names a file, or a folder to write the usual file name into (default: [service].report_dir);
"-" writes to standard output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncaudit.cli._shared import emit_json, guarded, opened_app

if TYPE_CHECKING:
    from syncaudit.app import App

app = typer.Typer()
report_app = typer.Typer(
    help="Reports for the controller and the auditor: monthly, transfers, Art. 30 record.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

LangOpt = Annotated[
    str | None, typer.Option("--lang", help="fi or en (default: [controller].language).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="html, pdf, md or json.")]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="File, or folder for the usual file name (default: [service].report_dir); "
        "- for standard output.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print where it was written, as JSON.")]


@report_app.command("monthly")
def monthly(
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM (default: the previous month).")
    ] = None,
    lang: LangOpt = None,
    fmt: FormatOpt = "html",
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The monthly compliance report: requests, legal holds, syncs, transfers, evidence."""

    with guarded(), opened_app() as application:
        from syncaudit.reports.monthly import issue_monthly, report_filename
        from syncaudit.reports.period import month_period, previous_month

        timezone = application.settings.reports.timezone
        chosen = month or previous_month(application.clock.now(), timezone)
        chosen = month_period(chosen, timezone).month
        language = _language(application, lang, fmt)
        target = _target(application, output, report_filename(chosen, language, fmt))
        issue_monthly(
            application,
            chosen,
            lang=language,
            fmt=fmt,
            deliver=lambda content: _deliver(target, content),
        )
        _done(target, json_out, month=chosen, language=language, format=fmt)


@report_app.command("transfers")
def transfers(
    lang: LangOpt = None,
    fmt: FormatOpt = "html",
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Third-country transfers per system: country, safeguard, people affected; flags gaps."""

    with guarded(), opened_app() as application:
        report = _write_static(application, "transfers", lang=lang, fmt=fmt, output=output)
        flagged = report["totals"]["systems_flagged"]
        _done(
            report["_target"],
            json_out,
            language=report["_lang"],
            format=fmt,
            systems_flagged=flagged,
        )


@report_app.command("ropa")
def ropa(
    lang: LangOpt = None,
    fmt: FormatOpt = "html",
    output: OutputOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The record of processing activities under GDPR Article 30(1), from the configuration."""

    with guarded(), opened_app() as application:
        report = _write_static(application, "ropa", lang=lang, fmt=fmt, output=output)
        _done(
            report["_target"],
            json_out,
            language=report["_lang"],
            format=fmt,
            problems=len(report["problems"]),
        )


# -- plumbing --------------------------------------------------------------------------------


def _write_static(
    application: App, kind: str, *, lang: str | None, fmt: str, output: str | None
) -> dict[str, Any]:
    """Build, render and deliver a report that has no period (transfers, ROPA); the returned
    report carries where it went (`_target`) and its language (`_lang`)."""
    from syncaudit.reports.static import issue_static

    language = _language(application, lang, fmt)
    issued = issue_static(application, kind, lang=language, fmt=fmt)
    target = _target(application, output, issued.filename)
    _deliver(target, issued.content)
    return {**issued.report, "_target": target, "_lang": language}


def _language(application: App, lang: str | None, fmt: str) -> str:
    """The report's language; the format is checked here too, before any work is done."""
    from syncaudit.reports.i18n import check_language
    from syncaudit.reports.render import check_format

    check_format(fmt)
    return check_language(lang or application.settings.controller.language)


def _target(application: App, output: str | None, name: str) -> Path | None:
    """None: standard output. A folder (existing, or written with a trailing /) gets `name`."""
    if output == "-":
        return None
    if output is None:
        return application.settings.service.report_dir / name
    path = Path(output)
    if path.is_dir() or output.endswith(("/", "\\")):
        return path / name
    return path


def _deliver(target: Path | None, content: bytes) -> None:
    from syncaudit.reports.monthly import write_file

    if target is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        write_file(target, content)


def _done(target: Path | None, json_out: bool, **facts: Any) -> None:
    if target is None:
        return
    if json_out:
        emit_json({"path": str(target), **facts})
    else:
        typer.echo(f"written: {target}")
