"""`syncaudit audit verify`: the evidence log."""

from __future__ import annotations

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app

audit_app = typer.Typer(help="The evidence log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(json_out: JsonOpt = False) -> None:
    """Recompute the evidence chain; names the first entry that does not fit."""
    with guarded(), opened_app() as application:
        from syncaudit import audit

        with application.db.session() as s:
            result = audit.verify(s)
        if json_out:
            emit_json(result.__dict__)
        elif result.ok:
            typer.echo(f"audit chain ok: {result.entries} entries, head {result.head}")
        else:
            typer.echo(f"audit chain BROKEN at entry {result.first_bad_seq}: {result.problem}")
        if not result.ok:
            raise typer.Exit(1)
