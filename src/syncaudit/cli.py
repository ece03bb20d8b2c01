"""The command line: parses, calls the core, prints. Heavy modules load inside commands only.

Exit codes: 0 ok, 1 operational failure, 2 usage or configuration error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from syncaudit.app import App

app = typer.Typer(
    name="syncaudit",
    help="Keep GDPR promises across Outlook, Mailchimp and the accounting export: "
    "know where each person is, erase them everywhere within 48 hours, prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
erasure_app = typer.Typer(
    help="Inspect, confirm and retry one erasure request.", no_args_is_help=True
)
audit_app = typer.Typer(help="The evidence log.", no_args_is_help=True)
app.add_typer(erasure_app, name="erasure")
app.add_typer(audit_app, name="audit")


class Options:
    config: Path | None = None
    verbose: bool = False
    log_format: str = "console"


OPTS = Options()

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $SYNCAUDIT_CONFIG, "
        "./syncaudit.toml, then the user config dir).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def main_options(
    config: ConfigOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logs, tracebacks.")
    ] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="console or json")] = "console",
) -> None:
    OPTS.config, OPTS.verbose, OPTS.log_format = config, verbose, log_format


# -- plumbing -----------------------------------------------------------------------------------


def fail(message: str, next_step: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    if next_step:
        typer.echo(f"next: {next_step}", err=True)
    raise typer.Exit(code)


@contextmanager
def guarded() -> Iterator[None]:
    """Turn every error into one clear line and an exit code; a traceback only with -v."""
    from syncaudit.errors import ConfigError, SyncauditError
    from syncaudit.logging import redact_text

    try:
        yield
    except typer.Exit:
        raise
    except ConfigError as exc:
        fail(exc.message, exc.next_step, exc.exit_code)
    except SyncauditError as exc:
        if OPTS.verbose:
            import traceback

            traceback.print_exc()
        fail(redact_text(exc.message), exc.next_step, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", "Run the command again; work already committed is kept.", 1)
    except Exception as exc:
        if OPTS.verbose:
            import traceback

            traceback.print_exc()
        fail(
            redact_text(f"unexpected {type(exc).__name__}: {exc}"),
            "Run again with -v and report the output (it contains no addresses).",
            1,
        )


@contextmanager
def opened_app(*, log_level: str = "warning") -> Iterator[App]:
    """Commands print their own results; their logs show warnings only (the daemon: info)."""
    from syncaudit import logging as slog
    from syncaudit.app import App
    from syncaudit.config import load_config

    slog.configure(fmt=OPTS.log_format, level="debug" if OPTS.verbose else log_level)
    settings = load_config(OPTS.config)
    application = App(settings)
    slog.set_pseudonymizer(application.pseudo)
    try:
        yield application
    finally:
        application.close()


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def parse_time(text: str | None) -> datetime | None:
    from syncaudit.errors import UsageError

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{text!r} is not an ISO date-time", next_step="Use e.g. 2026-03-01T14:30+02:00"
        ) from None
    if value.tzinfo is None:
        raise UsageError("the time needs a UTC offset", next_step="e.g. 2026-03-01T14:30+02:00")
    return value


def progress_printer() -> Callable[[str, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(system: str, count: int) -> None:
        sys.stderr.write(f"\r  {system}: {count:,} items")
        sys.stderr.flush()

    return show


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
        from syncaudit.setup import init_project

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
            emit_json([_plan_json(p) for p in plans])
            return
        if not json_out:
            _print_plan(plans)
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
            _print_request(view)


def _plan_json(p: Any) -> dict[str, Any]:
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
                "notifies": list(a.notifies),
            }
            for a in p.actions
        ],
    }


def _print_plan(plans: list[Any]) -> None:
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
            if a.notifies:
                typer.echo(f"      notifies: {', '.join(a.notifies)}")


def _work(application: App, request_id: str) -> None:
    from syncaudit.erasure.deadlines import watch
    from syncaudit.erasure.worker import worker_slot

    with worker_slot(application) as worker:
        worker.run_until_idle()
    watch(application)


def _print_request(view: dict[str, Any]) -> None:
    left = f", {view['hours_left']} h left" if view["hours_left"] is not None else ""
    typer.echo(f"request {view['id']}: {view['state']} (deadline {view['deadline']}{left})")
    for t in view["tasks"]:
        extra = f" — {t['last_error']}" if t["last_error"] else ""
        typer.echo(f"  {t['system']:<14} {t['result']}{extra}")
        if t["state"] == "awaiting_manual" and t["instructions"]:
            typer.echo(f"      to do: {t['instructions']}")
            typer.echo(f"      then:  syncaudit erasure confirm {view['id']} {t['system']}")


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


def time_left(row: dict[str, Any]) -> str:
    """A request row's clock: hours left while open, then in time or LATE."""
    if row["hours_left"] is not None:
        return f"{row['hours_left']} h left"
    return "in time" if row["within_deadline"] else "LATE"


def systems_summary(row: dict[str, Any]) -> str:
    return ", ".join(f"{t['system']}={t['result']}" for t in row["tasks"])


@erasure_app.command("show")
def erasure_show(request_id: str, json_out: JsonOpt = False) -> None:
    """The timeline of one request, per system."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import show

        view = show(application, request_id)
        if json_out:
            emit_json(view)
            return
        _print_request(view)
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
        _print_request(show(application, request_id))


@erasure_app.command("retry")
def erasure_retry(request_id: str, system: Annotated[str | None, typer.Argument()] = None) -> None:
    """Queue failed tasks again after fixing their cause."""
    with guarded(), opened_app() as application:
        from syncaudit.erasure.requests import retry

        count = retry(application, request_id, system)
        typer.echo(f"{count} task(s) queued again")


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


def _register_areas() -> None:
    from syncaudit import cli_reports, cli_rights, cli_service, cli_web

    for area in (cli_service, cli_reports, cli_rights, cli_web):
        app.add_typer(area.app)


_register_areas()


def main() -> None:
    app()
