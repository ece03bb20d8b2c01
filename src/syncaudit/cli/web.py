"""CLI commands of the web console; registered by syncaudit.cli. Heavy imports inside commands.

syncaudit web [--host 127.0.0.1] [--port 8080]   serve the console (Ctrl-C stops it)
syncaudit user add NAME [--password-stdin]      an account for the console
syncaudit user list | remove NAME | passwd NAME [--password-stdin]
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from syncaudit.cli._shared import JsonOpt, emit_json, guarded, opened_app

# syncaudit.cli imports this module while it loads: its helpers are imported inside commands.
app = typer.Typer()
user_app = typer.Typer(help="Accounts of the web console.", no_args_is_help=True)
app.add_typer(user_app, name="user")

StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


@app.command()
def web(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: [web].host, loopback).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: [web].port; 0 picks a free one).")
    ] = None,
) -> None:
    """Serve the owner's web console (sign in with an account from `syncaudit user add`)."""

    with guarded(), opened_app(log_level="info") as application:
        from syncaudit.web.accounts import list_users
        from syncaudit.web.server import ConsoleServer

        settings = application.settings.web
        server = ConsoleServer(
            application,
            host or settings.host,
            settings.port if port is None else port,
        )
        if not list_users(application):
            typer.echo("note: no account yet; create one with `syncaudit user add NAME`", err=True)
        typer.echo(f"serving the console on {server.url} (Ctrl-C stops it)", err=True)
        server.serve()


def _password(from_stdin: bool) -> str:
    from syncaudit.errors import UsageError

    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise UsageError(
            "no terminal to ask the password on",
            next_step="Add --password-stdin and pipe the password in.",
        )
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def user_add(name: str, password_stdin: StdinOpt = False) -> None:
    """Create an account (the password is asked twice, or read from stdin)."""

    with guarded(), opened_app() as application:
        from syncaudit.web.accounts import add_user, check_name

        check_name(name)
        add_user(application, name, _password(password_stdin))
        typer.echo(f"account {name} created")


@user_app.command("passwd")
def user_passwd(name: str, password_stdin: StdinOpt = False) -> None:
    """Set a new password; the account's browsers are signed out."""

    with guarded(), opened_app() as application:
        from syncaudit.web.accounts import set_password

        ended = set_password(application, name, _password(password_stdin))
        typer.echo(f"password of {name} changed; {ended} session(s) signed out")


@user_app.command("remove")
def user_remove(name: str) -> None:
    """Delete an account and sign its browsers out."""

    with guarded(), opened_app() as application:
        from syncaudit.web.accounts import remove_user

        remove_user(application, name)
        typer.echo(f"account {name} removed")


@user_app.command("list")
def user_list(json_out: JsonOpt = False) -> None:
    """Accounts, when their password was set, and how many browsers are signed in."""

    with guarded(), opened_app() as application:
        from syncaudit.web.accounts import list_users

        accounts = list_users(application)
        if json_out:
            emit_json([a.__dict__ for a in accounts])
            return
        if not accounts:
            typer.echo("no accounts; create one with `syncaudit user add NAME`")
        for a in accounts:
            typer.echo(
                f"{a.name:<20} password set {a.password_changed_at:%Y-%m-%d %H:%M}  "
                f"{a.sessions} session(s)"
            )
