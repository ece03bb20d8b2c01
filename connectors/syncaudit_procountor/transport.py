"""The one place requests to Procountor are sent: session, token, pace, and error mapping.

- One keep-alive `requests.Session`, an explicit (connect, read) timeout on every request.
- Machine-to-machine login: `POST {root}/oauth/token` with the form `grant_type=
  client_credentials, client_id, client_secret, api_key`; the bearer token is reused until
  `RENEW_BEFORE` seconds before its `expires_in` ends, and renewed once on a 401 (then the
  request is sent again; a second 401 is an AuthError).
- A pace of at most `max_requests_per_second` (token requests included), waited through the
  project's clock, so a test clock never sleeps.

Errors, all raised from `get`:

    timeout, refused or reset connection  -> TransientError
    429, 408, 5xx                         -> TransientError(retry_after=Retry-After)
    401 twice, 403                        -> AuthError (credentials or the API user's rights)
    404                                   -> NotFound (a PermanentError: not there)
    other 4xx                             -> Refused (a PermanentError naming the fields)
    a 2xx that is not JSON                -> TransientError

Messages name the request (`what`) and status, and the `field` of Procountor's error messages,
never their `message` text (it may quote what was sent) and never the token or secrets. Reads
are retried by the caller through `syncaudit.retry`; nothing here retries except the one
renewal of an expired token.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import requests
import structlog

from syncaudit.clock import Clock
from syncaudit.errors import AuthError, ConnectorError, PermanentError, TransientError
from syncaudit.retry import retry_after_seconds
from syncaudit_procountor.settings import ProcountorSettings

log = structlog.get_logger(__name__)

RENEW_BEFORE = 300.0  # seconds before expiry a token is replaced
_CONNECT_TIMEOUT = 10.0


class NotFound(PermanentError):
    """404: the invoice or partner is not there (deleted, or never was)."""


class Refused(PermanentError):
    """Procountor refused the request (400...); `status` says which."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class Pace:
    """At most `per_second` requests a second, measured on the project's clock."""

    def __init__(self, per_second: float, clock: Clock) -> None:
        self._interval = timedelta(seconds=1.0 / per_second)
        self._clock = clock
        self._next: datetime | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock.now()
            if self._next is not None and now < self._next:
                self._clock.sleep((self._next - now).total_seconds())
                now = self._next
            self._next = now + self._interval


class Transport:
    def __init__(
        self,
        settings: ProcountorSettings,
        *,
        clock: Clock,
        session: requests.Session | None = None,
    ) -> None:
        self._settings = settings
        self._root = settings.base_url
        self._clock = clock
        self._pace = Pace(settings.max_requests_per_second, clock)
        self._timeout = (min(_CONNECT_TIMEOUT, settings.timeout_seconds), settings.timeout_seconds)
        self._session = session or _session_for(self._root)
        self._token: str | None = None
        self._token_lock = threading.Lock()  # the pull reads with two threads
        self._expires: datetime | None = None
        self.requests_made = 0  # every HTTP request, token requests included
        self.token_requests = 0

    def close(self) -> None:
        self._session.close()

    # -- the token ---------------------------------------------------------------------------

    def _bearer(self, rejected: str | None = None) -> str:
        """The token to send; renewed when it is about to expire or was `rejected` (one
        renewal however many of the reader's threads saw the 401)."""
        with self._token_lock:
            if rejected is not None and rejected == self._token:
                self._token = None
            now = self._clock.now()
            if self._token is None or self._expires is None or now >= self._expires:
                self._login()
            assert self._token is not None
            return self._token

    def _login(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.reveal(),
            "api_key": self._settings.api_key.reveal(),
        }
        self.token_requests += 1
        response = self._send("POST", "/oauth/token", data=form, what="token")
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"procountor token: HTTP {response.status_code} (client id, client secret or API "
                "key rejected)",
                next_step="Check client_id, the secrets named by client_secret_env and "
                "api_key_env, and that the API key belongs to the company and environment of "
                "base_url; see docs/operator-guide.md#procountor.",
            )
        body = self._json(response, "token")
        token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise TransientError("procountor token: the answer holds no access_token")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        self._token = token
        self._expires = self._clock.now() + timedelta(
            seconds=max(seconds - min(RENEW_BEFORE, seconds / 10), 0.0)
        )
        log.info("procountor.token", expires_in=int(seconds))

    # -- requests ----------------------------------------------------------------------------

    def get(self, what: str, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET {root}{path}; the parsed JSON (a dict or a list)."""
        token = self._bearer()
        response = self._authorised("GET", path, params, what, token)
        if response.status_code == 401:
            log.info("procountor.token_rejected", what=what)
            response = self._authorised("GET", path, params, what, self._bearer(rejected=token))
        return self._json(response, what)

    def _authorised(
        self, method: str, path: str, params: Mapping[str, str] | None, what: str, token: str
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return self._send(method, path, params=params, headers=headers, what=what)

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self._pace.wait()
        self.requests_made += 1
        try:
            return self._session.request(
                method,
                self._root + path,
                params=dict(params or {}),
                headers=dict(headers or {}),
                data=dict(data) if data is not None else None,
                timeout=self._timeout,
            )
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            raise TransientError(f"procountor {what}: {type(exc).__name__}") from None
        except requests.exceptions.RequestException as exc:
            raise PermanentError(
                f"procountor {what}: the request could not be made ({type(exc).__name__})",
                next_step="Check base_url of this system.",
            ) from None

    def _json(self, response: requests.Response, what: str) -> Any:
        if not response.ok:
            raise _from_status(what, response, self._clock.now())
        try:
            return response.json()
        except ValueError:
            raise TransientError(
                f"procountor {what}: HTTP {response.status_code} without a JSON body"
            ) from None


def _session_for(root: str) -> requests.Session:
    """A session that reads the environment's proxy and CA settings once, here, instead of on
    every request (requests scans all of os.environ per request when `trust_env` is on: ~0.3 ms,
    a tenth of a page's own work)."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(root))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def _from_status(what: str, response: requests.Response, now: datetime) -> ConnectorError:
    status = response.status_code
    label = f"procountor {what}: HTTP {status}"
    if status in (408, 429) or status >= 500:
        return TransientError(
            label, retry_after=retry_after_seconds(response.headers.get("Retry-After"), now)
        )
    if status in (401, 403):
        return AuthError(
            label + (" (token rejected)" if status == 401 else " (insufficient user rights)"),
            next_step="Give the API client's user the rights to read sales invoices and the "
            "business partner register (docs/operator-guide.md#procountor), then run "
            "`syncaudit check`.",
        )
    if status == 404:
        return NotFound(label)
    fields = sorted({str(e.get("field")) for e in _errors(response) if e.get("field")})
    return Refused(label + (f" (fields: {', '.join(fields)})" if fields else ""), status=status)


def _errors(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = json.loads(response.text or "{}")
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
