"""`syncaudit rectify EMAIL`: correct a person's name or address in every system (Art. 16)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syncaudit.cli._shared import (
    JsonOpt,
    emit_json,
    guarded,
    opened_app,
    parse_time,
    plan_json,
    print_plan,
    print_request,
)

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
            emit_json([plan_json(p) for p in plans])
            return
        if not json_out:
            print_plan(plans)
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
