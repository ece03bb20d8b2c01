"""HTTP plumbing shared by the simulator's servers: answering, logging, faults, list paging."""

from __future__ import annotations

import json
import re
import secrets
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ._common import DEFAULT_PAGE, LIST_MAX_TOP, Fault, RequestRecord, _iso, _Mailbox, _now
from ._core import SimCore


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, sim: SimCore) -> None:
        super().__init__(address, handler)
        self.sim = sim


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    @property
    def sim(self) -> SimCore:
        return self.server.sim

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        body = raw if raw is not None else b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _log(
        self, started: float, status: int, endpoint: str, mailbox: str | None, query: dict[str, str]
    ) -> None:
        path = unquote(urlsplit(self.path).path)
        record = RequestRecord(
            method=self.command,
            path=path,
            query=query,
            status=status,
            time=time.monotonic(),
            started=started,
            endpoint=endpoint,
            mailbox=mailbox,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        with self.sim._lock:
            self.sim.requests.append(record)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self.sim._lock:
            for fault in self.sim.faults:
                if fault.count <= 0:
                    continue
                if fault.method and fault.method != self.command:
                    continue
                if fault.path_contains and fault.path_contains not in unquote(self.path):
                    continue
                if fault.endpoint and not endpoint.startswith(fault.endpoint):
                    continue
                fault.count -= 1
                fault.hits += 1
                return fault
        return None

    def _error_body(self, code: str, message: str) -> dict[str, Any]:
        return {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": _iso(_now()),
                    "request-id": secrets.token_hex(16),
                    "client-request-id": self.headers.get("client-request-id", ""),
                },
            }
        }

    def _answer_fault(self, fault: Fault) -> int | None:
        """Sleep/answer as the fault says; returns the status sent, or None to go on normally."""
        if fault.action is not None:
            fault.action()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status == 0:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.empty_body:
            self._send(fault.status, None, headers)
        else:
            codes = {
                403: "ErrorAccessDenied",
                404: "ErrorItemNotFound",
                429: "TooManyRequests",
                503: "ServiceNotAvailable",
                504: "GatewayTimeout",
            }
            body = fault.body or self._error_body(
                codes.get(fault.status, "InjectedFault"), "Injected by the simulator."
            )
            self._send(fault.status, body, headers)
        return fault.status

    # -- shared paging ----------------------------------------------------------------------------

    def _page_size(self, cap: int) -> int:
        prefer = self.headers.get("Prefer", "")
        match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer)
        return min(int(match.group(1)), cap) if match else min(DEFAULT_PAGE, cap)

    def _list(
        self,
        mb: _Mailbox,
        items: list[dict[str, Any]],
        query: dict[str, str],
        context: str,
        resource_path: str,
    ) -> tuple[int, Any, dict[str, str]]:
        top = int(query.get("$top") or self._page_size(LIST_MAX_TOP))
        top = max(1, min(top, LIST_MAX_TOP))
        skip = int(query.get("$skip") or 0)
        page = items[skip : skip + top]
        select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()]
        if select:
            keep = set(select) | {"id", "@odata.etag"}
            page = [{k: v for k, v in item.items() if k in keep} for item in page]
        payload: dict[str, Any] = {
            "@odata.context": f"{self.sim.graph_url}/$metadata#{context}",
            "value": page,
        }
        if skip + top < len(items):
            params = {k: v for k, v in query.items() if k not in {"$skip", "$top"}}
            params["$top"] = str(top)
            params["$skip"] = str(skip + top)
            qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
            payload["@odata.nextLink"] = f"{self.sim.graph_url}{resource_path}?{qs}"
        return 200, payload, {}
