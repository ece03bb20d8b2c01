"""Shared parts of the Graph simulator: the records tests read, mailbox state, JSON helpers."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Page sizes. The contacts-delta cap of 200 was reported by Microsoft staff (Q&A); the others are
# this simulator's choices (see ASSUMPTIONS).
CONTACTS_DELTA_MAX_PAGE = 200
EVENTS_DELTA_MAX_PAGE = 1000
LIST_MAX_TOP = 1000
DEFAULT_PAGE = 10
MAILBOX_CONCURRENCY = 4  # Outlook: 4 concurrent requests per app per mailbox
DELETED_ITEMS = "deleteditems"


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
    action: Callable[[], object] | None = None  # run first, e.g. delete a folder mid-pull
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
class _Series:
    """A recurring series beside its master: what the pattern alone does not say."""

    duration: timedelta
    exceptions: dict[datetime, dict[str, Any]] = field(default_factory=dict)  # original start ->
    # the properties this occurrence overrides (Outlook keeps them when the master changes)
    cancelled: set[datetime] = field(default_factory=set)  # original starts deleted


# One entry of a mailbox's change log: (sequence, collection, item id, the properties changed or
# None when the whole item is new to the collection).
Change = tuple[int, str, str, frozenset[str] | None]


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
    changes: list[Change] = field(default_factory=list)
    series: dict[str, _Series] = field(default_factory=dict)  # master id -> series
    instances: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id -> master, start
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
    fields: dict[str, frozenset[str] | None] = field(default_factory=dict)  # id -> what changed


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


def _location(name: str) -> dict[str, Any]:
    return {
        "displayName": name,
        "locationType": "default",
        "uniqueId": name or None,
        "uniqueIdType": "private" if name else "unknown",
        "address": {},
        "coordinates": {},
    }


def _name(entry: dict[str, Any]) -> str:
    return str((entry.get("emailAddress") or entry).get("name") or "")


def _address_of(entry: dict[str, Any]) -> str:
    """The address of a recipient entry as sent (case kept)."""
    return str((entry.get("emailAddress") or entry).get("address") or "")


def _name_of(entry: dict[str, Any]) -> str:
    return str((entry.get("emailAddress") or entry).get("name") or _address_of(entry))
