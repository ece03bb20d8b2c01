"""`syncaudit erasure show|confirm|retry`: one erasure request."""

from __future__ import annotations

from typing import Annotated

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app, print_request

erasure_app = typer.Typer(
    help="Inspect, confirm and retry one erasure request.", no_args_is_help=True
)


@erasure_app.command("show")
def erasure_show(request_id: str, json_out: JsonOpt = False) -> None:
    """The timeline of one request, per system."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import show

        view = show(application, request_id)
        if json_out:
            emit_json(view)
            return
        print_request(view)
        typer.echo("timeline:")
        for e in view["timeline"]:
            typer.echo(f"  {e['at']}  {e['event']:<26} {e['system'] or ''}")


@erasure_app.command("confirm")
def erasure_confirm(
    request_id: str,
    system: str,
    note: Annotated[str | None, typer.Option(help="What was done (kept as evidence).")] = None,
) -> None:
    """Confirm a manual step (e.g. Mailmunch, the paper archive) was done."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import confirm, show

        confirm(application, request_id, system, note)
        print_request(show(application, request_id))


@erasure_app.command("retry")
def erasure_retry(request_id: str, system: Annotated[str | None, typer.Argument()] = None) -> None:
    """Queue failed tasks again after fixing their cause."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import retry

        count = retry(application, request_id, system)
        typer.echo(f"{count} task(s) queued again")
