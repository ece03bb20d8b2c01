"""Serving the console with uvicorn: `syncaudit web`, and a thread of `syncaudit run`.

The socket is bound here, so port 0 picks a free port and the log line `web.serving` says which
one. uvicorn's access log is off (the console logs requests itself, see web.app.Guard), and so
are its Server header and proxy-header rewriting (the console decides what to trust).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
import uvicorn

from syncaudit.app import App
from syncaudit.errors import ConfigError
from syncaudit.web.app import create_app

if TYPE_CHECKING:
    from syncaudit.clock import Clock
    from syncaudit.config import Settings

log = structlog.get_logger("syncaudit.web")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stop: threading.Event | None) -> None:
        super().__init__(config)
        self.stop = stop

    async def on_tick(self, counter: int) -> bool:
        if self.stop is not None and self.stop.is_set():
            return True
        return await super().on_tick(counter)


class ConsoleServer:
    """The console bound to host:port; `serve()` blocks until stopped."""

    def __init__(self, app: App, host: str, port: int, *, stop: threading.Event | None = None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise ConfigError(
                [f"web: cannot listen on {host}:{port}: {exc.strerror}"], source="web console"
            ) from None
        self.sock.listen(64)
        self.host, self.port = host, self.sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(app),
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self.server = _Server(config, stop)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve(self) -> None:
        log.info("web.serving", url=self.url)
        try:
            self.server.run(sockets=[self.sock])
        except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised Ctrl-C
            pass
        finally:
            self.sock.close()
            log.info("web.stopped")


def companion(settings: Settings, clock: Clock) -> Callable[[threading.Event], None]:
    """For `syncaudit run` with `[web] enabled`: the console in a thread of the service, with
    its own App. The port is bound now, so a busy port stops the service before it starts."""
    app = App(settings, clock=clock)
    try:
        server = ConsoleServer(app, settings.web.host, settings.web.port)
    except BaseException:
        app.close()
        raise

    def run(stop: threading.Event) -> None:
        server.server.stop = stop
        try:
            server.serve()
        finally:
            app.close()

    return run
