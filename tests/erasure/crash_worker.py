"""The worker a crash test kills, run in a process of its own.

`start(config)` forks it from a multiprocessing fork server that has already imported
sqlalchemy, the connectors and msgraph-sdk, so a start costs a fraction of a second instead of
one and a half. Start-up (migrations check, connectors built, a Graph token fetched) happens
before the child reports "ready", so the parent's random kill delay falls in the work itself;
several workers started together begin together on "go".
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from syncaudit import logging as slog
from syncaudit.app import App
from syncaudit.config import load_config
from syncaudit.erasure.worker import worker_slot

PRELOAD = [
    "sqlalchemy.dialects.sqlite",
    "alembic.command",
    "syncaudit.app",
    "syncaudit.erasure.worker",
    "syncaudit_msgraph.connector",
    "syncaudit_mailchimp.connector",
    "syncaudit_accounting.connector",
    "msgraph.graph_service_client",
    "msgraph_core",
    "azure.identity",
    "kiota_http.httpx_request_adapter",
    "mailchimp_marketing",
]


def work(config: str, report: Connection) -> None:
    """The child: build the App, say "ready", wait for "go", run the worker until idle, say
    "done N" (N tasks executed)."""
    import os

    os.environ.update(report.recv())
    slog.configure(fmt="json", level="error")
    app = App(load_config(Path(config)))
    try:
        for system in app.systems():
            app.connector(system.name).check()
        with worker_slot(app) as worker:
            report.send("ready")
            report.recv()
            done = worker.run_until_idle()
        report.send(f"done {done}")
    finally:
        app.close()


def start(config: Path, env: dict[str, str]) -> tuple[BaseProcess, Connection]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    ours, theirs = context.Pipe()
    process = context.Process(target=work, args=(str(config), theirs), daemon=True)
    process.start()
    theirs.close()
    ours.send(env)
    return process, ours
