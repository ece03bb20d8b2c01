"""The everyday commands: init, check, systems, sync, subject, erase, erasures, work, demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    progress_printer,
    systems_summary,
    time_left,
)

if TYPE_CHECKING:
    from syncaudit.app import App

app = typer.Typer()


# -- commands ----------------------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="Where to write the config file.")] = Path(
        "syncaudit.toml"
    ),
    key_file: Annotated[
        Path | None, typer.Option(help="Also write the key to this file (mode 0600).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
) -> None:
    """Create a pseudonym key and a starter configuration."""
    with guarded():
        from syncaudit.starter import init_project

        for line in init_project(path, key_file=key_file, force=force):
            typer.echo(line)


@app.command()
def check(json_out: JsonOpt = False) -> None:
    """Validate the configuration and test the connection to every system."""
    with guarded(), opened_app() as application:
        results = application.check()
        if json_out:
            emit_json([r.__dict__ for r in results])
        else:
            typer.echo(f"configuration: ok ({application.settings.source})")
            for r in results:
                mark = "ok  " if r.ok else "FAIL"
                typer.echo(f"{mark} {r.system}: {r.message}")
                if r.next_step:
                    typer.echo(f"     next: {r.next_step}")
        if not all(r.ok for r in results):
            raise typer.Exit(1)


@app.command()
def systems(json_out: JsonOpt = False) -> None:
    """List systems: kind, processing country, transfer safeguard, last sync."""
    with guarded(), opened_app() as application:
        rows = application.systems_overview()
        if json_out:
            emit_json(rows)
            return
        typer.echo(
            f"{'system':<14}{'type':<19}{'country':<9}{'safeguard':<11}{'people':>8}  last sync"
        )
        for r in rows:
            typer.echo(
                f"{r['name']:<14}{r['type']:<19}{r['country']:<9}{r['safeguard']:<11}"
                f"{r['subjects']:>8}  {r['last_sync'] or 'never'}"
            )


@app.command()
def sync(
    system: Annotated[
        list[str] | None, typer.Argument(help="Systems to pull (default: all).")
    ] = None,
    full: Annotated[bool, typer.Option(help="Read everything again, not just changes.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Pull every system (or the named ones) into the subject index."""
    with guarded(), opened_app() as application:
        reports = application.sync(system or [], full=full, progress=progress_printer())
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        if json_out:
            emit_json([r.__dict__ for r in reports])
        else:
            if not reports:
                typer.echo("nothing to pull: no configured system can be synced (manual only?)")
            for r in reports:
                typer.echo(
                    f"{r.system}: {r.status}, {r.items} items, {r.records} records, "
                    f"{r.removals} removed, {r.resurrections} resurrections "
                    f"({r.seconds:.1f} s)"
                )
                for problem in r.problems:
                    typer.echo(f"  problem: {problem}")
            for alert in application.last_objection_alerts:
                typer.echo(
                    f"ALERT: {alert.short} objected to marketing (request "
                    f"{alert.request_id}) but is {alert.status} again in {alert.system}"
                )
        if any(r.status != "ok" for r in reports):
            raise typer.Exit(1)


@app.command()
def subject(email: str, json_out: JsonOpt = False) -> None:
    """Where a person appears, per system and record (from the index)."""
    with guarded(), opened_app() as application:
        view = application.subject(email)
        if json_out:
            emit_json(view)
            return
        if view["erased_by"]:
            typer.echo(f"{view['pseudonym']}: erased by request {view['erased_by']}")
        if not view["found"]:
            typer.echo(f"{view['email']}: not in the index")
            return
        typer.echo(
            f"{view['email']} ({view['display_name'] or 'no name'}), "
            f"{view['pseudonym']}, first seen {view['first_seen']}"
        )
        for r in view["records"]:
            state = " [removed]" if r["removed_at"] else ""
            state += " [restricted: legal hold]" if r["restricted"] else ""
            typer.echo(
                f"  {r['system']:<12} {r['kind']:<18} {r['external_id'][:40]:<40} "
                f"{r['name'] or ''}{state}"
            )


@app.command()
def erase(
    email: str,
    reason: Annotated[str | None, typer.Option(help="Why (no personal data).")] = None,
    received_at: Annotated[
        str | None,
        typer.Option(help="When the person asked (ISO time); the 48 h clock runs from it."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[bool, typer.Option(help="Run the erasure now and wait for it.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Erase a person from every system (after a dry run and confirmation)."""
    from syncaudit.errors import UsageError

    with guarded(), opened_app() as application:
        from syncaudit.erasure import requests as erasure

        plans = erasure.plan(application, email)
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
                    "refusing to erase without confirmation",
                    next_step="Add --yes, or run it on a terminal.",
                )
            typer.confirm("Erase this person from every system listed above?", abort=True)
        request_id = erasure.submit(
            application, email, reason=reason, received_at=parse_time(received_at)
        )
        if wait:
            _work(application, request_id)
        view = erasure.show(application, request_id)
        if json_out:
            emit_json(view)
        else:
            print_request(view)


def _work(application: App, request_id: str) -> None:
    from syncaudit.erasure.deadlines import watch
    from syncaudit.erasure.worker import worker_slot

    with worker_slot(application) as worker:
        worker.run_until_idle()
    watch(application)


@app.command()
def erasures(
    open_only: Annotated[bool, typer.Option("--open", help="Only requests still open.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List erasure requests with the time left."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import list_requests

        rows = list_requests(application, open_only=open_only, kind="erasure")
        if json_out:
            emit_json(rows)
            return
        if not rows:
            typer.echo("no requests")
        for r in rows:
            typer.echo(f"{r['id']}  {r['state']:<12} {time_left(r):<12} {systems_summary(r)}")


@app.command()
def work(json_out: JsonOpt = False) -> None:
    """Run the erasure worker once over everything due, then exit."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.deadlines import watch
        from syncaudit.erasure.worker import worker_slot

        with worker_slot(application) as worker:
            done = worker.run_until_idle()
        events = watch(application)
        if json_out:
            emit_json({"tasks": done, "deadline_events": [e.__dict__ for e in events]})
        else:
            typer.echo(f"{done} task step(s) executed, {len(events)} deadline event(s)")


@app.command()
def demo(
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the demo's files (config, database, reports) in this folder."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Report language: fi or en.")] = "en",
) -> None:
    """Run the whole product against simulated systems, narrated (no credentials needed)."""
    with guarded():
        from syncaudit.demo import run_demo

        raise typer.Exit(run_demo(keep=keep, lang=lang))
