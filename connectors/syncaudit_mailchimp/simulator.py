"""A Mailchimp Marketing API v3 simulator on loopback, for tests, benchmarks and `syncaudit demo`.

Standard library only. It serves the subset of the API the connector uses, with the real shapes:

    GET    /3.0/ping
    GET    /3.0/lists                      count, offset, fields, exclude_fields, email
    GET    /3.0/lists/{list_id}
    GET    /3.0/lists/{list_id}/members    count (<= 1000), offset, fields, exclude_fields, status,
                                           since_last_changed, before_last_changed,
                                           sort_field, sort_dir
    POST   /3.0/lists/{list_id}/members
    GET    /3.0/lists/{list_id}/members/{hash}     (hash = MD5 of the lower-cased address)
    PUT    /3.0/lists/{list_id}/members/{hash}
    PATCH  /3.0/lists/{list_id}/members/{hash}
    DELETE /3.0/lists/{list_id}/members/{hash}     archives (204)
    POST   /3.0/lists/{list_id}/members/{hash}/actions/delete-permanent   (204, then 404)
    GET    /3.0/search-members             query, list_id
    POST   /subscribe/post?id={list_id}    a hosted sign-up form (form-encoded EMAIL, FNAME, LNAME):
                                           the one way a permanently deleted address comes back

Errors are `application/problem+json` bodies. At most `max_connections` requests are served at
once; the next gets 429. Every request is logged (`requests`), state can be changed out of band
(`add_member`, `update_member`, `archive_member`, `delete_permanent`, `signup_form`), faults can be
injected (`inject`), and `populate` fills it with realistic data quickly.

Behaviour the documentation does not state is marked *assumed* below (see ASSUMPTIONS).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef-us6"
MAX_COUNT = 1000
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
SORT_FIELDS = ("timestamp_opt", "timestamp_signup", "last_changed")

ASSUMPTIONS = (
    "Sort ties (same second) come back in a stable order: by order of change for last_changed, "
    "by insertion when no sort_field is given; total_items is a consistent count per request.",
    "since_last_changed and before_last_changed are exclusive ('changed after/before').",
    "Archiving (DELETE) and every PATCH/PUT update last_changed, so status=archived with "
    "since_last_changed sees newly archived members.",
    "The default listing holds every status except archived (transactional included).",
    "The connection limit counts requests in flight, not idle keep-alive sockets; its 429 has a "
    "problem body and no Retry-After (Retry-After appears only when injected).",
    "GET /lists?email= and /search-members match members of every status, archived included; "
    "search-members returns at most 10 per section.",
    "A member path with anything but the MD5 of a known address is a plain 404.",
    "delete-permanent works on an archived member (204).",
    "A hosted sign-up form re-adds a permanently deleted address as 'subscribed' (single opt-in);"
    " the form route is simplified (POST /subscribe/post?id=LIST with EMAIL, FNAME, LNAME).",
    "PATCH with a status un-archives an archived member; pending/transactional -> unsubscribed "
    "is allowed.",
    "PATCH with a new email_address moves the member to the new address and id (the MD5 of it); "
    "the old id then answers 404. A new address that is a member already is refused with 400 "
    "'Member Exists', one permanently deleted from the audience with 400 'Forgotten Email Not "
    "Subscribed', as an import of it would be.",
)


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lower-cased address."""
    return hashlib.md5(email.lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), UTC).isoformat()


def _parse_time(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# ---------------------------------------------------------------------------------------------
# State


_LOCATIONS = (
    (60.17, 24.94, "FI", "Europe/Helsinki", "18"),
    (59.33, 18.07, "SE", "Europe/Stockholm", "AB"),
    (52.52, 13.40, "DE", "Europe/Berlin", "BE"),
    (40.71, -74.01, "US", "America/New_York", "NY"),
)


class _Member:
    """One member, stored compactly; rendered into the API shape on demand."""

    __slots__ = (
        "address",
        "contact_id",
        "email",
        "fname",
        "last_changed",
        "lname",
        "loc",
        "opt",
        "phone",
        "seq",
        "signup",
        "source",
        "status",
        "tags",
        "tick",
        "unique_email_id",
        "web_id",
    )

    def __init__(self, email: str, status: str, seq: int, now: float) -> None:
        self.email = email
        self.status = status
        self.seq = seq  # insertion order: the default listing order (assumed)
        self.tick = seq  # bumped on every change: breaks last_changed ties (assumed stable)
        self.fname = ""
        self.lname = ""
        self.address = ""
        self.phone = ""
        self.signup: float | None = now
        self.opt: float | None = now
        self.last_changed = now
        self.source = "API - Generic"
        self.tags: tuple[str, ...] = ()
        self.loc = seq % len(_LOCATIONS)
        digest = subscriber_hash(email)
        self.unique_email_id = digest[:10]
        self.contact_id = hashlib.sha1(email.lower().encode(), usedforsecurity=False).hexdigest()
        self.web_id = 100000 + seq

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)


def _member_getters(list_id: str) -> dict[str, Callable[[_Member], Any]]:
    def location(m: _Member) -> dict[str, Any]:
        lat, lon, cc, tz, region = _LOCATIONS[m.loc]
        return {
            "latitude": lat,
            "longitude": lon,
            "gmtoff": 0,
            "dstoff": 0,
            "country_code": cc,
            "timezone": tz,
            "region": region,
        }

    def full_name(m: _Member) -> str:
        return f"{m.fname} {m.lname}".strip()

    return {
        "id": lambda m: m.id,
        "email_address": lambda m: m.email,
        "unique_email_id": lambda m: m.unique_email_id,
        "contact_id": lambda m: m.contact_id,
        "full_name": full_name,
        "web_id": lambda m: m.web_id,
        "email_type": lambda m: "html",
        "status": lambda m: m.status,
        "consents_to_one_to_one_messaging": lambda m: True,
        "merge_fields": lambda m: {
            "FNAME": m.fname,
            "LNAME": m.lname,
            "ADDRESS": m.address,
            "PHONE": m.phone,
            "BIRTHDAY": "",
        },
        "interests": lambda m: {},
        "stats": lambda m: {"avg_open_rate": 0.25, "avg_click_rate": 0.05},
        "ip_signup": lambda m: "203.0.113.7" if m.signup else "",
        "timestamp_signup": lambda m: _iso(m.signup),
        "ip_opt": lambda m: "203.0.113.7",
        "timestamp_opt": lambda m: _iso(m.opt),
        "member_rating": lambda m: 2,
        "last_changed": lambda m: _iso(m.last_changed),
        "language": lambda m: "fi",
        "vip": lambda m: False,
        "email_client": lambda m: "",
        "location": location,
        "marketing_permissions": lambda m: [],
        "source": lambda m: m.source,
        "tags_count": lambda m: len(m.tags),
        "tags": lambda m: [{"id": 1000 + i, "name": t} for i, t in enumerate(m.tags)],
        "list_id": lambda m: list_id,
        "_links": lambda m: [
            {
                "rel": "self",
                "href": f"/3.0/lists/{list_id}/members/{m.id}",
                "method": "GET",
            }
        ],
    }


@dataclass
class _Audience:
    id: str
    name: str
    web_id: int
    created: float
    members: dict[str, _Member] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)  # hashes deleted permanently
    version: int = 0
    sorted_cache: dict[tuple[str, str, str], tuple[int, list[_Member]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.getters = _member_getters(self.id)


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    query: Mapping[str, Sequence[str]]
    status: int
    time: float  # time.monotonic() when the response was sent
    effect: str | None = None  # e.g. "delete-permanent:<list_id>:<hash>" when state changed
    fault: bool = False  # the response came from an injected fault


@dataclass
class Fault:
    status: int
    retry_after: float | None = None
    count: int = 1
    path_contains: str = ""
    method: str | None = None
    empty_body: bool = False
    delay: float = 0.0
    after: bool = False  # apply the request first, then answer with the fault (lost response)

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0:
            return False
        if self.method and self.method != method:
            return False
        return self.path_contains in path


class _Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out = {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }
        out.update(self.extra)
        return out


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    effect: str | None = None


# ---------------------------------------------------------------------------------------------
# Field selection (fields / exclude_fields with dot notation)


def _field_tree(spec: str | None) -> dict[str, Any] | None:
    if not spec:
        return None
    tree: dict[str, Any] = {}
    for raw in spec.split(","):
        path = [p for p in raw.strip().split(".") if p]
        node = tree
        for i, part in enumerate(path):
            if i == len(path) - 1:
                node[part] = True
            else:
                child = node.get(part)
                if child is True:
                    break
                node = node.setdefault(part, {})
    return tree


def _include(value: Any, tree: dict[str, Any] | bool) -> Any:
    if tree is True:
        return value
    assert isinstance(tree, dict)
    if isinstance(value, list):
        return [_include(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _include(v, tree[k]) for k, v in value.items() if k in tree}
    return value


def _exclude(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_exclude(v, tree) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = tree.get(k)
            if sub is True:
                continue
            out[k] = _exclude(v, sub) if isinstance(sub, dict) else v
        return out
    return value


# ---------------------------------------------------------------------------------------------
# The simulator


class MailchimpSimulator:
    """The API on 127.0.0.1 (a free port). Use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        clock: Callable[[], datetime] | None = None,
        max_connections: int = 10,
    ) -> None:
        self.api_key = api_key
        self._clock = clock or (lambda: datetime.now(UTC))
        self.max_connections = max_connections
        self.latency = 0.0  # seconds added to every request (keeps requests in flight)
        self.gate: threading.Event | None = None  # when set up, admitted requests wait for it
        self._lock = threading.RLock()
        self._audiences: dict[str, _Audience] = {}
        self._log: list[LogEntry] = []
        self._faults: list[Fault] = []
        self._seq = 0
        self._inflight = 0
        self.peak_inflight = 0
        self.connections_opened = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MailchimpSimulator:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.sim = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="mc-sim"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MailchimpSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return int(self._server.server_address[1])

    @property
    def inflight(self) -> int:
        """Requests being served right now (what the connection limit counts)."""
        with self._lock:
            return self._inflight

    @property
    def url(self) -> str:
        """The API root to put in `base_url` (the client's `host`)."""
        return f"http://127.0.0.1:{self.port}/3.0"

    @property
    def form_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/subscribe/post"

    # -- request log and faults ------------------------------------------------------------

    @property
    def requests(self) -> list[LogEntry]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self.peak_inflight = 0

    def count(
        self,
        *,
        method: str | None = None,
        path_contains: str = "",
        status: int | None = None,
        effect_prefix: str | None = None,
    ) -> int:
        return sum(
            1
            for e in self.requests
            if (method is None or e.method == method)
            and path_contains in e.path
            and (status is None or e.status == status)
            and (effect_prefix is None or (e.effect or "").startswith(effect_prefix))
        )

    def inject(
        self,
        *,
        status: int,
        retry_after: float | None = None,
        count: int = 1,
        path_contains: str = "",
        method: str | None = None,
        empty_body: bool = False,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer the next `count` matching requests with `status` (after `delay` seconds)."""
        fault = Fault(status, retry_after, count, path_contains, method, empty_body, delay, after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    # -- out-of-band state changes ---------------------------------------------------------

    def _now(self) -> float:
        return self._clock().timestamp()

    def add_audience(self, name: str, *, list_id: str | None = None) -> str:
        with self._lock:
            self._seq += 1
            lid = (
                list_id
                or hashlib.md5(f"{name}:{self._seq}".encode(), usedforsecurity=False).hexdigest()[
                    :10
                ]
            )
            self._audiences[lid] = _Audience(lid, name, 90000 + self._seq, self._now())
            return lid

    def audience_ids(self) -> list[str]:
        with self._lock:
            return list(self._audiences)

    def _audience(self, list_id: str) -> _Audience:
        aud = self._audiences.get(list_id)
        if aud is None:
            raise _Problem(404, "Resource Not Found", "The requested resource could not be found.")
        return aud

    def _touch(self, aud: _Audience, m: _Member) -> None:
        self._seq += 1
        m.tick = self._seq
        m.last_changed = self._now()
        aud.version += 1

    def add_member(
        self,
        list_id: str,
        email: str,
        *,
        status: str = "subscribed",
        fname: str = "",
        lname: str = "",
        tags: Sequence[str] = (),
        address: str = "",
        phone: str = "",
        source: str = "API - Generic",
        force: bool = False,
    ) -> str:
        """Add (out of band, e.g. an import in the web app); returns the member id."""
        with self._lock:
            aud = self._audience(list_id)
            h = subscriber_hash(email)
            if h in aud.forgotten and not force:
                raise ValueError("address was permanently deleted; use signup_form")
            aud.forgotten.discard(h)
            self._seq += 1
            m = _Member(email, status, self._seq, self._now())
            m.fname, m.lname, m.tags = fname, lname, tuple(tags)
            m.address, m.phone, m.source = address, phone, source
            aud.members[h] = m
            aud.version += 1
            return h

    def member(self, list_id: str, email_or_hash: str) -> dict[str, Any] | None:
        """The member as the API would render it, or None."""
        with self._lock:
            aud = self._audience(list_id)
            m = aud.members.get(self._hash_of(email_or_hash))
            return None if m is None else self._render(aud, m, None, None)

    @staticmethod
    def _hash_of(email_or_hash: str) -> str:
        return subscriber_hash(email_or_hash) if "@" in email_or_hash else email_or_hash

    def update_member(self, list_id: str, email_or_hash: str, **changes: Any) -> None:
        """Change fields out of band: status, fname, lname, email, tags, address, phone."""
        with self._lock:
            aud = self._audience(list_id)
            m = aud.members[self._hash_of(email_or_hash)]
            for key, value in changes.items():
                if key == "email":
                    del aud.members[m.id]
                    m.email = value
                    aud.members[m.id] = m
                elif key == "tags":
                    m.tags = tuple(value)
                elif key in ("status", "fname", "lname", "address", "phone"):
                    setattr(m, key, value)
                else:
                    raise KeyError(key)
            self._touch(aud, m)

    def archive_member(self, list_id: str, email_or_hash: str) -> None:
        with self._lock:
            aud = self._audience(list_id)
            m = aud.members[self._hash_of(email_or_hash)]
            m.status = "archived"
            self._touch(aud, m)

    def delete_permanent(self, list_id: str, email_or_hash: str) -> bool:
        """Out of band (e.g. in the web app): the member vanishes and is 'forgotten'."""
        with self._lock:
            aud = self._audience(list_id)
            h = self._hash_of(email_or_hash)
            if aud.members.pop(h, None) is None:
                return False
            aud.forgotten.add(h)
            aud.version += 1
            return True

    def status_counts(self, list_id: str) -> dict[str, int]:
        """How many members of each status an audience holds (for benchmarks' minimums)."""
        with self._lock:
            counts = dict.fromkeys(STATUSES, 0)
            for m in self._audience(list_id).members.values():
                counts[m.status] += 1
            return counts

    def is_forgotten(self, list_id: str, email: str) -> bool:
        with self._lock:
            return subscriber_hash(email) in self._audience(list_id).forgotten

    def signup_form(self, list_id: str, email: str, *, fname: str = "", lname: str = "") -> str:
        """A person fills in the hosted sign-up form: the only way back for a forgotten address."""
        with self._lock:
            aud = self._audience(list_id)
            h = subscriber_hash(email)
            m = aud.members.get(h)
            if m is None:
                aud.forgotten.discard(h)
                self._seq += 1
                m = _Member(email, "subscribed", self._seq, self._now())
                m.source = "Hosted Signup Form"
                aud.members[h] = m
            m.status = "subscribed"
            m.fname, m.lname = fname or m.fname, lname or m.lname
            self._touch(aud, m)
            return h

    def populate(
        self,
        members: int,
        *,
        audiences: int = 2,
        overlap: float = 0.1,
        archived: float = 0.02,
        seed: int = 1,
        names: Sequence[str] = ("Newsletter", "Customers", "Events", "Partners"),
    ) -> list[str]:
        """Bulk-fill `members` members over `audiences` new audiences (fast, realistic mix).

        A fraction `overlap` of each later audience re-uses addresses of the first one, with
        different letter case; statuses are mixed, `archived` of them archived. Times spread
        over the last year. Returns the new audience ids.
        """
        rng = random.Random(seed)
        firsts = ("Aino", "Eero", "Helmi", "Juha", "Kaisa", "Lauri", "Mari", "Olli", "Sanna")
        lasts = ("Virtanen", "Korhonen", "Nieminen", "Mäkinen", "Hämäläinen", "Laine", "Koskinen")
        mix = (
            ("subscribed", 0.80),
            ("unsubscribed", 0.08),
            ("cleaned", 0.03),
            ("pending", 0.03),
            ("transactional", 0.06),
        )
        now = self._now()
        ids = [self.add_audience(names[i % len(names)]) for i in range(audiences)]
        base, extra = divmod(members, audiences)
        per = [base + (1 if i < extra else 0) for i in range(audiences)]
        with self._lock:
            first_people: list[tuple[str, str, str]] = []
            for a_index, (lid, n) in enumerate(zip(ids, per, strict=True)):
                aud = self._audiences[lid]
                shared = int(n * overlap) if a_index else 0
                stamps = sorted(now - rng.uniform(600, 365 * 86400) for _ in range(n))
                for i in range(n):
                    first, last = rng.choice(firsts), rng.choice(lasts)
                    if i < shared and i < len(first_people):
                        email, first, last = first_people[i]
                        email = email.upper() if i % 2 else email.title()
                    else:
                        plain = last.replace("ä", "a").replace("ö", "o")
                        email = f"{first}.{plain}.{lid[:4]}{i}@example.com"
                        email = email.lower() if i % 3 else email
                    h = subscriber_hash(email)
                    if h in aud.members:
                        continue
                    self._seq += 1
                    roll = rng.random()
                    if roll < archived:
                        status = "archived"
                    else:
                        status, acc = "subscribed", archived
                        for name, share in mix:
                            acc += share * (1 - archived)
                            if roll < acc:
                                status = name
                                break
                    m = _Member(email, status, self._seq, stamps[i])
                    m.signup = stamps[i] if i % 5 else None
                    m.opt = stamps[i]
                    m.fname, m.lname = first, last
                    m.tags = ("customer",) if i % 4 == 0 else ()
                    aud.members[h] = m
                    if a_index == 0:
                        first_people.append((email, first, last))
                aud.version += 1
        return ids

    def change_random(self, fraction: float, *, seed: int = 2) -> int:
        """Out-of-band edits (name changes) of `fraction` of all members; returns how many."""
        rng = random.Random(seed)
        changed = 0
        with self._lock:
            for aud in self._audiences.values():
                chosen = [m for m in aud.members.values() if rng.random() < fraction]
                for m in chosen:
                    m.lname = m.lname + "-Changed"
                    self._touch(aud, m)
                    changed += 1
        return changed

    # -- request handling ------------------------------------------------------------------

    def _enter(self) -> bool:
        with self._lock:
            self._inflight += 1
            self.peak_inflight = max(self.peak_inflight, self._inflight)
            return self._inflight <= self.max_connections

    def _leave(self) -> None:
        with self._lock:
            self._inflight -= 1

    def _record(self, entry: LogEntry) -> None:
        with self._lock:
            self._log.append(entry)

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[_Reply, bool]:
        """Returns the reply and whether it came from a fault."""
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if self.latency:
            time.sleep(self.latency)
        if self.gate is not None:
            self.gate.wait(timeout=60)
        fault = self._take_fault(method, path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and not fault.after:
            return self._fault_reply(fault), True
        try:
            reply = self._route(method, path, query, headers, body)
        except _Problem as problem:
            reply = self._problem_reply(problem)
        if fault is not None:
            faulty = self._fault_reply(fault)
            faulty.effect = reply.effect
            return faulty, True
        return reply, False

    @staticmethod
    def _fault_reply(fault: Fault) -> _Reply:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.empty_body:
            return _Reply(fault.status, b"", "text/html", headers)
        titles = {
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        problem = _Problem(fault.status, titles.get(fault.status, "Error"), "Injected fault.")
        reply = MailchimpSimulator._problem_reply(problem)
        reply.headers.update(headers)
        return reply

    @staticmethod
    def _problem_reply(problem: _Problem) -> _Reply:
        return _Reply(
            problem.status,
            json.dumps(problem.body()).encode(),
            "application/problem+json; charset=utf-8",
        )

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        value = headers.get("authorization", "")
        if value.startswith("Basic "):
            try:
                decoded = base64.b64decode(value[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            return decoded.partition(":")[2] == self.api_key
        if value.startswith("Bearer "):
            return value[7:] == self.api_key
        return False

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Reply:
        if path.rstrip("/") == "/subscribe/post" and method == "POST":
            return self._form_post(query, body)
        if not path.startswith("/3.0/"):
            raise _Problem(404, "Resource Not Found", "The requested resource could not be found.")
        if not self._authorised(headers):
            raise _Problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        parts = [p for p in path[len("/3.0/") :].split("/") if p]
        q = {k: v[-1] for k, v in query.items()}
        with self._lock:
            return self._dispatch(method, parts, q, body)

    def _dispatch(self, method: str, parts: list[str], q: dict[str, str], body: bytes) -> _Reply:
        n = len(parts)
        if parts == ["ping"] and method == "GET":
            return self._json({"health_status": "Everything's Chimpy!"}, q)
        if parts == ["search-members"] and method == "GET":
            return self._search(q)
        if n >= 1 and parts[0] == "lists":
            if n == 1 and method == "GET":
                return self._lists(q)
            if n == 2 and method == "GET":
                aud = self._audience(parts[1])
                return self._json(self._list_shape(aud), q)
            if n == 3 and parts[2] == "members":
                if method == "GET":
                    return self._members(self._audience(parts[1]), q)
                if method == "POST":
                    return self._add(self._audience(parts[1]), body, q)
            if n == 4 and parts[2] == "members":
                return self._member_call(method, self._audience(parts[1]), parts[3], body, q)
            action = parts[2:3] + parts[4:] == ["members", "actions", "delete-permanent"]
            if n == 6 and action and method == "POST":
                return self._delete_permanent(self._audience(parts[1]), parts[3])
        if n >= 1 and parts[0] in ("lists", "ping", "search-members"):
            raise _Problem(405, "Method Not Allowed", "The requested method is not allowed.")
        raise _Problem(404, "Resource Not Found", "The requested resource could not be found.")

    # -- endpoints -------------------------------------------------------------------------

    @staticmethod
    def _paging(q: Mapping[str, str]) -> tuple[int, int]:
        try:
            count = int(q.get("count", "10"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            raise _Problem(400, "Invalid Resource", "count and offset must be integers.") from None
        if count > MAX_COUNT or count < 0 or offset < 0:
            raise _Problem(
                400,
                "Invalid Resource",
                f"The count parameter must be between 0 and {MAX_COUNT}.",
            )
        return count, offset

    def _json(self, data: dict[str, Any], q: Mapping[str, str], status: int = 200) -> _Reply:
        include = _field_tree(q.get("fields"))
        exclude = _field_tree(q.get("exclude_fields"))
        if include is not None:
            data = _include(data, include)
        if exclude is not None:
            data = _exclude(data, exclude)
        return _Reply(status, json.dumps(data, separators=(",", ":")).encode())

    def _list_shape(self, aud: _Audience) -> dict[str, Any]:
        counts = {s: 0 for s in STATUSES}
        for m in aud.members.values():
            counts[m.status] += 1
        return {
            "id": aud.id,
            "web_id": aud.web_id,
            "name": aud.name,
            "contact": {"company": "Valmennus Oy", "country": "FI"},
            "permission_reminder": "You signed up on our website.",
            "date_created": _iso(aud.created),
            "double_optin": False,
            "stats": {
                "member_count": counts["subscribed"],
                "unsubscribe_count": counts["unsubscribed"],
                "cleaned_count": counts["cleaned"],
                "total_contacts": len(aud.members),
            },
            "_links": [{"rel": "self", "href": f"/3.0/lists/{aud.id}", "method": "GET"}],
        }

    def _lists(self, q: Mapping[str, str]) -> _Reply:
        count, offset = self._paging(q)
        auds = list(self._audiences.values())
        email = q.get("email")
        if email:
            h = subscriber_hash(email)
            auds = [a for a in auds if h in a.members]  # any status (assumed)
        page = auds[offset : offset + count]
        data = {
            "lists": [self._list_shape(a) for a in page],
            "total_items": len(auds),
            "constraints": {"may_create": True, "max_instances": 5, "current_total_instances": 2},
            "_links": [],
        }
        return self._json(data, q)

    def _sorted(self, aud: _Audience, status: str, sort_field: str, sort_dir: str) -> list[_Member]:
        key = (status, sort_field, sort_dir)
        cached = aud.sorted_cache.get(key)
        if cached is not None and cached[0] == aud.version:
            return cached[1]
        if status:
            members = [m for m in aud.members.values() if m.status == status]
        else:  # default listing: every status but archived
            members = [m for m in aud.members.values() if m.status != "archived"]
        if sort_field == "last_changed":
            members.sort(key=lambda m: (m.last_changed, m.tick), reverse=sort_dir == "DESC")
        elif sort_field == "timestamp_signup":
            members.sort(key=lambda m: (m.signup or 0.0, m.seq), reverse=sort_dir == "DESC")
        elif sort_field == "timestamp_opt":
            members.sort(key=lambda m: (m.opt or 0.0, m.seq), reverse=sort_dir == "DESC")
        else:
            members.sort(key=lambda m: m.seq)
        aud.sorted_cache[key] = (aud.version, members)
        return members

    def _members(self, aud: _Audience, q: Mapping[str, str]) -> _Reply:
        count, offset = self._paging(q)
        status = q.get("status", "")
        if status and status not in STATUSES:
            raise _Problem(400, "Invalid Resource", "The status parameter is not valid.")
        sort_field = q.get("sort_field", "")
        if sort_field and sort_field not in SORT_FIELDS:
            raise _Problem(400, "Invalid Resource", "The sort_field parameter is not valid.")
        sort_dir = q.get("sort_dir", "ASC").upper()
        members = self._sorted(aud, status, sort_field, sort_dir)
        since = q.get("since_last_changed")
        before = q.get("before_last_changed")
        if since or before:
            lo = _parse_time(since) if since else None
            hi = _parse_time(before) if before else None
            if (since and lo is None) or (before and hi is None):
                raise _Problem(400, "Invalid Resource", "Dates must be ISO 8601.")
            members = [
                m
                for m in members
                if (lo is None or m.last_changed > lo) and (hi is None or m.last_changed < hi)
            ]
        page = members[offset : offset + count]
        include = _field_tree(q.get("fields"))
        exclude = _field_tree(q.get("exclude_fields"))
        member_tree = include.get("members") if include is not None else None
        rendered = (
            [self._render(aud, m, member_tree, None) for m in page]
            if include is None or member_tree is not None
            else []
        )
        data: dict[str, Any] = {"members": rendered, "list_id": aud.id, "total_items": len(members)}
        data["_links"] = [{"rel": "self", "href": f"/3.0/lists/{aud.id}/members"}]
        if include is not None:
            data = {k: v for k, v in data.items() if k in include}
        if exclude is not None:
            data = _exclude(data, exclude)
        return _Reply(200, json.dumps(data, separators=(",", ":")).encode())

    def _render(
        self,
        aud: _Audience,
        m: _Member,
        tree: dict[str, Any] | bool | None,
        exclude: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if not isinstance(tree, dict):
            out = {k: g(m) for k, g in aud.getters.items()}
        else:
            out = {}
            for k, sub in tree.items():
                getter = aud.getters.get(k)
                if getter is not None:
                    value = getter(m)
                    out[k] = value if sub is True else _include(value, sub)
        return out if exclude is None else _exclude(out, exclude)

    def _member_call(
        self, method: str, aud: _Audience, h: str, body: bytes, q: Mapping[str, str]
    ) -> _Reply:
        m = aud.members.get(h)
        if method == "GET":
            if m is None:
                raise _Problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            return self._json(self._render(aud, m, None, None), q)
        if method == "DELETE":
            if m is None:
                raise _Problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            if m.status in ("archived", "cleaned", "pending"):
                raise _Problem(405, "Method Not Allowed", "This member cannot be archived.")
            m.status = "archived"
            self._touch(aud, m)
            return _Reply(204, effect=f"archive:{aud.id}:{h}")
        payload = self._body(body)
        if method == "PATCH":
            if m is None:
                raise _Problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            moved = self._readdress(aud, m, payload)
            self._apply(aud, m, payload)
            reply = self._json(self._render(aud, m, None, None), q)
            if moved:
                reply.effect = f"readdress:{aud.id}:{h}"
            return reply
        if method == "PUT":
            if m is None:
                email = str(payload.get("email_address", ""))
                if subscriber_hash(email) != h:
                    raise _Problem(400, "Invalid Resource", "The email does not match the hash.")
                payload.setdefault("status", payload.get("status_if_new", "subscribed"))
                return self._create(aud, payload, q)
            self._apply(aud, m, payload)
            return self._json(self._render(aud, m, None, None), q)
        raise _Problem(405, "Method Not Allowed", "The requested method is not allowed.")

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise _Problem(400, "JSON Parse Exception", "The body is not valid JSON.") from None
        return data if isinstance(data, dict) else {}

    def _readdress(self, aud: _Audience, m: _Member, payload: Mapping[str, Any]) -> bool:
        """PATCH email_address: the member takes the new address and with it a new id (assumed:
        refused like an import when the address is a member already or was forgotten)."""
        email = payload.get("email_address")
        if email is None or subscriber_hash(str(email)) == m.id:
            return False
        email = str(email)
        if "@" not in email or "." not in email.rpartition("@")[2]:
            raise _Problem(400, "Invalid Resource", "Please provide a valid email address.")
        new = subscriber_hash(email)
        if new in aud.members:
            raise _Problem(
                400,
                "Member Exists",
                f"{email} is already a list member. Use PUT to insert or update list members.",
            )
        if new in aud.forgotten:
            raise _Problem(
                400,
                "Forgotten Email Not Subscribed",
                f"{email} was permanently deleted and cannot be re-imported. The contact must "
                "re-subscribe to get back on the list.",
            )
        del aud.members[m.id]
        m.email = email
        aud.members[new] = m
        aud.version += 1
        return True

    def _apply(self, aud: _Audience, m: _Member, payload: Mapping[str, Any]) -> None:
        status = payload.get("status")
        if status is not None:
            if status not in STATUSES or status == "archived":
                raise _Problem(400, "Invalid Resource", "The status is not valid.")
            if status == "subscribed" and m.status in ("unsubscribed", "cleaned"):
                raise _Problem(
                    400,
                    "Member In Compliance State",
                    f"{m.email} is already a list member in compliance state due to "
                    "unsubscribe, bounce, or compliance review.",
                )
            m.status = status
        merge = payload.get("merge_fields") or {}
        m.fname = str(merge.get("FNAME", m.fname))
        m.lname = str(merge.get("LNAME", m.lname))
        self._touch(aud, m)

    def _add(self, aud: _Audience, body: bytes, q: Mapping[str, str]) -> _Reply:
        payload = self._body(body)
        email = str(payload.get("email_address", ""))
        if subscriber_hash(email) in aud.members:
            raise _Problem(
                400,
                "Member Exists",
                f"{email} is already a list member. Use PUT to insert or update list members.",
            )
        return self._create(aud, payload, q)

    def _create(self, aud: _Audience, payload: Mapping[str, Any], q: Mapping[str, str]) -> _Reply:
        email = str(payload.get("email_address", ""))
        if "@" not in email or "." not in email.rpartition("@")[2]:
            raise _Problem(
                400,
                "Invalid Resource",
                "Please provide a valid email address.",
                errors=[{"field": "email_address", "message": "invalid"}],
            )
        h = subscriber_hash(email)
        if h in aud.forgotten:
            raise _Problem(
                400,
                "Forgotten Email Not Subscribed",
                f"{email} was permanently deleted and cannot be re-imported. The contact must "
                "re-subscribe to get back on the list.",
            )
        status = str(payload.get("status", ""))
        if status not in STATUSES or status == "archived":
            raise _Problem(400, "Invalid Resource", "The submitted resource is not valid.")
        self._seq += 1
        m = _Member(email, status, self._seq, self._now())
        merge = payload.get("merge_fields") or {}
        m.fname, m.lname = str(merge.get("FNAME", "")), str(merge.get("LNAME", ""))
        aud.members[h] = m
        aud.version += 1
        reply = self._json(self._render(aud, m, None, None), q)
        reply.effect = f"add:{aud.id}:{h}"
        return reply

    def _delete_permanent(self, aud: _Audience, h: str) -> _Reply:
        if aud.members.pop(h, None) is None:
            raise _Problem(404, "Resource Not Found", "The requested resource could not be found.")
        aud.forgotten.add(h)
        aud.version += 1
        return _Reply(204, effect=f"delete-permanent:{aud.id}:{h}")

    def _search(self, q: Mapping[str, str]) -> _Reply:
        query = q.get("query", "").strip()
        if not query:
            raise _Problem(400, "Invalid Resource", "The query parameter is required.")
        auds = [self._audience(q["list_id"])] if q.get("list_id") else self._audiences.values()
        exact: list[dict[str, Any]] = []
        partial: list[dict[str, Any]] = []
        needle = query.lower()
        for aud in auds:
            for m in aud.members.values():
                if m.email.lower() == needle:
                    exact.append(self._render(aud, m, None, None))
                elif needle in f"{m.email} {m.fname} {m.lname}".lower():
                    partial.append(self._render(aud, m, None, None))
        data = {
            "exact_matches": {"members": exact[:10], "total_items": len(exact)},
            "full_search": {"members": partial[:10], "total_items": len(partial)},
        }
        return self._json(data, q)

    def _form_post(self, query: dict[str, list[str]], body: bytes) -> _Reply:
        form = parse_qs(body.decode("utf-8", "replace"))
        list_id = (query.get("id") or [""])[-1]
        email = (form.get("EMAIL") or [""])[-1]
        if not email or list_id not in self._audiences:
            return _Reply(400, b"<html><body>Invalid form</body></html>", "text/html")
        h = self.signup_form(
            list_id,
            email,
            fname=(form.get("FNAME") or [""])[-1],
            lname=(form.get("LNAME") or [""])[-1],
        )
        page = b"<html><body>Thank you for subscribing!</body></html>"
        return _Reply(200, page, "text/html; charset=utf-8", effect=f"signup:{list_id}:{h}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body must not wait for a delayed ACK
    server_version = "openresty"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        sim: MailchimpSimulator = self.server.sim  # type: ignore[attr-defined]
        with sim._lock:
            sim.connections_opened += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the simulator keeps its own request log."""

    def _serve(self) -> None:
        sim: MailchimpSimulator = self.server.sim  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        admitted = sim._enter()
        try:
            if admitted:
                try:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    reply, faulted = sim.handle(self.command, self.path, headers, body)
                except Exception:  # a simulator bug must still answer, as a 500
                    problem = _Problem(500, "Internal Server Error", "Simulator error.")
                    reply, faulted = sim._problem_reply(problem), False
            else:
                problem = _Problem(
                    429,
                    "Too Many Requests",
                    f"You have exceeded the limit of {sim.max_connections} simultaneous "
                    "connections.",
                )
                reply, faulted = sim._problem_reply(problem), False
            split = urlsplit(self.path)
            sim._record(  # before the reply goes out: a client that has its answer sees it logged
                LogEntry(
                    method=self.command,
                    path=unquote(split.path),
                    query=parse_qs(split.query, keep_blank_values=True),
                    status=reply.status,
                    time=time.monotonic(),
                    effect=reply.effect,
                    fault=faulted,
                )
            )
            try:
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                self.close_connection = True
        finally:
            sim._leave()

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        if reply.body or reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.body:
            self.wfile.write(reply.body)
        self.wfile.flush()

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve


def main() -> None:  # pragma: no cover - manual use: python -m syncaudit_mailchimp.simulator
    import argparse

    parser = argparse.ArgumentParser(description="Run the Mailchimp simulator on loopback.")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--audiences", type=int, default=2)
    args = parser.parse_args()
    with MailchimpSimulator() as sim:
        sim.populate(args.members, audiences=args.audiences)
        print(f"base_url = {sim.url!r}\napi key  = {sim.api_key!r}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = [
    "ASSUMPTIONS",
    "DEFAULT_API_KEY",
    "Fault",
    "LogEntry",
    "MailchimpSimulator",
    "subscriber_hash",
]
