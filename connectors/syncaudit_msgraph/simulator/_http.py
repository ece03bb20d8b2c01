"""The Graph server's request handler: routing, authorisation, concurrency, faults."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

from . import calendar, contacts, mail
from ._common import MAILBOX_CONCURRENCY, _HttpError
from .calendar import CalendarRoutes
from .contacts import ContactsRoutes
from .mail import MailRoutes

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name) for m, p, name in [*contacts.ROUTES, *calendar.ROUTES, *mail.ROUTES]
]


class _GraphHandler(ContactsRoutes, CalendarRoutes, MailRoutes):
    """Routes /v1.0 requests; every answer is logged."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        endpoint, args = _route(self.command, parts.path)
        mailbox = args[0].lower() if args else None
        body = self._read_body()
        mb = self.sim._mailboxes.get(mailbox) if mailbox else None
        entered = over = False
        status = 500
        try:
            if mb is not None:
                with self.sim._lock:
                    mb.in_flight += 1
                    entered = True
                    mb.max_in_flight = max(mb.max_in_flight, mb.in_flight)
                    over = mb.in_flight > MAILBOX_CONCURRENCY
            fault = self._take_fault(endpoint)
            fault_status = self._answer_fault(fault) if fault else None
            if fault_status is not None:
                status = fault_status
                return
            self._authorize()
            if endpoint == "unknown":
                raise _HttpError(400, "BadRequest", "Resource not found for the segment.")
            if mb is None:
                raise _HttpError(404, "ErrorInvalidUser", "The requested user is invalid.")
            if mb.denied:
                raise _HttpError(403, "ErrorAccessDenied", "Access to OData is disabled.")
            if over:
                raise _HttpError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    {"Retry-After": "1"},
                )
            handler = getattr(self, "_" + endpoint.replace(".", "_"))
            status, payload, headers = handler(mb, args[1:], query, body)
            self._send(status, payload, headers)
        except _HttpError as err:
            status = err.status
            self._send(err.status, self._error_body(err.code, err.message), err.headers)
        except (ValueError, KeyError, TypeError) as err:
            status = 400
            self._send(400, self._error_body("ErrorInvalidRequest", f"Bad request: {err}"))
        finally:
            if entered and mb is not None:
                with self.sim._lock:
                    mb.in_flight -= 1
            self._log(started, status, endpoint, mailbox, query)

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.sim._lock:
            expiry = self.sim._access_tokens.get(token)
        if expiry is None or expiry < time.time():
            raise _HttpError(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty." if not token else "Lifetime validation failed.",
            )


def _route(method: str, path: str) -> tuple[str, tuple[str, ...]]:
    if path.startswith("/v1.0/"):
        for verb, pattern, name in _ROUTES:
            match = pattern.match(path[len("/v1.0") :])
            if match and verb == method:
                return name, tuple(unquote(a) for a in match.groups())
    return "unknown", ()
