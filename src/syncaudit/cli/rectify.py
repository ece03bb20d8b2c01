"""`syncaudit rectify EMAIL`: correct a person's name or address in every system (Art. 16)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app, parse_time, print_request

if TYPE_CHECKING:
    from syncaudit.erasure.requests import SystemPlan

app = typer.Typer()


@app.command()
def rectify(
    email: str,
    name: Annotated[str | None, typer.Option("--name", help="The corrected full name.")] = None,
    new_email: Annotated[
        str | None, typer.Option("--new-email", help="The person's new address.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (no personal data).")] = None,
    received_at: Annotated[
        str | None, typer.Option(help="When the person asked (ISO time); the clock runs from it.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Correct a person's name and/or address everywhere (after a dry run and confirmation);
    running it again while the request is open resumes it."""
    from syncaudit.errors import UsageError

    with guarded(), opened_app() as application:
        from syncaudit.erasure import rectification
        from syncaudit.erasure.deadlines import watch
        from syncaudit.erasure.requests import show
        from syncaudit.erasure.worker import worker_slot

        correction = rectification.correction_of(application, name, new_email)
        plans = rectification.plan(application, email, correction)
        if json_out and dry_run:
            emit_json([_plan_json(p) for p in plans])
            return
        if not json_out:
            _print_plan(plans)
        if dry_run:
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    "refusing to rectify without confirmation",
                    next_step="Add --yes, or run it on a terminal.",
                )
            typer.confirm("Correct this person in every system listed above?", abort=True)
        submitted = rectification.submit(
            application,
            email,
            correction,
            reason=reason,
            received_at=parse_time(received_at),
        )
        with worker_slot(application) as worker:
            worker.run_until_idle()
        watch(application)
        view = show(application, submitted.request_id)
        view["resumed"] = submitted.resumed
        if json_out:
            emit_json(view)
        else:
            if submitted.resumed:
                typer.echo(f"resumed the open request {submitted.request_id}")
            print_request(view)


def _plan_json(p: SystemPlan) -> dict[str, Any]:
    return {
        "system": p.system,
        "error": p.error,
        "manual": p.manual,
        "actions": [
            {
                "action": str(a.action),
                "kind": str(a.ref.kind),
                "record": a.ref.label or a.ref.external_id,
                "explanation": a.explanation,
            }
            for a in p.actions
        ],
    }


def _print_plan(plans: list[SystemPlan]) -> None:
    typer.echo("Plan:")
    for p in plans:
        if p.error:
            typer.echo(f"  {p.system}: cannot look up now ({p.error}); the worker will retry")
            continue
        if not p.actions:
            typer.echo(f"  {p.system}: nothing found")
        for a in p.actions:
            line = f"  {p.system}: {a.action} {a.ref.label or a.ref.external_id}"
            if a.explanation:
                line += f" — {a.explanation}"
            typer.echo(line)
