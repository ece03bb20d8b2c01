"""The official client, wired for syncaudit: one place where every call is made and mapped.

`mailchimp-marketing` 3.0.80 sends each request with a bare `requests.get/post/...` (no Session,
no retries, timeout 120 s) and hides the response of a failed call. `Transport` keeps the client
(URL building, query serialisation, auth, parsing) but replaces its `ApiClient.request` method on
this one instance with ours, which

- sends through a keep-alive `requests.Session` (or, if `reuse_connections = false`, one
  connection per call as the client does), with an explicit (connect, read) timeout;
- lets at most `max_connections` requests be in flight at once;
- remembers the last response of the calling thread, so a failure's `Retry-After` can be read.

Errors, all raised from `Transport.call`:

    ApiClientError, status None (transport) -> TransientError (timeouts, refused connections)
                                               PermanentError (a malformed base_url)
    429, 5xx, 408                         -> TransientError(retry_after=Retry-After header)
    401, 403 with a problem body          -> AuthError
    403 with an empty body                -> TransientError (Mailchimp sheds load this way)
    404                                   -> NotFound (a PermanentError: "not there")
    other 4xx                             -> Refused (a PermanentError carrying the title)
    a non-OK Response returned, not raised (the client's empty-body pitfall) -> as above
    an OK Response with no body where data was expected -> TransientError

Messages carry the status and the problem's `title` only: the `detail` of Mailchimp's problems
often quotes the email address, and paths hold subscriber hashes, so neither is ever included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from syncaudit.errors import AuthError, ConnectorError, PermanentError, TransientError
from syncaudit_mailchimp.settings import MailchimpSettings

MAX_RETRY_AFTER = 3600.0
_CONNECT_TIMEOUT = 10.0


class NotFound(PermanentError):
    """404: the audience or member is not there (for a member: never was, or deleted)."""


class Refused(PermanentError):
    """Mailchimp refused the request (400/405...); `title` is the problem's title."""

    def __init__(self, message: str, *, status: int, title: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title


def build_client(settings: MailchimpSettings) -> Any:
    """The official client, configured; `base_url` (simulator, proxy) replaces the host."""
    import mailchimp_marketing

    client = mailchimp_marketing.Client()
    client.set_config({"api_key": settings.api_key.reveal(), "timeout": settings.timeout_seconds})
    if settings.base_url:
        client.api_client.host = settings.base_url
    return client


class Transport:
    def __init__(self, settings: MailchimpSettings, *, client: Any | None = None) -> None:
        self.client = client if client is not None else build_client(settings)
        self._api = self.client.api_client
        self._timeout = (min(_CONNECT_TIMEOUT, settings.timeout_seconds), settings.timeout_seconds)
        self._gate = threading.BoundedSemaphore(settings.max_connections)
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.requests_made = 0
        self._session: requests.Session | None = None
        if settings.reuse_connections:
            session = requests.Session()
            adapter = HTTPAdapter(
                pool_connections=1, pool_maxsize=settings.max_connections, pool_block=True
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        # Instance attribute shadows ApiClient.request for this client only.
        self._api.request = self._request

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # -- the one place requests are sent ---------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> requests.Response:
        """Same contract as ApiClient.request in 3.0.80 (auth, JSON body), through our session."""
        if method not in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"unsupported HTTP method {method}")
        send_headers = dict(headers or {})
        auth = ("user", self._api.api_key) if self._api.is_basic_auth else None
        if self._api.is_oauth:
            send_headers["Authorization"] = "Bearer " + self._api.access_token
        data = json.dumps(body) if method in ("POST", "PUT", "PATCH") else None
        self._local.response = None
        sender = self._session.request if self._session is not None else requests.request
        with self._gate:
            with self._count_lock:
                self.requests_made += 1
            response = sender(
                method,
                url,
                params=query_params,
                headers=send_headers,
                data=data,
                auth=auth,
                timeout=self._timeout,
            )
        self._local.response = response
        return response

    # -- calls -----------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[Any], Any], *, expect_body: bool = True) -> Any:
        """Run `fn(client)` once; return its JSON (a dict) or None for an empty 2xx."""
        from mailchimp_marketing.api_client import ApiClientError

        self._local.response = None
        try:
            result = fn(self.client)
        except ApiClientError as err:
            raise self._from_client_error(what, err) from None
        if isinstance(result, requests.Response):
            return self._from_response(what, result, expect_body=expect_body)
        if expect_body and not isinstance(result, dict):
            raise TransientError(f"mailchimp {what}: unexpected response body")
        return result

    def _from_response(self, what: str, response: requests.Response, *, expect_body: bool) -> Any:
        if not response.ok:
            return_problem = _problem_from_text(response.text)
            raise self._from_status(what, response.status_code, return_problem, response)
        text = response.text.strip()
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                return data
        if expect_body:
            raise TransientError(
                f"mailchimp {what}: HTTP {response.status_code} with an empty body",
                next_step="Nothing to do: syncaudit retries; if it persists, check base_url.",
            )
        return None

    def _from_client_error(self, what: str, err: Any) -> ConnectorError:
        status = err.status_code
        if status is None:
            return _transport_error(what, err.text)
        problem = err.text if isinstance(err.text, dict) else _problem_from_text(err.text)
        return self._from_status(what, int(status), problem, self._local.response)

    def _from_status(
        self,
        what: str,
        status: int,
        problem: dict[str, Any],
        response: requests.Response | None,
    ) -> ConnectorError:
        title = str(problem.get("title") or "").strip()
        label = f"mailchimp {what}: HTTP {status}" + (f" {title}" if title else "")
        if status in {408, 429} or status >= 500:
            return TransientError(label, retry_after=_retry_after(response))
        if status == 403 and not problem:
            return TransientError(label + " (empty body: load shedding)")
        if status in (401, 403):
            return AuthError(label)
        if status == 404:
            return NotFound(label)
        return Refused(label, status=status, title=title)


def _problem_from_text(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _transport_error(what: str, cause: Any) -> ConnectorError:
    kind = type(cause).__name__
    if isinstance(cause, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        return TransientError(f"mailchimp {what}: {kind}")
    if isinstance(cause, requests.exceptions.RequestException | ValueError):
        return PermanentError(
            f"mailchimp {what}: request could not be made ({kind})",
            next_step="Check base_url and the API key's data-centre suffix.",
        )
    return TransientError(f"mailchimp {what}: {kind}")


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
