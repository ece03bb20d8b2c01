"""The Graph transport: one event loop per connector, msgraph-sdk underneath, typed errors out.

    GraphSession.run(coro)        -- runs a coroutine on the connector's own loop (a thread)
    GraphSession.read(...)        -- GET, JSON from raw bytes; retried in place
    GraphSession.write(...)       -- PATCH/POST; one attempt (the erasure engine retries writes)

Throttling. The SDK's RetryHandler is switched off: it sleeps on the event loop's own clock
(tests cannot move it), reads only whole-second Retry-After values (a decimal falls back to ~3 s
of backoff), retries writes blindly, and under our own retries would multiply attempts (4 x 6).
Instead `read` retries 429/503/504/5xx and transport errors itself, waiting
max(Retry-After, backoff) through the connector's Clock, outside the mailbox's concurrency slot,
within RetryPolicy's bounds (attempts and total time); then raises TransientError carrying the
last Retry-After. Writes raise TransientError(retry_after) at once.

Concurrency: at most 4 requests in flight per mailbox (Outlook's MailboxConcurrency limit).

Errors: 401 and credential failures -> AuthError; 403 -> PermanentError (permissions or an
application access policy); 404 -> NotFound; 410, or any other 4xx whose error code is
syncStateNotFound, syncStateInvalid or resyncRequired (any casing) -> SyncStateGone (the
delta-query overview: "a 40X-series error with error codes such as syncStateNotFound");
429/5xx/network -> TransientError; other 4xx -> PermanentError. NotFound and SyncStateGone are
PermanentErrors, so one that nobody expects still stops only its own step. Messages name the
operation, never a person.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Coroutine
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog

from syncaudit.clock import Clock
from syncaudit.errors import AuthError, PermanentError, TransientError
from syncaudit.retry import RetryPolicy

from ._requests import Build
from .settings import MsGraphSettings

T = TypeVar("T")
log = structlog.get_logger(__name__)

MAILBOX_CONCURRENCY = 4
PERMISSIONS_STEP = (
    "Grant the app registration Contacts.ReadWrite and Calendars.ReadWrite (application) with "
    "admin consent (Mail.ReadWrite too when coaching-summary retention is configured), and "
    "check that any application access policy includes this mailbox."
)


# Error codes that mean "this delta token is no longer usable: read the stream from the start".
SYNC_RESET_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


class NotFound(PermanentError):
    """404: the item (or folder, or mailbox) is not there; `code` says which Graph meant."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SyncStateGone(PermanentError):
    """The delta or skip token expired or was reset: the stream needs a full round."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: an integer, a decimal, or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def map_error(exc: BaseException, what: str) -> BaseException:
    """One place where SDK, HTTP and credential errors become the contract's errors."""
    import httpx
    from azure.core.exceptions import (
        ClientAuthenticationError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from kiota_abstractions.api_error import APIError

    if isinstance(exc, APIError):
        return _map_status(exc, what)
    if isinstance(exc, ClientAuthenticationError):
        return AuthError(f"Microsoft Graph: the credential was refused while {what}")
    if isinstance(exc, (httpx.TransportError, ServiceRequestError, ServiceResponseError)):
        return TransientError(f"Microsoft Graph: network error while {what} ({type(exc).__name__})")
    return exc


def _map_status(exc: Any, what: str) -> BaseException:
    status = int(exc.response_status_code or 0)
    headers = exc.response_headers or {}
    codes = _error_codes(getattr(exc, "error", None))
    code = codes[0] if codes else ""
    label = f"Microsoft Graph answered {status} {code}".rstrip() + f" while {what}"
    reset = next((c for c in codes if c.lower() in SYNC_RESET_CODES), None)
    if status == 410 or (reset and 400 <= status < 500 and status not in (401, 408, 429)):
        return SyncStateGone(label, status, reset or code)
    if status == 404:
        return NotFound(label, code)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
        return TransientError(label, retry_after=retry_after)
    if status == 401:
        return AuthError(label)
    if status == 403:
        return PermanentError(label, next_step=PERMISSIONS_STEP)
    return PermanentError(label)


def _error_codes(error: Any) -> list[str]:
    """The error's code, then any more specific ones Graph nests (innerError, details)."""
    if error is None:
        return []
    codes = [str(error.code)] if getattr(error, "code", None) else []
    inner = getattr(error, "inner_error", None)
    extra = getattr(inner, "additional_data", None) or {}
    if extra.get("code"):
        codes.append(str(extra["code"]))
    details = getattr(error, "details", None) or ()
    codes += [str(d.code) for d in details if getattr(d, "code", None)]
    return codes


class _LoopThread:
    """An event loop running in a daemon thread for the connector's lifetime."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="msgraph-loop", daemon=True
                )
                self._thread.start()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class GraphSession:
    """msgraph-sdk client, credential and per-mailbox concurrency, created on first use."""

    def __init__(self, settings: MsGraphSettings, clock: Clock, policy: RetryPolicy) -> None:
        self.settings = settings
        self.clock = clock
        self.policy = policy
        self._thread = _LoopThread()
        self._client: Any = None
        self._http: Any = None
        self._credential: Any = None
        self._slots: dict[str, asyncio.Semaphore] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._thread.run(coro)

    # -- set-up ---------------------------------------------------------------------------------

    def _make_credential(self) -> Any:
        from azure.identity import CertificateCredential, ClientSecretCredential

        s = self.settings
        options: dict[str, Any] = {"authority": s.authority, "disable_instance_discovery": True}
        if s.ca_file:
            options["connection_verify"] = s.ca_file
        if s.client_certificate_path:
            return CertificateCredential(
                s.tenant_id,
                s.client_id,
                certificate_path=s.client_certificate_path,
                password=s.client_certificate_password.reveal() or None,
                **options,
            )
        return ClientSecretCredential(s.tenant_id, s.client_id, s.client_secret.reveal(), **options)

    def _make_client(self) -> Any:
        import httpx
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_http.kiota_client_factory import DEFAULT_CONNECTION_TIMEOUT
        from kiota_http.middleware.options import RetryHandlerOption
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as graph_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory

        options = dict(graph_options)
        options[RetryHandlerOption.get_key()] = RetryHandlerOption(
            max_retries=0, should_retry=False
        )
        # The SDK's default client, with our read timeout (a hung request becomes a
        # TransientError in `map_error` instead of waiting the SDK's 100 s).
        seconds = self.settings.timeout_seconds
        extra: dict[str, Any] = {}
        if self.settings.ca_file:  # otherwise httpx's defaults (SSL_CERT_FILE etc.) hold
            import ssl

            extra["verify"] = ssl.create_default_context(cafile=self.settings.ca_file)
        http: Any = httpx.AsyncClient(
            timeout=httpx.Timeout(seconds, connect=min(seconds, DEFAULT_CONNECTION_TIMEOUT)),
            http2=True,
            **extra,
        )
        http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
        self._http = http
        self._credential = self._make_credential()
        host = urlsplit(self.settings.base_url).hostname or ""
        auth = AzureIdentityAuthenticationProvider(self._credential, allowed_hosts=[host])
        adapter = GraphRequestAdapter(auth, http)
        adapter.base_url = self.settings.base_url.rstrip("/")
        return GraphServiceClient(request_adapter=adapter)

    def _slot(self, mailbox: str) -> asyncio.Semaphore:
        if mailbox not in self._slots:
            self._slots[mailbox] = asyncio.Semaphore(MAILBOX_CONCURRENCY)
        return self._slots[mailbox]

    # -- requests -------------------------------------------------------------------------------

    async def _send(self, mailbox: str, build: Build, what: str, *, body: bool) -> bytes | None:
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        if self._client is None:
            self._client = self._make_client()
        async with self._slot(mailbox):
            try:
                request = build(self._client)
                adapter = self._client.request_adapter
                if body:
                    raw: bytes | None = await adapter.send_primitive_async(
                        request, "bytes", {"XXX": ODataError}
                    )
                    return raw
                await adapter.send_no_response_content_async(request, {"XXX": ODataError})
                return None
            except Exception as exc:
                # `from None`: the SDK's error text can quote a mailbox or item; ours does not
                raise map_error(exc, what) from None

    async def read(self, mailbox: str, build: Build, what: str) -> dict[str, Any]:
        """GET and parse JSON; retries transient failures in place (see the module doc)."""
        start = self.clock.now()
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = await self._send(mailbox, build, what, body=True)
                return json.loads(raw) if raw else {}
            except TransientError as err:
                spent = (self.clock.now() - start).total_seconds()
                if attempt >= self.policy.max_attempts or spent >= self.policy.max_total_seconds:
                    raise
                delay = self.policy.delay(attempt, err.retry_after)
                log.info("msgraph.retry", what=what, attempt=attempt, wait=round(delay, 3))
                await asyncio.get_running_loop().run_in_executor(None, self.clock.sleep, delay)

    async def write(self, mailbox: str, build: Build, what: str, *, body: bool = False) -> Any:
        """One attempt; a 429 becomes TransientError(retry_after) for the engine to schedule."""
        raw = await self._send(mailbox, build, what, body=body)
        return json.loads(raw) if raw else None

    async def read_all(self, mailbox: str, build: Build, what: str) -> list[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink."""
        from . import _requests

        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        page = await self.read(mailbox, build, what)
        while True:
            items.extend(page.get("value") or ())
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return items
            if next_link in seen:
                raise PermanentError(f"Microsoft Graph repeated a page link while {what}")
            seen.add(next_link)
            page = await self.read(mailbox, _requests.link(mailbox, next_link, None), what)

    # -- tear-down ------------------------------------------------------------------------------

    async def _aclose(self) -> None:
        if self._http is not None:
            # msgraph-core's AsyncGraphTransport has no aclose(): close the pool it wraps.
            transports = [self._http._transport, *self._http._mounts.values()]
            for transport in transports:
                inner = getattr(transport, "transport", None)
                if inner is not None:
                    await inner.aclose()
            await self._http.aclose()
            for _ in range(3):  # let the transports' close callbacks run before the loop stops
                await asyncio.sleep(0)
        if self._credential is not None:
            self._credential.close()
        self._client = self._http = self._credential = None
        self._slots.clear()

    def close(self) -> None:
        if self._client is not None:
            self.run(self._aclose())
        self._thread.close()


async def gather_or_cancel(*aws: Awaitable[T]) -> list[T]:
    """asyncio.gather that cancels the others as soon as one fails, then re-raises."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
