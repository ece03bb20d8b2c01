"""CLI commands of the requester side (requests by mail). Heavy imports inside commands.

syncaudit intake [--json]                      read the intake folder, verify, send letters
syncaudit requests --pending [--json]          (in cli/rights.py) pending requests, both clocks
syncaudit request approve ID [--kind] [--email] [--name] [--new-email]
                                               start erasure / access / objection / rectification
syncaudit request reject ID --reason TEXT      refuse, with a letter naming the complaint right
syncaudit request extend ID --reason TEXT      the one extension of Art. 12(3), with a letter
syncaudit request verify ID --note TEXT        verified by other means than a reply
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app

app = typer.Typer()
request_app = typer.Typer(
    help="Act on a request taken from the mailbox (see `syncaudit requests --pending`).",
    no_args_is_help=True,
)
app.add_typer(request_app, name="request")

ReasonOpt = Annotated[str, typer.Option("--reason", help="Told to the person in the letter.")]


@app.command()
def intake(json_out: JsonOpt = False) -> None:
    """Read new messages of the intake folder: make pending requests of those that ask for a
    data-subject right, verify by reply, send the letters due, answer what has completed."""
    with guarded(), opened_app() as application:
        from syncaudit.requester.intake import run_intake

        report = run_intake(application)
        if json_out:
            emit_json(report.__dict__)
            return
        typer.echo(
            f"read {report.read} message(s): {len(report.created)} new request(s), "
            f"{len(report.joined)} joined an open one, {len(report.verified)} verified, "
            f"{report.ignored} not a request"
        )
        if report.too_old:
            typer.echo(
                f"  {report.too_old} message(s) older than [intake].max_age_days were skipped: "
                "read them yourself"
            )
        for rid in report.created:
            typer.echo(f"  new      {rid}")
        for rid in report.verified:
            typer.echo(f"  verified {rid}")
        typer.echo(
            f"letters sent: {report.letters_sent}; answered and closed: {len(report.closed)}"
        )
        if report.created:
            typer.echo("Review them: syncaudit requests --pending")


def print_pending(rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo("no pending requests")
    for r in rows:
        joined = f" ({r['messages']} messages)" if r["messages"] > 1 else ""
        extended = " extended" if r["extended"] else ""
        typer.echo(
            f"{r['id']:<18} {r['kind']:<13} {r['language']}  received {r['received_at'][:16]}  "
            f"{r['verification']:<12} promise {r['promise_hours_left']} h, "
            f"statutory {r['statutory_days_left']} d{extended}  {r['subject']}{joined}"
        )


@request_app.command("approve")
def approve(
    request_id: str,
    kind: Annotated[
        str | None,
        typer.Option(help="erasure, access, objection or rectification (default: as classified)."),
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="The address to act on (default: the sender's).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Rectification: the corrected name the person gave.")
    ] = None,
    new_email: Annotated[
        str | None, typer.Option(help="Rectification: the corrected address the person gave.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start the request through the erasure, access or objection machinery, with the
    message's received time."""
    with guarded(), opened_app() as application:
        from syncaudit.requester.review import approve as approve_request

        result = approve_request(
            application, request_id, kind=kind, email=email, name=name, new_email=new_email
        )
        if json_out:
            emit_json(result)
            return
        typer.echo(f"{request_id}: {result['kind']} started as {result['request_id']}")
        typer.echo("The completion letter goes out when it completes (next intake or daemon tick).")


@request_app.command("reject")
def reject(request_id: str, reason: ReasonOpt) -> None:
    """Refuse the request; the person gets a letter with the reason and the complaint right."""
    with guarded(), opened_app() as application:
        from syncaudit.requester.review import reject as reject_request

        reject_request(application, request_id, reason)
        typer.echo(f"{request_id}: refused, letter sent")


@request_app.command("extend")
def extend(request_id: str, reason: ReasonOpt) -> None:
    """Use the one extension (two further months, Art. 12(3)); the person is told why."""
    with guarded(), opened_app() as application:
        from syncaudit.requester.review import extend as extend_request

        deadline = extend_request(application, request_id, reason)
        typer.echo(f"{request_id}: extended to {deadline.date().isoformat()}, letter sent")


@request_app.command("verify")
def verify(
    request_id: str,
    note: Annotated[str, typer.Option("--note", help="How the person was verified.")],
) -> None:
    """Mark the person verified by other means than a reply (only the note's hash is kept)."""
    with guarded(), opened_app() as application:
        from syncaudit.requester.review import verify_by_operator

        verify_by_operator(application, request_id, note)
        typer.echo(f"{request_id}: verified")
