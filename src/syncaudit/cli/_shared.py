"""Plumbing every command module shares: options, one error handler, the opened App, output.

`guarded()` is the one place that turns an error into operator text and an exit code
(0 ok, 1 operational failure, 2 usage or configuration error).
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
    from syncaudit.erasure.requests import SystemPlan


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


def time_left(row: dict[str, Any]) -> str:
    """A request row's clock: hours left while open, then in time or LATE."""
    if row["hours_left"] is not None:
        return f"{row['hours_left']} h left"
    return "in time" if row["within_deadline"] else "LATE"


def systems_summary(row: dict[str, Any]) -> str:
    return ", ".join(f"{t['system']}={t['result']}" for t in row["tasks"])


def print_request(view: dict[str, Any]) -> None:
    left = f", {view['hours_left']} h left" if view["hours_left"] is not None else ""
    typer.echo(f"request {view['id']}: {view['state']} (deadline {view['deadline']}{left})")
    for t in view["tasks"]:
        extra = f" — {t['last_error']}" if t["last_error"] else ""
        typer.echo(f"  {t['system']:<14} {t['result']}{extra}")
        if t["state"] == "awaiting_manual" and t["instructions"]:
            typer.echo(f"      to do: {t['instructions']}")
            typer.echo(f"      then:  syncaudit erasure confirm {view['id']} {t['system']}")


def plan_json(p: SystemPlan) -> dict[str, Any]:
    """One system's dry run (erasure or rectification) for `--json`."""
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


def print_plan(plans: list[SystemPlan]) -> None:
    """The dry run an operator reads before confirming."""
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
