"""The console's ASGI app: the routes, strict headers on every response, the access log.

The access log is written through structlog (`web.request`): the method, the path (request ids,
never addresses: searches are POSTed, and any address is pseudonymised anyway) and the status;
never the query string or the client's address. uvicorn's own access log is off.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncaudit.logging import redact_text
from syncaudit.web import pages
from syncaudit.web.console import HEADERS, Console, Handler

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.web")
STATIC = Path(__file__).with_name("static")
MAX_BODY = 64 * 1024


def _route(
    console: Console,
    path: str,
    handler: Handler,
    methods: tuple[str, ...] = ("GET",),
    *,
    public: bool = False,
) -> Route:
    async def endpoint(request: Request) -> Response:
        form: dict[str, str] = {}
        if request.method == "POST":
            data = await request.form(max_files=0, max_fields=40, max_part_size=MAX_BODY)
            form = {k: v for k, v in data.items() if isinstance(v, str)}
        return await run_in_threadpool(console.dispatch, request, handler, form, public)

    return Route(path, endpoint, methods=list(methods))


class Guard:
    """Security headers on every response (static files and errors too) and the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if not str(scope.get("path", "")).startswith("/static/"):
                    headers["cache-control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "web.request",
                method=scope.get("method"),
                path=redact_text(str(scope.get("path", ""))),  # never the query string
                status=status["code"],
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


def create_app(app: App, *, mark_output: bool = False) -> Starlette:
    """The console over an App (settings, database, connectors)."""
    console = Console(app, mark_output=mark_output)
    r = functools.partial(_route, console)
    routes = [
        r("/signin", pages.signin_form, public=True),
        r("/signin", pages.signin, ("POST",), public=True),
        r("/signout", pages.signout, ("POST",)),
        r("/language", pages.language, ("POST",), public=True),
        r("/", pages.overview),
        r("/person", pages.person_form),
        r("/person", pages.person_search, ("POST",)),
        r("/requests/new", pages.new_request_form),
        r("/requests/new", pages.new_request, ("POST",)),
        r("/requests", pages.requests_list),
        r("/requests/{request_id}", pages.request_detail),
        r("/requests/{request_id}/confirm", pages.confirm_task, ("POST",)),
        r("/requests/{request_id}/retry", pages.retry_tasks, ("POST",)),
        r("/reports", pages.reports),
        r("/reports", pages.write_report, ("POST",)),
        r("/reports/files/{name}", pages.report_file),
        r("/exports", pages.exports),
        r("/exports/{request_id}/{fmt}", pages.export_download),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    application = Starlette(routes=routes, max_body_size=MAX_BODY)
    application.add_middleware(Guard)
    application.state.console = console
    return application


__all__ = ["MAX_BODY", "Guard", "create_app"]
