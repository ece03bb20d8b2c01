"""The command line: parses, calls the core, prints. Heavy modules load inside commands only.

    cli/_shared.py   options, the one error handler (`guarded`), the opened App, output
    cli/core.py      init, check, systems, sync, subject, erase, erasures, work, demo
    cli/erasure.py   erasure show|confirm|retry        cli/audit.py    audit verify
    cli/rights.py    access, object, requests, retention ...
    cli/rectify.py   rectify (correct a name or address everywhere)
    cli/reports.py   report monthly|transfers|ropa     cli/service.py  run, status, tombstones
    cli/web.py       web, user add|list|remove|passwd  (the owner's console: syncaudit.web)
    cli/requester.py intake, request approve|reject|extend|verify (requests by mail)

Exit codes: 0 ok, 1 operational failure, 2 usage or configuration error.
"""

from __future__ import annotations

from typing import Annotated

import typer

from syncaudit.cli import audit, core, erasure, rectify, reports, requester, rights, service, web
from syncaudit.cli._shared import OPTS, ConfigOpt

app = typer.Typer(
    name="syncaudit",
    help="Keep GDPR promises across Outlook, Mailchimp and the accounting export: "
    "know where each person is, erase them everywhere within 48 hours, prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


@app.callback()
def main_options(
    config: ConfigOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logs, tracebacks.")
    ] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="console or json")] = "console",
) -> None:
    OPTS.config, OPTS.verbose, OPTS.log_format = config, verbose, log_format


app.add_typer(core.app)
app.add_typer(erasure.erasure_app, name="erasure")
app.add_typer(audit.audit_app, name="audit")
for area in (service, reports, rights, rectify, requester, web):
    app.add_typer(area.app)


def main() -> None:
    app()
