"""The simulator's state and the test hooks every resource shares (no HTTP here)."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import ssl
import threading
import time
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from typing import Any

from ._common import (
    DELETED_ITEMS,
    Fault,
    Notification,
    RequestRecord,
    SideEffect,
    _b64url,
    _DeltaState,
    _Mailbox,
    _new_id,
)


class SimCore:
    """Mailboxes, delta tokens, access tokens and the logs; resources add their state on top."""

    def __init__(
        self,
        *,
        tenant_id: str = "11111111-2222-3333-4444-555555555555",
        client_id: str = "66666666-7777-8888-9999-000000000000",
        client_secret: str | None = None,
        token_lifetime: int = 3599,
        partial_delta: bool = True,
        series_master_in_delta: bool = True,
    ) -> None:
        """`partial_delta`: incremental delta items carry only the properties that changed.
        `series_master_in_delta`: calendarView delta returns series masters beside their
        occurrences (reported behaviour); False follows the reference's silence about them."""
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.token_lifetime = token_lifetime
        self.partial_delta = partial_delta
        self.series_master_in_delta = series_master_in_delta
        self.requests: list[RequestRecord] = []
        self.notifications: list[Notification] = []
        self.side_effects: list[SideEffect] = []
        self.sent_mail: list[dict[str, Any]] = []
        self.sent_conversations: list[str] = []  # the conversationId of each sent_mail entry
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._tokens: dict[str, _DeltaState] = {}
        self._expired: dict[str, tuple[int, str]] = {}  # forgotten token -> (status, code)
        self._access_tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self._cert_thumbprints: dict[str, bytes] = {}  # x5t / x5t#S256 -> certificate (DER)
        self._seq = itertools.count(1)
        self._graph: ThreadingHTTPServer | None = None
        self._login: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._tmp: str | None = None
        self.ca_file = ""

    @property
    def graph_url(self) -> str:
        assert self._graph is not None, "start() the simulator first"
        return f"http://127.0.0.1:{self._graph.server_address[1]}/v1.0"

    @property
    def authority(self) -> str:
        assert self._login is not None, "start() the simulator first"
        return f"https://127.0.0.1:{self._login.server_address[1]}"

    # -- test hooks -------------------------------------------------------------------------------

    def inject(self, **kwargs: Any) -> Fault:
        """Queue a fault: `inject(status=429, retry_after="1", count=1, path_contains="delta")`."""
        fault = Fault(**kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def count(
        self, endpoint: str | None = None, *, method: str | None = None, status: int | None = None
    ) -> int:
        return len(self.select(endpoint, method=method, status=status))

    def select(
        self, endpoint: str | None = None, *, method: str | None = None, status: int | None = None
    ) -> list[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (endpoint is None or r.endpoint == endpoint or r.endpoint.startswith(endpoint))
                and (method is None or r.method == method)
                and (status is None or r.status == status)
            ]

    def graph_requests(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.endpoint not in {"token", "openid"}]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.notifications.clear()
            self.side_effects.clear()
            self.sent_mail.clear()
            self.sent_conversations.clear()

    def max_concurrency(self, mailbox: str) -> int:
        with self._lock:
            return self._mailboxes[mailbox.lower()].max_in_flight

    def duplicated_side_effects(self) -> list[tuple[str, str, str]]:
        """(mailbox, action, item) done more than once: an erasure that was not idempotent."""
        seen: dict[tuple[str, str, str], int] = {}
        with self._lock:
            for effect in self.side_effects:
                key = (effect.mailbox, effect.action, effect.item_id)
                seen[key] = seen.get(key, 0) + 1
        return [key for key, n in seen.items() if n > 1]

    def expire_delta_tokens(
        self, mailbox: str | None = None, *, status: int = 410, code: str = "SyncStateNotFound"
    ) -> int:
        """Forget sync states: the next request with their links answers `status` / `code`
        (Graph: 410, or "a 40X-series error with error codes such as syncStateNotFound";
        errors.md adds resyncRequired)."""
        with self._lock:
            gone = [
                t
                for t, s in self._tokens.items()
                if mailbox is None or s.mailbox == mailbox.lower()
            ]
            for token in gone:
                del self._tokens[token]
                self._expired[token] = (status, code)
            return len(gone)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._access_tokens.clear()

    def deny_mailbox(self, upn: str, denied: bool = True) -> None:
        """Application access policy: the mailbox answers 403 ErrorAccessDenied."""
        with self._lock:
            self._mailboxes[upn.lower()].denied = denied

    def register_certificate(self, cert_pem: bytes) -> None:
        """Accept client assertions signed for this certificate (certificate credentials)."""
        der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
        with self._lock:
            self._cert_thumbprints[_b64url(hashlib.sha1(der).digest())] = der  # noqa: S324
            self._cert_thumbprints[_b64url(hashlib.sha256(der).digest())] = der

    def issue_token(self) -> str:
        """An access token, as the token endpoint would give (for bare-HTTP benchmarks)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[token] = time.time() + self.token_lifetime
        return token

    # -- out-of-band state ------------------------------------------------------------------------

    def add_mailbox(self, upn: str, display_name: str | None = None) -> str:
        with self._lock:
            key = upn.lower()
            if key not in self._mailboxes:
                self._mailboxes[key] = _Mailbox(
                    upn=upn, display_name=display_name or upn, default_folder_id=_new_id("AQMkAD")
                )
            return upn

    def mailbox(self, upn: str) -> _Mailbox:
        return self._mailboxes[upn.lower()]

    def default_folder_id(self, upn: str) -> str:
        return self.mailbox(upn).default_folder_id

    def in_deleted_items(self, upn: str, item_id: str) -> bool:
        with self._lock:
            return item_id in self.mailbox(upn).deleted

    def is_purged(self, upn: str, item_id: str) -> bool:
        with self._lock:
            return item_id in self.mailbox(upn).purged

    # -- internals shared by the handlers ---------------------------------------------------------

    def _touch(
        self, mb: _Mailbox, collection: str, item_id: str, fields: Iterable[str] | None = None
    ) -> None:
        """Log a change; `fields`: the properties changed (None: the item is new here)."""
        changed = None if fields is None else frozenset(fields)
        mb.changes.append((next(self._seq), collection, item_id, changed))

    def _delete_item(self, mb: _Mailbox, kind: str, item_id: str, *, purge: bool) -> None:
        store = mb.contacts if kind == "contact" else mb.events
        item = store.pop(item_id, None)
        if item is not None:
            collection = "folder:" + item["parentFolderId"] if kind == "contact" else "calendar"
            self._touch(mb, collection, item_id)
            mb.event_times.pop(item_id, None)
            if purge:
                mb.purged.add(item_id)
            else:
                if kind == "contact":
                    item["parentFolderId"] = DELETED_ITEMS
                mb.deleted[item_id] = (kind, item)
        elif purge and item_id in mb.deleted:
            del mb.deleted[item_id]
            mb.purged.add(item_id)

    def _notify(
        self, mb: _Mailbox, event: dict[str, Any], kind: str, recipients: Iterable[str]
    ) -> None:
        people = tuple(sorted({r for r in recipients if r and r != mb.upn.lower()}))
        if people:
            self.notifications.append(
                Notification(mb.upn, event["id"], kind, people, str(event.get("subject") or ""))
            )

    def _effect(self, mb: _Mailbox, action: str, item_id: str) -> None:
        self.side_effects.append(SideEffect(mb.upn, action, item_id, time.monotonic()))


# ---------------------------------------------------------------------------------------------
# JSON shapes
