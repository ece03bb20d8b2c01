"""CLI commands of the rights area. Heavy imports inside commands.

syncaudit access EMAIL -o DIR [--lang fi|en]   right of access: HTML + JSON, fetched live
syncaudit object EMAIL                         objection to marketing: unsubscribe everywhere
syncaudit requests [--open] [--pending]        every request (erasure, access, objection)
syncaudit retention review                     inactive customers; queue erasures for some
syncaudit retention summaries [--delete]       coaching summaries past their limit
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncaudit.cli._shared import (
    JsonOpt,
    emit_json,
    guarded,
    opened_app,
    parse_time,
    systems_summary,
    time_left,
)

if TYPE_CHECKING:
    from syncaudit.rights.retention import InactiveSubject

app = typer.Typer()
retention_app = typer.Typer(
    help="Retention rules: inactive customers and coaching summaries.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")

ReceivedOpt = Annotated[
    str | None,
    typer.Option(help="When the person asked (ISO time); the deadline runs from it."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@app.command()
def access(
    email: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the HTML and JSON files.")],
    lang: Annotated[
        str | None, typer.Option(help="fi or en (default: [controller].language).")
    ] = None,
    received_at: ReceivedOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Right of access: what every system holds about the person, fetched live, as a readable
    HTML document and a JSON file (with processors and transfers outside the EEA)."""

    with guarded(), opened_app() as application:
        from syncaudit.rights.access import access_export

        result = access_export(
            application, email, out, lang=lang, received_at=parse_time(received_at)
        )
        if json_out:
            emit_json(
                {
                    "request_id": result.request_id,
                    "state": result.state,
                    "resumed": result.resumed,
                    "repeat_within_year": result.repeat_within_year,
                    "earlier_within_year": result.earlier_within_year,
                    "html": str(result.html_path),
                    "json": str(result.json_path),
                    "json_sha256": result.json_sha256,
                    "systems": {s.system: s.status for s in result.systems},
                }
            )
            return
        typer.echo(f"access request {result.request_id}: {result.state}")
        if result.repeat_within_year:
            typer.echo(
                "  NOTE: another access request within 12 months "
                f"({', '.join(result.earlier_within_year)}): the register offers one free "
                "request a year; a reasonable fee may be charged or the request refused as "
                "excessive (Art. 12(5)) — your decision."
            )
        for s in result.systems:
            line = f"  {s.system:<14} {s.status}"
            line += f", {len(s.records)} record(s)" if s.records else ""
            typer.echo(line + (f" — {s.error}" if s.error else ""))
            if s.status == "manual":
                typer.echo(
                    f"      to do: look the person up in {s.system} by hand and add it to the reply"
                )
                typer.echo(f"      then:  syncaudit erasure confirm {result.request_id} {s.system}")
        typer.echo(f"written: {result.html_path}")
        typer.echo(f"         {result.json_path} (sha256 {result.json_sha256[:16]}…)")
        if any(s.status == "error" for s in result.systems):
            typer.echo("Run the same command again once the failed systems are reachable.")


@app.command("object")
def object_(email: str, received_at: ReceivedOpt = None, json_out: JsonOpt = False) -> None:
    """Objection to direct marketing: unsubscribe the person in every marketing system,
    delete nothing, and watch later syncs for a re-subscription."""

    with guarded(), opened_app() as application:
        from syncaudit.rights.objection import object_to_marketing

        result = object_to_marketing(application, email, received_at=parse_time(received_at))
        if json_out:
            emit_json(
                {
                    "request_id": result.request_id,
                    "state": result.state,
                    "resumed": result.resumed,
                    "systems": [s.__dict__ for s in result.systems],
                }
            )
            return
        typer.echo(f"objection {result.request_id}: {result.state}")
        for s in result.systems:
            done = sum(o["status"] == "unsubscribed" for o in s.outcomes)
            already = sum(o["status"] == "no_marketing" for o in s.outcomes)
            if s.state == "verified":
                what = f"unsubscribed {done}, already without marketing {already}"
            else:
                what = s.state
            typer.echo(f"  {s.system:<14} {what}" + (f" — {s.error}" if s.error else ""))
            if s.instructions:
                typer.echo(f"      to do: {s.instructions}")
                typer.echo(f"      then:  syncaudit erasure confirm {result.request_id} {s.system}")
        if any(s.state == "failed" for s in result.systems):
            typer.echo("Run the same command again once the failed systems are reachable.")


@app.command()
def requests(
    open_only: Annotated[bool, typer.Option("--open", help="Only requests still open.")] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="Requests from the mailbox awaiting review.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Every data-subject request (erasure, access, objection) with its deadline and status;
    --pending: those taken from the mailbox, not yet approved (both clocks)."""

    with guarded(), opened_app() as application:
        from syncaudit.rights.requests import list_all

        if pending:
            from syncaudit.cli.requester import print_pending
            from syncaudit.requester.review import pending as pending_requests

            waiting = pending_requests(application)
            if json_out:
                emit_json(waiting)
            else:
                print_pending(waiting)
            return

        rows = list_all(application, open_only=open_only)
        if json_out:
            emit_json(rows)
            return
        if not rows:
            typer.echo("no requests")
        for r in rows:
            left, systems_text = time_left(r), systems_summary(r)
            flag = " [repeat within 12 months]" if r["earlier_within_year"] else ""
            typer.echo(
                f"{r['id']:<18} {r['kind']:<9} {r['state']:<12} {left:<12} "
                f"{r['subject']}  {systems_text}{flag}"
            )


@retention_app.command("review")
def retention_review(
    years: Annotated[
        int | None, typer.Option(help="Inactive for this many years (default: config).")
    ] = None,
    erase: Annotated[
        str | None,
        typer.Option(help='Queue erasures for these: "1,3-4", "all", or pseudonyms p:...'),
    ] = None,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Customers with no activity in any system for N years; queue erasures for those picked."""
    from syncaudit.errors import UsageError

    with guarded(), opened_app() as application:
        from syncaudit.rights.retention import (
            contact_details,
            inactive_subjects,
            queue_erasures,
            record_review,
        )

        span = years or application.settings.retention.inactive_years
        found = inactive_subjects(application, span)
        details = contact_details(application, [f.pseudonym for f in found])
        if not json_out:
            _print_inactive(found, details, span)
        spec = erase
        if spec is None and found and not json_out and sys.stdin.isatty():
            spec = typer.prompt("Queue erasure for (e.g. 1,3-4 or all; empty: none)", default="")
        picked = pick(found, spec or "")
        if picked and not yes and not json_out:
            if not sys.stdin.isatty():
                raise UsageError(
                    "refusing to queue erasures without confirmation",
                    next_step="Add --yes, or run it on a terminal.",
                )
            typer.confirm(f"Erase these {len(picked)} person(s) from every system?", abort=True)
        if picked and json_out and not yes:
            raise UsageError("--erase with --json needs --yes", next_step="Add --yes.")
        queued = (
            queue_erasures(application, picked, years=span, listed=len(found)) if picked else []
        )
        if not picked:
            record_review(application, years=span, listed=len(found), queued=[])
        if json_out:
            emit_json(
                {
                    "years": span,
                    "inactive": [
                        {
                            **_inactive_json(f),
                            "email": details.get(f.pseudonym, (None, None))[0],
                            "name": details.get(f.pseudonym, (None, None))[1],
                        }
                        for f in found
                    ],
                    "queued": queued,
                }
            )
            return
        if queued:
            typer.echo(f"queued {len(queued)} erasure(s): {', '.join(queued)}")
            typer.echo("The service's worker carries them out (or run `syncaudit work`).")


def _print_inactive(
    found: list[InactiveSubject], details: dict[str, tuple[str, str | None]], years: int
) -> None:
    if not found:
        typer.echo(f"nobody has been inactive for {years} years")
        return
    typer.echo(
        f"{len(found)} person(s) without a calendar entry, invoice or audience sign-up "
        f"for {years} years:"
    )
    for number, f in enumerate(found, 1):
        email, name = details.get(f.pseudonym, ("?", None))
        since = f.since.date().isoformat() + (" (first seen)" if f.basis == "first_seen" else "")
        typer.echo(
            f"  {number:>3}. {f.short}  {email:<36} {name or '':<24} {since:<24} "
            f"{', '.join(f.systems) or 'no records left'}"
        )


def _inactive_json(f: InactiveSubject) -> dict[str, Any]:
    return {
        "pseudonym": f.short,
        "since": f.since.isoformat(),
        "basis": f.basis,
        "systems": list(f.systems),
        "records": f.records,
    }


def pick(found: list[InactiveSubject], spec: str) -> list[InactiveSubject]:
    """'all', numbers and ranges ("1,3-4"), or pseudonyms ("p:0a1b2c3d4e5f")."""
    from syncaudit.errors import UsageError

    text = spec.strip()
    if not text:
        return []
    if text.lower() == "all":
        return list(found)
    chosen: dict[str, InactiveSubject] = {}
    by_short = {f.short: f for f in found}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part in by_short:
            chosen[part] = by_short[part]
            continue
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise UsageError(f"cannot read {part!r}", next_step='Use e.g. "1,3-4" or "all".')
        for number in range(int(low), int(high or low) + 1):
            if not 1 <= number <= len(found):
                raise UsageError(f"there is no number {number}", next_step="See the list.")
            chosen[found[number - 1].short] = found[number - 1]
    return list(chosen.values())


@retention_app.command("summaries")
def retention_summaries(
    delete: Annotated[
        bool, typer.Option("--delete", help="Permanently delete the summaries listed.")
    ] = False,
    scan: Annotated[bool, typer.Option(help="Read the mail folders first.")] = True,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Coaching summaries past their limit (2 years after the client's last activity); a dry
    run unless --delete, which deletes exactly what was listed."""
    from syncaudit.errors import UsageError

    with guarded(), opened_app() as application:
        from syncaudit.rights import summaries as sm

        scanned = sm.scan_summaries(application) if scan else None
        expired = sm.expired_summaries(application)
        sm.mark_listed(application, expired)
        if not json_out:
            _print_summaries(expired, scanned)
        if delete and expired and not yes:
            if json_out or not sys.stdin.isatty():
                raise UsageError(
                    "refusing to delete without confirmation",
                    next_step="Add --yes, or run it on a terminal.",
                )
            typer.confirm(f"Permanently delete these {len(expired)} message(s)?", abort=True)
        result = sm.delete_summaries(application, [e.id for e in expired]) if delete else None
        if json_out:
            emit_json(
                {
                    "scanned": scanned.__dict__ if scanned else None,
                    "expired": [e.__dict__ for e in expired],
                    "deletion": result.__dict__ if result else None,
                }
            )
        elif result is not None:
            typer.echo(
                f"deleted {len(result.deleted)}, already gone {len(result.already_gone)}, "
                f"skipped {len(result.skipped)}"
            )
        elif expired:
            typer.echo(
                "Dry run: nothing deleted. To delete: syncaudit retention summaries --delete"
            )
        if result is not None and result.error:
            typer.echo(f"error: {result.error}", err=True)
            raise typer.Exit(1)


def _print_summaries(expired: list[Any], scanned: Any) -> None:
    if scanned is not None:
        typer.echo(
            f"{scanned.messages} summary message(s) in Outlook ({scanned.new} new, "
            f"{scanned.gone} gone since the last scan)"
        )
    if not expired:
        typer.echo("no summary is past its limit")
        return
    typer.echo(f"{len(expired)} past their limit:")
    for e in expired:
        sent = e.sent_at.date().isoformat() if e.sent_at else "undated"
        last = e.client_last_activity.date().isoformat() if e.client_last_activity else "-"
        typer.echo(
            f"  #{e.id:<5} sent {sent}  client {e.short or 'unknown':<16} last active {last:<10} "
            f"limit {e.limit.date().isoformat()}  ({e.reason.replace('_', ' ')})"
        )
