"""A Microsoft Graph simulator on loopback: Outlook contacts and calendars, plus a token endpoint.

Standard library only, except `cryptography`, imported when the server starts, to make the
self-signed certificate of the token endpoint (so the real `azure-identity` credentials can talk
to it over TLS: MSAL refuses an `http://` authority).

Two servers, each a `ThreadingHTTPServer` on 127.0.0.1 with a free port, in daemon threads:

- Graph, plain HTTP (kiota accepts `http://` for loopback): `graph_url` ends in `/v1.0`.
- Login, HTTPS with a self-signed certificate made at start: `authority`; trust it with
  `ca_file` (the certificate itself is its own CA).

Served endpoints (paths under /v1.0; `{u}` is a mailbox's address):

    GET  /users/{u}/contactFolders                 top-level child folders of the default folder
    GET  /users/{u}/contactFolders/{f}/childFolders
    GET  /users/{u}/contacts                       default folder ($filter, $select, $top, $skip)
    GET  /users/{u}/contactFolders/{f}/contacts    same for folder f
    GET  /users/{u}[/contactFolders/{f}]/contacts/delta     delta rounds, Prefer odata.maxpagesize
    GET|PATCH|DELETE /users/{u}[/contactFolders/{f}]/contacts/{id}
    POST /users/{u}[/contactFolders/{f}]/contacts/{id}/permanentDelete
    GET  /users/{u}/calendarView?startDateTime=&endDateTime=
    GET  /users/{u}/calendarView/delta?startDateTime=&endDateTime=
    POST /users/{u}/events                         create (transactionId de-duplicates)
    GET|PATCH|DELETE /users/{u}/events/{id};  POST .../permanentDelete, .../cancel
    POST /users/{u}/sendMail                       recorded in `sent_mail`
    GET  /users/{u}/mailFolders                    top-level mail folders (Inbox, Sent Items...)
    GET  /users/{u}/mailFolders/{f}/childFolders   `f`: an id or a well-known name (sentitems)
    GET  /users/{u}/mailFolders/{f}/messages       $select, $top, $skip, next links
    GET  /users/{u}/messages/{id};  POST .../permanentDelete

Behaviour follows the Graph v1.0 reference; where the reference is silent the choice is listed in
`ASSUMPTIONS` below (the connector's report repeats it).

Test hooks: `requests` (the request log), `count()`, `inject()` (faults), `notifications` (what
Exchange would e-mail to attendees), `side_effects` (every write that changed state),
`sent_mail`, `expire_delta_tokens()` (410), `revoke_tokens()` (401), out-of-band mutators
(`add_contact`, `update_contact`, `delete_contact`, `add_event`, `add_mail_folder`,
`add_message`, ...), and `populate()` for bulk data.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import random
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

# Page sizes. The contacts-delta cap of 200 was reported by Microsoft staff (Q&A); the others are
# this simulator's choices (see ASSUMPTIONS).
CONTACTS_DELTA_MAX_PAGE = 200
EVENTS_DELTA_MAX_PAGE = 1000
LIST_MAX_TOP = 1000
DEFAULT_PAGE = 10
MAILBOX_CONCURRENCY = 4  # Outlook: 4 concurrent requests per app per mailbox
DELETED_ITEMS = "deleteditems"

ASSUMPTIONS = (
    "calendarView/delta honours Prefer: odata.maxpagesize up to 1000 (no documented cap)",
    "list endpoints ($top) cap at 1000 items per page; default page size is 10",
    "Prefer: odata.maxpagesize must be sent on every request of a delta round (not kept in the "
    "token)",
    "contact delta on the default folder is /users/{u}/contacts/delta (in Microsoft's OpenAPI "
    "description, not in the reference pages)",
    "a nested contact folder is addressable as /users/{u}/contactFolders/{id} at top level",
    "/users/{u}/contacts/{id} resolves a contact in any folder, including Deleted Items",
    "an expired delta or skip token answers 410 with code SyncStateNotFound",
    "the first page of a delta round may already carry the deltaLink; a round never ends with an "
    "extra empty page",
    "over 4 concurrent requests to one mailbox answer 429 ApplicationThrottled, Retry-After: 1",
    "permanentDelete of an organiser's meeting sends cancellations like DELETE does",
    "PATCH or permanentDelete of an attendee's copy of a meeting notifies nobody",
    "PATCH of attendees on an attendee's copy changes that copy only",
    "PATCH of attendees on an organised meeting notifies only the attendees added or removed; "
    "PATCH of subject/body/location/start/end notifies every attendee left on the meeting",
    "POST /events with a transactionId already used returns the existing event (201)",
    "a DELETEd contact or event stays readable by id (Deleted Items) until permanentDelete",
    "$filter on contacts matches addresses case-insensitively",
)


# ---------------------------------------------------------------------------------------------
# Records the tests read


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # decoded path, without the query
    query: dict[str, str]
    status: int
    time: float  # time.monotonic() when the response was sent
    started: float
    endpoint: str  # e.g. "contacts.delta", "events.patch", "token"
    mailbox: str | None
    headers: dict[str, str]


@dataclass
class Fault:
    status: int = 503
    retry_after: str | None = None
    count: int = 1
    path_contains: str | None = None
    method: str | None = None
    endpoint: str | None = None
    body: dict[str, Any] | None = None
    empty_body: bool = False
    delay: float = 0.0  # seconds to wait before answering (the fault's status, or 0 = normal)
    hits: int = 0


@dataclass(frozen=True)
class Notification:
    """An e-mail Exchange would send because of a change to a meeting."""

    mailbox: str
    event_id: str
    kind: str  # "cancellation" | "update" | "request"
    recipients: tuple[str, ...]
    subject: str


@dataclass(frozen=True)
class SideEffect:
    mailbox: str
    action: str  # e.g. "contact.patch:emailAddresses", "contact.purge", "event.patch:subject"
    item_id: str
    time: float


@dataclass
class _Folder:
    id: str
    name: str
    parent_id: str


@dataclass
class _MailFolder:
    id: str
    name: str
    parent_id: str  # "" for a top-level folder
    well_known: str = ""  # e.g. "sentitems"


# Created in every mailbox on first use of mail: (well-known name, display name).
WELL_KNOWN_MAIL = (
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
)


@dataclass
class _Mailbox:
    upn: str
    display_name: str
    default_folder_id: str
    folders: dict[str, _Folder] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_times: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    deleted: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id -> kind, item
    purged: set[str] = field(default_factory=set)
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, collection, id)
    transactions: dict[str, str] = field(default_factory=dict)
    mail_folders: dict[str, _MailFolder] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    denied: bool = False
    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class _DeltaState:
    mailbox: str
    collection: str  # "folder:<id>" or "calendar"
    window: tuple[datetime, datetime] | None
    since_seq: int | None  # None: a full round
    ids: list[str]
    offset: int
    high_seq: int


class _HttpError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# ---------------------------------------------------------------------------------------------
# Helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_dt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _parse_dt(text: str) -> datetime:
    value = text.strip().replace("Z", "+00:00")
    if "." in value:
        head, _, tail = value.partition(".")
        digits = re.match(r"\d*", tail)
        frac = digits.group(0) if digits else ""
        value = head + "." + frac[:6].ljust(6, "0") + tail[len(frac) :]
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _new_id(prefix: str = "AAMkAD") -> str:
    return prefix + secrets.token_hex(20) + "AAA="


def _etag() -> str:
    return 'W/"' + secrets.token_hex(8) + '"'


def _addr(entry: dict[str, Any]) -> str:
    return str((entry.get("emailAddress") or entry).get("address") or "").lower()


_FILTER_RE = re.compile(
    r"^\s*emailAddresses/any\(\s*(\w+)\s*:\s*\1/address\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$",
    re.IGNORECASE,
)

FIRST_NAMES = [
    "Aino",
    "Eino",
    "Helmi",
    "Onni",
    "Venla",
    "Leo",
    "Aada",
    "Väinö",
    "Lilja",
    "Elias",
    "Sofia",
    "Oliver",
    "Emma",
    "Toivo",
    "Ella",
    "Niilo",
    "Isla",
    "Eetu",
    "Kerttu",
    "Lauri",
    "Siiri",
    "Juho",
    "Anni",
    "Matias",
    "Iida",
    "Veeti",
    "Linnea",
    "Aatos",
    "Pihla",
    "Otto",
]
LAST_NAMES = [
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
]
DOMAINS = ("example.fi", "example.com", "example.org", "example.net")


# ---------------------------------------------------------------------------------------------
# The simulator


class GraphSimulator:
    """Start with `start()` or `with GraphSimulator() as sim:`; stop with `stop()`."""

    def __init__(
        self,
        *,
        tenant_id: str = "11111111-2222-3333-4444-555555555555",
        client_id: str = "66666666-7777-8888-9999-000000000000",
        client_secret: str | None = None,
        token_lifetime: int = 3599,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.token_lifetime = token_lifetime
        self.requests: list[RequestRecord] = []
        self.notifications: list[Notification] = []
        self.side_effects: list[SideEffect] = []
        self.sent_mail: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._mailboxes: dict[str, _Mailbox] = {}
        self._tokens: dict[str, _DeltaState] = {}
        self._access_tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self._cert_thumbprints: dict[str, bytes] = {}  # x5t / x5t#S256 -> certificate (DER)
        self._seq = itertools.count(1)
        self._graph: ThreadingHTTPServer | None = None
        self._login: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._tmp: str | None = None
        self.ca_file = ""

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> GraphSimulator:
        self._tmp = tempfile.mkdtemp(prefix="graphsim-")
        cert, key = _self_signed_certificate(self._tmp)
        self.ca_file = cert
        self._graph = _Server(("127.0.0.1", 0), _GraphHandler, self)
        self._login = _Server(("127.0.0.1", 0), _LoginHandler, self)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._login.socket = context.wrap_socket(self._login.socket, server_side=True)
        for server in (self._graph, self._login):
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._graph, self._login):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def graph_url(self) -> str:
        assert self._graph is not None, "start() the simulator first"
        return f"http://127.0.0.1:{self._graph.server_address[1]}/v1.0"

    @property
    def authority(self) -> str:
        assert self._login is not None, "start() the simulator first"
        return f"https://127.0.0.1:{self._login.server_address[1]}"

    def settings(self, mailboxes: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
        """A `[[systems]]` table for this simulator (the secret is in env var SIM_GRAPH_SECRET)."""
        table: dict[str, Any] = {
            "name": "outlook",
            "type": "msgraph",
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret_env": "SIM_GRAPH_SECRET",
            "mailboxes": list(mailboxes or self._mailboxes),
            "authority": self.authority,
            "base_url": self.graph_url,
            "ca_file": self.ca_file,
        }
        table.update(extra)
        return table

    # -- test hooks -------------------------------------------------------------------------------

    def inject(self, **kwargs: Any) -> Fault:
        """Queue a fault: `inject(status=429, retry_after="1", count=1, path_contains="delta")`."""
        fault = Fault(**kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

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

    def expire_delta_tokens(self, mailbox: str | None = None) -> int:
        """Forget sync states: the next request with their links answers 410."""
        with self._lock:
            gone = [t for t, s in self._tokens.items() if mailbox in (None, s.mailbox)]
            for token in gone:
                del self._tokens[token]
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

    def add_folder(self, upn: str, name: str, parent: str | None = None) -> str:
        with self._lock:
            mb = self.mailbox(upn)
            folder = _Folder(
                id=_new_id("AQMkAD"), name=name, parent_id=parent or mb.default_folder_id
            )
            mb.folders[folder.id] = folder
            return folder.id

    def delete_folder(self, upn: str, folder_id: str) -> None:
        """Remove a folder and everything in it (and its child folders)."""
        with self._lock:
            mb = self.mailbox(upn)
            doomed = {folder_id}
            changed = True
            while changed:
                changed = False
                for f in mb.folders.values():
                    if f.parent_id in doomed and f.id not in doomed:
                        doomed.add(f.id)
                        changed = True
            for fid in doomed:
                mb.folders.pop(fid, None)
            for cid, contact in list(mb.contacts.items()):
                if contact["parentFolderId"] in doomed:
                    del mb.contacts[cid]
                    mb.purged.add(cid)
                    self._touch(mb, "folder:" + contact["parentFolderId"], cid)

    def add_contact(
        self,
        upn: str,
        *,
        name: str,
        emails: Iterable[str | tuple[str, str]] = (),
        folder: str | None = None,
        **fields: Any,
    ) -> str:
        with self._lock:
            mb = self.mailbox(upn)
            contact = _contact_json(name, emails, folder or mb.default_folder_id, fields)
            mb.contacts[contact["id"]] = contact
            self._touch(mb, "folder:" + contact["parentFolderId"], contact["id"])
            return str(contact["id"])

    def contact(self, upn: str, contact_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).contacts.get(contact_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def update_contact(self, upn: str, contact_id: str, **fields: Any) -> None:
        with self._lock:
            mb = self.mailbox(upn)
            contact = mb.contacts[contact_id]
            if "emails" in fields:
                contact["emailAddresses"] = _email_list(fields.pop("emails"))
            if "name" in fields:
                contact["displayName"] = fields.pop("name")
            contact.update(fields)
            _bump(contact)
            self._touch(mb, "folder:" + contact["parentFolderId"], contact_id)

    def move_contact(self, upn: str, contact_id: str, folder: str) -> None:
        with self._lock:
            mb = self.mailbox(upn)
            contact = mb.contacts[contact_id]
            old = contact["parentFolderId"]
            contact["parentFolderId"] = folder
            _bump(contact)
            self._touch(mb, "folder:" + old, contact_id)
            self._touch(mb, "folder:" + folder, contact_id)

    def delete_contact(self, upn: str, contact_id: str, *, purge: bool = False) -> None:
        with self._lock:
            self._delete_item(self.mailbox(upn), "contact", contact_id, purge=purge)

    def add_event(
        self,
        upn: str,
        *,
        subject: str,
        start: datetime,
        minutes: int = 60,
        attendees: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
        organizer: tuple[str, str] | None = None,
        location: str = "",
        body: str = "",
        transaction_id: str | None = None,
    ) -> str:
        """`organizer=None`: the mailbox organises it. Attendees are (name, address[, type])."""
        with self._lock:
            mb = self.mailbox(upn)
            event = _event_json(
                mb, subject, start, minutes, attendees, organizer, location, body, transaction_id
            )
            self._store_event(mb, event)
            return str(event["id"])

    def event(self, upn: str, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).events.get(event_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def update_event(self, upn: str, event_id: str, **fields: Any) -> None:
        """Out-of-band edit (no notifications). `start=datetime` moves the slot."""
        with self._lock:
            mb = self.mailbox(upn)
            event = mb.events[event_id]
            if "start" in fields:
                start = fields.pop("start")
                length = mb.event_times[event_id][1] - mb.event_times[event_id][0]
                event["start"] = {"dateTime": _graph_dt(start), "timeZone": "UTC"}
                event["end"] = {"dateTime": _graph_dt(start + length), "timeZone": "UTC"}
            event.update(fields)
            _bump(event)
            self._store_event(mb, event)

    def delete_event(self, upn: str, event_id: str, *, purge: bool = False) -> None:
        with self._lock:
            self._delete_item(self.mailbox(upn), "event", event_id, purge=purge)

    def in_deleted_items(self, upn: str, item_id: str) -> bool:
        with self._lock:
            return item_id in self.mailbox(upn).deleted

    def is_purged(self, upn: str, item_id: str) -> bool:
        with self._lock:
            return item_id in self.mailbox(upn).purged

    def contact_ids(self, upn: str) -> list[str]:
        with self._lock:
            return list(self.mailbox(upn).contacts)

    def event_ids(self, upn: str) -> list[str]:
        with self._lock:
            return list(self.mailbox(upn).events)

    def add_mail_folder(self, upn: str, name: str, parent: str | None = None) -> str:
        """A mail folder: top level, or below `parent` (an id or a well-known name)."""
        with self._lock:
            mb = self.mailbox(upn)
            self._mail_folder(mb, "inbox")  # the well-known folders exist first
            parent_id = self._mail_folder(mb, parent).id if parent else ""
            folder = _MailFolder(id=_new_id("AAMkAGI"), name=name, parent_id=parent_id)
            mb.mail_folders[folder.id] = folder
            return folder.id

    def add_message(
        self,
        upn: str,
        folder: str,
        *,
        subject: str,
        sent: datetime,
        sender: tuple[str, str] | None = None,
        to: Iterable[tuple[str, str]] = (),
        cc: Iterable[tuple[str, str]] = (),
        body: str = "",
    ) -> str:
        """A message in `folder` (an id or a well-known name). `sender=None`: the mailbox."""
        with self._lock:
            mb = self.mailbox(upn)
            target = self._mail_folder(mb, folder)
            message = _message_json(mb, target.id, subject, sent, sender, to, cc, body)
            mb.messages[message["id"]] = message
            return str(message["id"])

    def message(self, upn: str, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).messages.get(message_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def message_ids(self, upn: str, folder: str | None = None) -> list[str]:
        with self._lock:
            mb = self.mailbox(upn)
            wanted = self._mail_folder(mb, folder).id if folder else None
            return [
                mid
                for mid, m in mb.messages.items()
                if wanted is None or m["parentFolderId"] == wanted
            ]

    def _mail_folder(self, mb: _Mailbox, folder: str) -> _MailFolder:
        """A folder by id or well-known name; the well-known ones exist from first use."""
        if not any(f.well_known for f in mb.mail_folders.values()):
            for well_known, name in WELL_KNOWN_MAIL:
                made = _MailFolder(_new_id("AAMkAGI"), name, "", well_known)
                mb.mail_folders[made.id] = made
        found = mb.mail_folders.get(folder)
        if found is None:
            found = next(
                (f for f in mb.mail_folders.values() if f.well_known == folder.lower()), None
            )
        if found is None:
            raise KeyError(folder)
        return found

    def stats(self, upn: str) -> dict[str, Any]:
        """Counts per contact folder (default first) and of events, e.g. for minimum requests."""
        with self._lock:
            mb = self.mailbox(upn)
            folders = {mb.default_folder_id: 0, **{f: 0 for f in mb.folders}}
            for contact in mb.contacts.values():
                folders[contact["parentFolderId"]] += 1
            return {"contacts_per_folder": list(folders.values()), "events": len(mb.events)}

    def populate(
        self,
        mailboxes: Sequence[str],
        *,
        contacts: int,
        events: int,
        child_folders: int = 2,
        nested_folders: int = 1,
        seed: int = 7,
        now: datetime | None = None,
        past_days: int = 2000,
        future_days: int = 300,
    ) -> dict[str, list[tuple[str, str]]]:
        """Bulk data, split evenly over the mailboxes. Returns each mailbox's (name, address)s.

        Contacts: half in the default folder, the rest over child folders (and one nested folder
        each); one to three addresses. Events: in [now - past_days, now + future_days]; most are
        organised by the mailbox with one to three contacts invited, a fifth by someone else.
        """
        rng = random.Random(seed)
        now = now or _now()
        people_by_mailbox: dict[str, list[tuple[str, str]]] = {}
        with self._lock:
            for index, upn in enumerate(mailboxes):
                self.add_mailbox(upn)
                mb = self.mailbox(upn)
                folders = [mb.default_folder_id]
                for i in range(child_folders):
                    fid = self.add_folder(upn, f"Clients {i + 1}")
                    folders.append(fid)
                    for j in range(nested_folders):
                        folders.append(self.add_folder(upn, f"Archive {i + 1}.{j + 1}", fid))
                share = contacts // len(mailboxes) + (index < contacts % len(mailboxes))
                people: list[tuple[str, str]] = []
                for n in range(share):
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    name = f"{first} {last}"
                    addresses = [f"{_ascii(first)}.{_ascii(last)}{index}x{n}@{rng.choice(DOMAINS)}"]
                    for k in range(rng.choice((0, 0, 0, 1, 2))):
                        addresses.append(f"{_ascii(first)}{k}.{n}m{index}@{rng.choice(DOMAINS)}")
                    folder = folders[0] if rng.random() < 0.5 else rng.choice(folders)
                    contact = _contact_json(name, addresses, folder, {"_rng": rng})
                    mb.contacts[contact["id"]] = contact
                    self._touch(mb, "folder:" + folder, contact["id"])
                    people.append((name, addresses[0]))
                people_by_mailbox[upn] = people
                pool = people or [("Guest Person", "guest@example.com")]
                ev_share = events // len(mailboxes) + (index < events % len(mailboxes))
                span = (past_days + future_days) * 86400
                for _ in range(ev_share):
                    start = now - timedelta(days=past_days) + timedelta(seconds=rng.randrange(span))
                    start = start.replace(minute=0, second=0, microsecond=0)
                    invited = [
                        (*rng.choice(pool), "required") for _ in range(rng.choice((1, 1, 2, 3)))
                    ]
                    organizer = None
                    if rng.random() < 0.2:
                        organizer = rng.choice(pool)
                        invited = [(mb.display_name, mb.upn, "required")]
                    who = invited[0][0] if organizer is None else organizer[0]
                    subject = rng.choice(("Coaching: ", "Session with ", "Follow-up ")) + who
                    event = _event_json(
                        mb,
                        subject,
                        start,
                        rng.choice((45, 60, 90)),
                        invited,
                        organizer,
                        rng.choice(("Room 1", "Teams", "Helsinki office", "")),
                        "<p>Agenda: goals, progress, next steps.</p>",
                        None,
                    )
                    self._store_event(mb, event)
        return people_by_mailbox

    # -- internals shared by the handlers ---------------------------------------------------------

    def _touch(self, mb: _Mailbox, collection: str, item_id: str) -> None:
        mb.changes.append((next(self._seq), collection, item_id))

    def _store_event(self, mb: _Mailbox, event: dict[str, Any]) -> None:
        mb.events[event["id"]] = event
        start = _parse_dt(event["start"]["dateTime"])
        end = _parse_dt(event["end"]["dateTime"])
        mb.event_times[event["id"]] = (start, end)
        if event.get("transactionId"):
            mb.transactions[event["transactionId"]] = event["id"]
        self._touch(mb, "calendar", event["id"])

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


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans("äöå", "aoa"))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _email_list(emails: Iterable[str | tuple[str, str]]) -> list[dict[str, str]]:
    out = []
    for entry in emails:
        if isinstance(entry, tuple):
            out.append({"name": entry[0], "address": entry[1]})
        else:
            out.append({"name": entry, "address": entry})
    return out


def _bump(item: dict[str, Any]) -> None:
    item["lastModifiedDateTime"] = _iso(_now())
    item["changeKey"] = secrets.token_hex(8)
    item["@odata.etag"] = _etag()


def _contact_json(
    name: str, emails: Iterable[str | tuple[str, str]], folder: str, fields: dict[str, Any]
) -> dict[str, Any]:
    rng = fields.pop("_rng", None)
    given, _, surname = name.partition(" ")
    stamp = _iso(_now())
    phone = f"+358 40 {rng.randrange(1000000, 9999999) if rng else 1234567}"
    contact: dict[str, Any] = {
        "@odata.etag": _etag(),
        "id": _new_id(),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": secrets.token_hex(8),
        "categories": [],
        "parentFolderId": folder,
        "birthday": None,
        "fileAs": name,
        "displayName": name,
        "givenName": given,
        "initials": None,
        "middleName": None,
        "nickName": None,
        "surname": surname,
        "title": None,
        "yomiGivenName": None,
        "yomiSurname": None,
        "yomiCompanyName": None,
        "generation": None,
        "imAddresses": [],
        "jobTitle": "Customer",
        "companyName": "Asiakas Oy",
        "department": None,
        "officeLocation": None,
        "profession": None,
        "businessHomePage": None,
        "assistantName": None,
        "manager": None,
        "homePhones": [],
        "mobilePhone": phone,
        "businessPhones": [],
        "spouseName": None,
        "personalNotes": "",
        "children": [],
        "emailAddresses": _email_list([(name, e) if isinstance(e, str) else e for e in emails]),
        "homeAddress": {},
        "businessAddress": {},
        "otherAddress": {},
    }
    contact.update(fields)
    return contact


def _event_json(  # noqa: PLR0917
    mb: _Mailbox,
    subject: str,
    start: datetime,
    minutes: int,
    attendees: Iterable[tuple[str, ...]],
    organizer: tuple[str, str] | None,
    location: str,
    body: str,
    transaction_id: str | None,
) -> dict[str, Any]:
    stamp = _iso(_now())
    org_name, org_addr = organizer or (mb.display_name, mb.upn)
    return {
        "@odata.etag": _etag(),
        "id": _new_id(),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": secrets.token_hex(8),
        "categories": [],
        "transactionId": transaction_id,
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(16),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": subject,
        "bodyPreview": re.sub(r"<[^>]+>", "", body)[:255],
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": organizer is None,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": "https://outlook.office365.com/owa/?itemid=x",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": "organizer" if organizer is None else "accepted",
            "time": "0001-01-01T00:00:00Z",
        },
        "body": {"contentType": "html", "content": body},
        "start": {"dateTime": _graph_dt(start), "timeZone": "UTC"},
        "end": {"dateTime": _graph_dt(start + timedelta(minutes=minutes)), "timeZone": "UTC"},
        "location": _location(location),
        "locations": [_location(location)] if location else [],
        "recurrence": None,
        "attendees": [
            {
                "type": a[2] if len(a) > 2 else "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a[0], "address": a[1]},
            }
            for a in attendees
        ],
        "organizer": {"emailAddress": {"name": org_name, "address": org_addr}},
        "onlineMeeting": None,
    }


def _message_json(  # noqa: PLR0917
    mb: _Mailbox,
    folder_id: str,
    subject: str,
    sent: datetime,
    sender: tuple[str, str] | None,
    to: Iterable[tuple[str, str]],
    cc: Iterable[tuple[str, str]],
    body: str,
) -> dict[str, Any]:
    name, address = sender or (mb.display_name, mb.upn)
    who = {"emailAddress": {"name": name, "address": address}}
    stamp = _iso(sent)
    return {
        "@odata.etag": _etag(),
        "id": _new_id("AAMkAGM"),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "receivedDateTime": stamp,
        "sentDateTime": stamp,
        "subject": subject,
        "bodyPreview": body[:255],
        "body": {"contentType": "html", "content": body},
        "from": who,
        "sender": who,
        "toRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in to],
        "ccRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in cc],
        "parentFolderId": folder_id,
        "isDraft": False,
        "isRead": True,
    }


def _location(name: str) -> dict[str, Any]:
    return {
        "displayName": name,
        "locationType": "default",
        "uniqueId": name or None,
        "uniqueIdType": "private" if name else "unknown",
        "address": {},
        "coordinates": {},
    }


def _signature_valid(assertion: str, der: bytes, alg: str) -> bool:
    """RS256 / PS256 signature of a client assertion by the registered certificate's key."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    signed, _, signature_b64 = assertion.rpartition(".")
    signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    key = x509.load_der_x509_certificate(der).public_key()
    if not isinstance(key, rsa.RSAPublicKey) or alg not in {"RS256", "PS256"}:
        return False
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if alg == "RS256"
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    )
    try:
        key.verify(signature, signed.encode("ascii"), pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _self_signed_certificate(directory: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 / localhost, valid a day; returns (cert path, key path)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncaudit graph simulator")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = f"{directory}/simulator-ca.pem"
    key_path = f"{directory}/simulator-key.pem"
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, sim: GraphSimulator) -> None:
        super().__init__(address, handler)
        self.sim = sim


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    @property
    def sim(self) -> GraphSimulator:
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
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status == 0:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.empty_body:
            self._send(fault.status, None, headers)
        else:
            codes = {429: "TooManyRequests", 503: "ServiceNotAvailable", 504: "GatewayTimeout"}
            body = fault.body or self._error_body(
                codes.get(fault.status, "InjectedFault"), "Injected by the simulator."
            )
            self._send(fault.status, body, headers)
        return fault.status


class _LoginHandler(_BaseHandler):
    """OpenID discovery and the client-credentials token endpoint of one tenant."""

    def do_GET(self) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        tenant = self.sim.tenant_id
        base = self.sim.authority
        if path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            doc = {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/{tenant}/v2.0",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
            }
            self._send(200, doc)
            status = 200
        else:
            self._send(404, {"error": "invalid_tenant", "error_description": "AADSTS90002"})
            status = 404
        self._log(started, status, "openid", None, {})

    def do_POST(self) -> None:
        started = time.monotonic()
        form = {k: v[0] for k, v in parse_qs(self._read_body().decode()).items()}
        fault = self._take_fault("token")
        status = self._answer_fault(fault) if fault else None
        if status is None:
            status = self._token(form)
        safe = {k: v for k, v in form.items() if k in {"grant_type", "client_id", "scope"}}
        safe["auth"] = "assertion" if "client_assertion" in form else "secret"
        self._log(started, status, "token", None, safe)

    def _token(self, form: dict[str, str]) -> int:
        path = urlsplit(self.path).path
        if path != f"/{self.sim.tenant_id}/oauth2/v2.0/token":
            self._send(400, {"error": "invalid_request", "error_description": "AADSTS90002"})
            return 400
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != (
            self.sim.client_id
        ):
            self._send(400, {"error": "unauthorized_client", "error_description": "AADSTS700016"})
            return 400
        if not self._client_authenticated(form):
            self._send(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
            )
            return 401
        token = self.sim.issue_token()
        self._send(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.sim.token_lifetime,
                "ext_expires_in": self.sim.token_lifetime,
                "access_token": token,
            },
            {"Cache-Control": "no-store"},
        )
        return 200

    def _client_authenticated(self, form: dict[str, str]) -> bool:
        if "client_secret" in form:
            return secrets.compare_digest(form["client_secret"], self.sim.client_secret)
        assertion = form.get("client_assertion", "")
        if not assertion or form.get("client_assertion_type", "").find("jwt-bearer") < 0:
            return False
        try:
            head_b64, claims_b64, _sig = assertion.split(".")
            header = json.loads(base64.urlsafe_b64decode(head_b64 + "=" * (-len(head_b64) % 4)))
            claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4)))
        except (ValueError, json.JSONDecodeError):
            return False
        thumb = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
        der = self.sim._cert_thumbprints.get(thumb)
        return (
            der is not None
            and claims.get("iss") == self.sim.client_id
            and claims.get("sub") == self.sim.client_id
            and float(claims.get("exp", 0)) > time.time()
            and _signature_valid(assertion, der, str(header.get("alg")))
        )


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name)
    for m, p, name in [
        ("GET", r"^/users/([^/]+)/contactFolders$", "folders.list"),
        ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/childFolders$", "folders.children"),
        ("GET", r"^/users/([^/]+)/contacts/delta(?:\(\))?$", "contacts.delta"),
        (
            "GET",
            r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/delta(?:\(\))?$",
            "contacts.delta",
        ),
        ("GET", r"^/users/([^/]+)/contacts$", "contacts.list"),
        ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts$", "contacts.list"),
        ("POST", r"^/users/([^/]+)/contacts$", "contacts.create"),
        ("POST", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts$", "contacts.create"),
        ("POST", r"^/users/([^/]+)/contacts/([^/]+)/permanentDelete$", "contacts.permanentDelete"),
        (
            "POST",
            r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)/permanentDelete$",
            "contacts.permanentDelete",
        ),
        ("GET", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.get"),
        ("PATCH", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.patch"),
        ("DELETE", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.delete"),
        ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.get"),
        ("PATCH", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.patch"),
        ("DELETE", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.delete"),
        ("GET", r"^/users/([^/]+)/calendarView/delta(?:\(\))?$", "events.delta"),
        ("GET", r"^/users/([^/]+)/calendarView$", "events.calendarView"),
        ("POST", r"^/users/([^/]+)/events$", "events.create"),
        ("POST", r"^/users/([^/]+)/events/([^/]+)/permanentDelete$", "events.permanentDelete"),
        ("POST", r"^/users/([^/]+)/events/([^/]+)/cancel$", "events.cancel"),
        ("GET", r"^/users/([^/]+)/events/([^/]+)$", "events.get"),
        ("PATCH", r"^/users/([^/]+)/events/([^/]+)$", "events.patch"),
        ("DELETE", r"^/users/([^/]+)/events/([^/]+)$", "events.delete"),
        ("POST", r"^/users/([^/]+)/sendMail$", "mail.send"),
        ("GET", r"^/users/([^/]+)/mailFolders$", "mailFolders.list"),
        ("GET", r"^/users/([^/]+)/mailFolders/([^/]+)/childFolders$", "mailFolders.children"),
        ("GET", r"^/users/([^/]+)/mailFolders/([^/]+)/messages$", "messages.list"),
        ("GET", r"^/users/([^/]+)/messages/([^/]+)$", "messages.get"),
        (
            "POST",
            r"^/users/([^/]+)/messages/([^/]+)/permanentDelete$",
            "messages.permanentDelete",
        ),
    ]
]

_EVENT_PATCHABLE = {
    "subject",
    "body",
    "location",
    "locations",
    "attendees",
    "start",
    "end",
    "categories",
    "showAs",
    "importance",
    "sensitivity",
    "isReminderOn",
    "reminderMinutesBeforeStart",
}
_EVENT_CONTENT = {"subject", "body", "location", "locations", "start", "end"}
_CONTACT_READONLY = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "parentFolderId"}


class _GraphHandler(_BaseHandler):
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

    # -- folders ----------------------------------------------------------------------------------

    def _folder_json(self, folder: _Folder) -> dict[str, Any]:
        return {"id": folder.id, "displayName": folder.name, "parentFolderId": folder.parent_id}

    def _folders_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            items = [
                self._folder_json(f)
                for f in mb.folders.values()
                if f.parent_id == mb.default_folder_id
            ]
        return self._list(
            mb, items, query, f"users('{mb.upn}')/contactFolders", f"/users/{mb.upn}/contactFolders"
        )

    def _folders_children(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        (folder_id,) = args
        with self.sim._lock:
            if folder_id not in mb.folders and folder_id != mb.default_folder_id:
                raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
            items = [self._folder_json(f) for f in mb.folders.values() if f.parent_id == folder_id]
        return self._list(
            mb,
            items,
            query,
            f"users('{mb.upn}')/contactFolders('{folder_id}')/childFolders",
            f"/users/{mb.upn}/contactFolders/{folder_id}/childFolders",
        )

    def _folder_of(self, mb: _Mailbox, args: tuple[str, ...]) -> str:
        """The folder a contacts URL names: its explicit id, or the default folder."""
        if not args:
            return mb.default_folder_id
        folder_id = args[0]
        if folder_id != mb.default_folder_id and folder_id not in mb.folders:
            raise _HttpError(404, "ErrorItemNotFound", "The specified folder was not found.")
        return folder_id

    # -- contacts ---------------------------------------------------------------------------------

    def _contacts_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            folder = self._folder_of(mb, args)
            items = [c for c in mb.contacts.values() if c["parentFolderId"] == folder]
        if "$filter" in query:
            match = _FILTER_RE.match(query["$filter"])
            if not match:
                raise _HttpError(400, "ErrorInvalidUrlQueryFilter", "The filter is not supported.")
            wanted = match.group(2).replace("''", "'").lower()
            items = [c for c in items if any(_addr(e) == wanted for e in c["emailAddresses"])]
        path = (
            f"/users/{mb.upn}/contacts"
            if not args
            else f"/users/{mb.upn}/contactFolders/{args[0]}/contacts"
        )
        return self._list(mb, items, query, f"users('{mb.upn}')/contacts", path)

    def _find_contact(self, mb: _Mailbox, args: tuple[str, ...]) -> dict[str, Any]:
        """args: (contact,) = any folder incl. Deleted Items; (folder, contact) = that folder."""
        contact_id = args[-1]
        contact = mb.contacts.get(contact_id)
        if contact is None and len(args) == 1 and contact_id in mb.deleted:
            kind, item = mb.deleted[contact_id]
            contact = item if kind == "contact" else None
        if contact is None or (len(args) == 2 and contact["parentFolderId"] != args[0]):
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return contact

    def _contacts_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            contact = dict(self._find_contact(mb, args))
        return 200, contact, {}

    def _contacts_patch(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        patch = json.loads(body or b"{}")
        with self.sim._lock:
            contact = self._find_contact(mb, args)
            for key, raw in patch.items():
                if key.startswith("@odata") or key in _CONTACT_READONLY:
                    continue
                value = raw
                if key == "emailAddresses":
                    value = [
                        {"name": e.get("name"), "address": e.get("address")} for e in raw or []
                    ]
                contact[key] = value
            _bump(contact)
            if contact["parentFolderId"] != DELETED_ITEMS:
                self.sim._touch(mb, "folder:" + contact["parentFolderId"], contact["id"])
            fields = ",".join(sorted(k for k in patch if not k.startswith("@odata")))
            self.sim._effect(mb, "contact.patch:" + fields, contact["id"])
            return 200, dict(contact), {}

    def _contacts_delete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            contact = self._find_contact(mb, args)
            if contact["parentFolderId"] == DELETED_ITEMS:
                self.sim._delete_item(mb, "contact", contact["id"], purge=True)
            else:
                self.sim._delete_item(mb, "contact", contact["id"], purge=False)
            self.sim._effect(mb, "contact.delete", contact["id"])
        return 204, None, {}

    def _contacts_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            contact = self._find_contact(mb, args)
            self.sim._delete_item(mb, "contact", contact["id"], purge=True)
            self.sim._effect(mb, "contact.purge", contact["id"])
        return 204, None, {}

    def _contacts_create(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        data = json.loads(body or b"{}")
        with self.sim._lock:
            folder = self._folder_of(mb, args)
            contact = _contact_json(data.get("displayName", ""), [], folder, {})
            for key, value in data.items():
                if not key.startswith("@odata") and key not in _CONTACT_READONLY:
                    contact[key] = value
            mb.contacts[contact["id"]] = contact
            self.sim._touch(mb, "folder:" + folder, contact["id"])
            self.sim._effect(mb, "contact.create", contact["id"])
        return 201, contact, {}

    def _contacts_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if "$top" in query:
            raise _HttpError(400, "ErrorInvalidUrlQuery", "The $top query is not supported.")
        with self.sim._lock:
            folder = self._folder_of(mb, args)
            base = (
                f"/users/{mb.upn}/contacts/delta"
                if not args
                else f"/users/{mb.upn}/contactFolders/{folder}/contacts/delta"
            )
            return self._delta(
                mb, "folder:" + folder, None, query, base, CONTACTS_DELTA_MAX_PAGE, self._contact_in
            )

    def _contact_in(self, mb: _Mailbox, state: _DeltaState, item_id: str) -> dict[str, Any] | None:
        contact = mb.contacts.get(item_id)
        if contact is None or "folder:" + contact["parentFolderId"] != state.collection:
            return None
        return contact

    # -- delta rounds -----------------------------------------------------------------------------

    def _delta(  # noqa: PLR0917
        self,
        mb: _Mailbox,
        collection: str,
        window: tuple[datetime, datetime] | None,
        query: dict[str, str],
        base: str,
        cap: int,
        current: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if token is not None:
            # Skip tokens stay valid when replayed (a client may retry a lost page).
            state = self.sim._tokens.get(token) if "$skiptoken" in query else None
            if "$deltatoken" in query:
                stored = self.sim._tokens.get(token)
                if stored is not None:
                    state = self._start_incremental(mb, stored)
            if state is None or state.mailbox != mb.upn.lower() or state.collection != collection:
                raise _HttpError(
                    410,
                    "SyncStateNotFound",
                    "The sync state generation is not found. Please start a new sync.",
                )
        else:
            high = mb.changes[-1][0] if mb.changes else 0
            if collection == "calendar":
                assert window is not None
                ids = [
                    eid
                    for eid, (start, end) in mb.event_times.items()
                    if start < window[1] and end > window[0]
                ]
            else:
                folder = collection.split(":", 1)[1]
                ids = [c["id"] for c in mb.contacts.values() if c["parentFolderId"] == folder]
            state = _DeltaState(mb.upn.lower(), collection, window, None, ids, 0, high)
        size = self._page_size(cap)
        page_ids = state.ids[state.offset : state.offset + size]
        values: list[dict[str, Any]] = []
        for item_id in page_ids:
            item = current(mb, state, item_id)
            if item is not None:
                values.append(item)
            elif state.since_seq is not None:
                values.append({"id": item_id, "@removed": {"reason": "deleted"}})
        payload: dict[str, Any] = {
            "@odata.context": f"{self.sim.graph_url}/$metadata#Collection(contact)",
            "value": values,
        }
        new_token = secrets.token_urlsafe(24)
        if state.offset + len(page_ids) < len(state.ids):
            self.sim._tokens[new_token] = replace(state, offset=state.offset + len(page_ids))
            payload["@odata.nextLink"] = f"{self.sim.graph_url}{base}?$skiptoken={new_token}"
        else:
            self.sim._tokens[new_token] = _DeltaState(
                state.mailbox, collection, state.window, state.high_seq, [], 0, state.high_seq
            )
            payload["@odata.deltaLink"] = f"{self.sim.graph_url}{base}?$deltatoken={new_token}"
        return 200, payload, {}

    def _start_incremental(self, mb: _Mailbox, stored: _DeltaState) -> _DeltaState:
        since = stored.since_seq or 0
        latest: dict[str, int] = {}
        for seq, collection, item_id in mb.changes:
            if seq > since and collection == stored.collection:
                latest[item_id] = seq
        high = mb.changes[-1][0] if mb.changes else since
        ids = sorted(latest, key=latest.__getitem__)
        return _DeltaState(stored.mailbox, stored.collection, stored.window, since, ids, 0, high)

    # -- calendar ---------------------------------------------------------------------------------

    def _window(self, query: dict[str, str]) -> tuple[datetime, datetime]:
        if "startdatetime" not in query or "enddatetime" not in query:
            raise _HttpError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        return _parse_dt(query["startdatetime"]), _parse_dt(query["enddatetime"])

    def _event_in(self, mb: _Mailbox, state: _DeltaState, item_id: str) -> dict[str, Any] | None:
        event = mb.events.get(item_id)
        if event is None or state.window is None:
            return None
        start, end = mb.event_times[item_id]
        return event if start < state.window[1] and end > state.window[0] else None

    def _events_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if "$select" in query or "$filter" in query or "$orderby" in query:
            raise _HttpError(400, "ErrorInvalidUrlQuery", "The query is not supported on delta.")
        window = None
        if "$skiptoken" not in query and "$deltatoken" not in query:
            window = self._window(query)
        with self.sim._lock:
            return self._delta(
                mb,
                "calendar",
                window,
                query,
                f"/users/{mb.upn}/calendarView/delta",
                EVENTS_DELTA_MAX_PAGE,
                self._event_in,
            )

    def _events_calendarView(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        start, end = self._window(query)
        with self.sim._lock:
            items = [
                mb.events[eid]
                for eid, (s, e) in sorted(mb.event_times.items(), key=lambda kv: kv[1][0])
                if s < end and e > start
            ]
        return self._list(
            mb, items, query, f"users('{mb.upn}')/calendarView", f"/users/{mb.upn}/calendarView"
        )

    def _find_event(self, mb: _Mailbox, event_id: str) -> dict[str, Any]:
        event = mb.events.get(event_id)
        if event is None and event_id in mb.deleted and mb.deleted[event_id][0] == "event":
            event = mb.deleted[event_id][1]
        if event is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return event

    def _events_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            return 200, dict(self._find_event(mb, args[0])), {}

    def _events_create(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        data = json.loads(body or b"{}")
        with self.sim._lock:
            tx = data.get("transactionId")
            if tx and tx in mb.transactions and mb.transactions[tx] in mb.events:
                return 201, dict(mb.events[mb.transactions[tx]]), {}
            start = _parse_dt(data["start"]["dateTime"])
            end = _parse_dt(data["end"]["dateTime"])
            attendees = [
                (_name(a), _addr(a), a.get("type", "required")) for a in data.get("attendees", [])
            ]
            event = _event_json(
                mb,
                data.get("subject", ""),
                start,
                max(int((end - start).total_seconds() // 60), 0),
                attendees,
                None,
                (data.get("location") or {}).get("displayName", ""),
                (data.get("body") or {}).get("content", ""),
                tx,
            )
            for key in ("showAs", "categories", "sensitivity", "isReminderOn"):
                if key in data:
                    event[key] = data[key]
            self.sim._store_event(mb, event)
            self.sim._effect(mb, "event.create", event["id"])
            self.sim._notify(mb, event, "request", [_addr(a) for a in event["attendees"]])
            return 201, dict(event), {}

    def _events_patch(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        patch = json.loads(body or b"{}")
        with self.sim._lock:
            event = self._find_event(mb, args[0])
            before = {_addr(a) for a in event["attendees"]}
            content_changed = False
            for key, raw in patch.items():
                if key not in _EVENT_PATCHABLE:
                    continue
                value = raw
                if key == "attendees":
                    value = [
                        {
                            "type": a.get("type") or "required",
                            "status": a.get("status")
                            or {"response": "none", "time": "0001-01-01T00:00:00Z"},
                            "emailAddress": {"name": _name(a), "address": _addr(a)},
                        }
                        for a in raw or []
                    ]
                elif key == "location":
                    value = {**_location(""), **{k: v for k, v in raw.items() if v is not None}}
                elif key == "body":
                    value = {
                        "contentType": str(raw.get("contentType", "html")).lower(),
                        "content": raw.get("content", ""),
                    }
                if key in _EVENT_CONTENT and event.get(key) != value:
                    content_changed = True
                event[key] = value
            after = {_addr(a) for a in event["attendees"]}
            _bump(event)
            if args[0] in mb.events:
                self.sim._store_event(mb, event)
            fields = ",".join(sorted(k for k in patch if k in _EVENT_PATCHABLE))
            self.sim._effect(mb, "event.patch:" + fields, event["id"])
            if event.get("isOrganizer") and not event.get("isCancelled"):
                self.sim._notify(mb, event, "cancellation", before - after)
                self.sim._notify(mb, event, "request", after - before)
                if content_changed:
                    self.sim._notify(mb, event, "update", after & before)
            return 200, dict(event), {}

    def _events_delete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        return self._remove_event(mb, args[0], purge=False)

    def _events_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        return self._remove_event(mb, args[0], purge=True)

    def _remove_event(
        self, mb: _Mailbox, event_id: str, *, purge: bool
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            event = self._find_event(mb, event_id)
            live = event_id in mb.events
            if live and event.get("isOrganizer") and not event.get("isCancelled"):
                self.sim._notify(mb, event, "cancellation", [_addr(a) for a in event["attendees"]])
            self.sim._delete_item(mb, "event", event_id, purge=purge or not live)
            self.sim._effect(mb, "event.purge" if purge else "event.delete", event_id)
        return 204, None, {}

    def _events_cancel(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            event = self._find_event(mb, args[0])
            if not event.get("isOrganizer"):
                raise _HttpError(
                    400, "ErrorAccessDenied", "You need to be an organizer to cancel a meeting."
                )
            self.sim._notify(mb, event, "cancellation", [_addr(a) for a in event["attendees"]])
            self.sim._delete_item(mb, "event", event["id"], purge=False)
            self.sim._effect(mb, "event.cancel", event["id"])
        return 202, None, {}

    def _mail_send(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        # Action parameter names are case-insensitive: msgraph-sdk sends "Message" and
        # "SaveToSentItems", the reference shows camelCase. Recorded in camelCase.
        data = {k[:1].lower() + k[1:]: v for k, v in json.loads(body or b"{}").items()}
        if "message" not in data:
            raise _HttpError(400, "ErrorInvalidRequest", "The message is missing.")
        with self.sim._lock:
            self.sim.sent_mail.append({"from": mb.upn, **data})
            self.sim._effect(mb, "mail.send", str(len(self.sim.sent_mail)))
        return 202, None, {}

    # -- mail -------------------------------------------------------------------------------------

    def _mail_folder_or_404(self, mb: _Mailbox, folder: str) -> _MailFolder:
        try:
            return self.sim._mail_folder(mb, folder)
        except KeyError:
            raise _HttpError(
                404, "ErrorItemNotFound", "The specified folder was not found."
            ) from None

    def _mail_folders_in(
        self, mb: _Mailbox, parent_id: str, query: dict[str, str], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        items = [
            {"id": f.id, "displayName": f.name, "parentFolderId": f.parent_id}
            for f in mb.mail_folders.values()
            if f.parent_id == parent_id
        ]
        return self._list(mb, items, query, f"users('{mb.upn}')/mailFolders", path)

    def _mailFolders_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            self.sim._mail_folder(mb, "inbox")  # the well-known folders exist
            return self._mail_folders_in(mb, "", query, f"/users/{mb.upn}/mailFolders")

    def _mailFolders_children(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            folder = self._mail_folder_or_404(mb, args[0])
            path = f"/users/{mb.upn}/mailFolders/{args[0]}/childFolders"
            return self._mail_folders_in(mb, folder.id, query, path)

    def _messages_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            folder = self._mail_folder_or_404(mb, args[0])
            items = [dict(m) for m in mb.messages.values() if m["parentFolderId"] == folder.id]
        path = f"/users/{mb.upn}/mailFolders/{args[0]}/messages"
        return self._list(mb, items, query, f"users('{mb.upn}')/messages", path)

    def _find_message(self, mb: _Mailbox, message_id: str) -> dict[str, Any]:
        message = mb.messages.get(message_id)
        if message is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return message

    def _messages_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            return 200, dict(self._find_message(mb, args[0])), {}

    def _messages_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.sim._lock:
            message = self._find_message(mb, args[0])
            del mb.messages[message["id"]]
            mb.purged.add(message["id"])
            self.sim._effect(mb, "message.purge", message["id"])
        return 204, None, {}


def _route(method: str, path: str) -> tuple[str, tuple[str, ...]]:
    if path.startswith("/v1.0/"):
        for verb, pattern, name in _ROUTES:
            match = pattern.match(path[len("/v1.0") :])
            if match and verb == method:
                return name, tuple(unquote(a) for a in match.groups())
    return "unknown", ()


def _name(entry: dict[str, Any]) -> str:
    return str((entry.get("emailAddress") or entry).get("name") or "")


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(**kwargs).start()
    try:
        yield sim
    finally:
        sim.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m syncaudit_msgraph.simulator`: serve demo data until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--mailbox", action="append", default=[])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args(argv)
    mailboxes = args.mailbox or ["coach@example.fi"]
    with running() as sim:
        sim.populate(mailboxes, contacts=args.contacts, events=args.events)
        table = sim.settings(mailboxes)
        print("# export SIM_GRAPH_SECRET=" + sim.client_secret)
        print("[[systems]]")
        for key, value in table.items():
            print(f"{key} = {json.dumps(value)}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
