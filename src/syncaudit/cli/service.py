"""CLI commands of the service area. Heavy imports inside commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app

app = typer.Typer()


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Run every job that is due once, then exit (cron).")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            help="Seconds the current task may take to finish after SIGTERM/SIGINT before it "
            "is released; a second signal exits at once."
        ),
    ] = 8.0,
    json_out: JsonOpt = False,
) -> None:
    """Run the service: scheduled pulls, the erasure worker, deadline watch, monthly report."""

    with guarded(), opened_app(log_level="info") as application:
        from syncaudit.service import Service

        companions = []
        if application.settings.web.enabled and not once:
            from syncaudit.web.server import companion

            companions.append(companion(application.settings, application.clock))
        summary = Service(application).run(once=once, grace=grace, companions=companions)
        if not once:
            return
        if json_out:
            emit_json(
                {
                    "jobs": [t.__dict__ for t in summary.ticks],
                    "tasks": summary.tasks,
                    "deadline_events": [e.__dict__ for e in summary.deadline_events],
                    "notifications": summary.notifications,
                }
            )
        else:
            for t in summary.ticks:
                typer.echo(f"{t.job:<22} {t.tick:%Y-%m-%d %H:%M:%S}  {t.status}  {t.detail}")
            typer.echo(
                f"{len(summary.ticks)} job(s) run, {summary.tasks} erasure task step(s), "
                f"{len(summary.deadline_events)} deadline event(s), "
                f"{summary.notifications} notification(s)"
            )
        if not summary.ok:
            raise typer.Exit(1)


@app.command()
def status(json_out: JsonOpt = False) -> None:
    """What the service did and will do: pulls, queue, open requests, breaches, schedule."""

    with guarded(), opened_app() as application:
        from syncaudit.service.status import collect

        view = collect(application)
        if json_out:
            emit_json(view)
        else:
            _print(view)


def _print(view: dict[str, Any]) -> None:
    worker = view["worker"]
    state = {True: f"running ({worker.get('holder')})", False: "not running"}
    typer.echo(f"service: {state.get(worker['running'], worker.get('note', 'unknown'))}")
    typer.echo("systems:")
    for s in view["systems"]:
        ok = s["last_ok"]["at"] if s["last_ok"] else "never"
        line = f"  {s['name']:<14} last ok {ok}" if s["pulls"] else f"  {s['name']:<14} no pulls"
        if s["last_failed"]:
            line += f"; last failure {s['last_failed']['at']}: {s['last_failed']['error']}"
        if s["running_since"]:
            line += f"; pulling since {s['running_since']}"
        typer.echo(line + ("" if s["enabled"] else " (disabled)"))
    q = view["queue"]
    typer.echo(
        f"queue: {q['due_now']} due, {q['waiting_retry']} waiting to retry, {q['running']} "
        f"running, {q['awaiting_manual']} awaiting you, {q['failed']} failed"
    )
    typer.echo(f"open requests: {len(view['open_requests'])}")
    for r in view["open_requests"]:
        tasks = ", ".join(f"{k}={v}" for k, v in r["tasks"].items())
        typer.echo(f"  {r['id']}  {r['state']:<12} {r['hours_left']} h left  {tasks}")
    if view["pending_by_mail"]:
        typer.echo(f"requests by mail waiting for review: {len(view['pending_by_mail'])}")
        for r in view["pending_by_mail"]:
            typer.echo(
                f"  {r['id']}  {r['kind']:<13} {r['verification']:<12} {r['hours_left']} h left, "
                f"statutory {r['statutory_days_left']} d  (syncaudit request approve {r['id']})"
            )
    typer.echo(f"breaches: {len(view['breaches'])}")
    for b in view["breaches"]:
        typer.echo(f"  {b['id']}  deadline {b['deadline']}  now {b['state']}")
    typer.echo("schedule:")
    for j in view["schedule"]:
        when = "due now" if j["due_now"] else f"next {j['next_at']}"
        last = j["last_ok"]["tick"] if j["last_ok"] else "never"
        typer.echo(f"  {j['job']:<22} {when:<32} last ok {last}")
    typer.echo(f"audit chain: {view['audit']['entries']} entries, head {view['audit']['head']}")


tombstones_app = typer.Typer(
    help="Tombstones (keyed hashes of erased addresses) in and out, for backups.",
    no_args_is_help=True,
)
app.add_typer(tombstones_app, name="tombstones")


@tombstones_app.command("export")
def tombstones_export(
    path: Annotated[Path, typer.Argument(help="File to write (JSON lines, mode 0600).")],
) -> None:
    """Write every tombstone to a file; keep it with (and newer than) the database backups."""

    with guarded(), opened_app() as application:
        from syncaudit.erasure.tombstones import export_tombstones

        count = export_tombstones(application, path)
        typer.echo(f"{count} tombstone(s) written to {path}")


@tombstones_app.command("import")
def tombstones_import(
    path: Annotated[Path, typer.Argument(help="A file from `syncaudit tombstones export`.")],
    json_out: JsonOpt = False,
) -> None:
    """After restoring a backup: add missing tombstones and forget those people again."""

    with guarded(), opened_app() as application:
        from syncaudit.erasure.tombstones import import_tombstones

        result = import_tombstones(application, path)
        if json_out:
            emit_json(result.__dict__)
        else:
            typer.echo(
                f"{result.read} read, {result.added} added, {result.purged} person(s) the "
                "restored database still held are forgotten again"
            )
