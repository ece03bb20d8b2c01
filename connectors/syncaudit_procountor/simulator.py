"""A Procountor REST API simulator on loopback, for tests, benchmarks and `syncaudit demo`.

Standard library only (plus `syncaudit.hetu` to plant valid identity codes). It serves what the
connector uses, under `/api`, with the shapes of Procountor's OpenAPI schema:

    POST /api/oauth/token                  form grant_type=client_credentials, client_id,
                                           client_secret, api_key -> {access_token, token_type,
                                           expires_in}
    GET  /api/invoices                     types, status, startDate, endDate, versionStartDate,
                                           versionEndDate, businessPartnerId, orderById,
                                           orderByDate, size (<= 200, default 50), page (from 0)
    GET  /api/invoices/{id[,id...]}        at most 200 ids
    GET  /api/businesspartners             type, active (default true), versionStartDate,
                                           versionEndDate, orderById, size, page
    GET  /api/businesspartners/{id[,...]}  at most 200 ids

Search results are `{results, meta: {pageNumber, pageSize, resultCount, totalCount}}`; errors
`{errors: [{status, field, message}]}`. A bearer token lives `token_seconds` on the simulator's
clock; after that (or `expire_tokens()`) requests get 401. With `max_requests_per_second` set,
a request over that many in the last second (on the same clock) gets 429 with `Retry-After: 1`.
Faults can be injected (`inject`), every request is logged (`requests`), state is changed out of
band (`add_partner`, `add_invoice`, `update_invoice`, `update_partner`, `delete_invoice`), and
`populate` fills it quickly, planting identity codes (HETU) in identifiers, names, customer
numbers and free text (`planted_hetus`).

Documented (OpenAPI schema at pts-api.procountor.com/api/openapi.json, via generated clients):
the endpoints and parameters above, size max 200 / default 50, page from 0, the meta fields,
"max 200 ids per request" for GET by ids, `active` defaulting to true, `orderById` defaulting to
DESC, the token form fields, the invoice and partner field names, `identifier` being "business
ID or national identification number"; from dev.procountor.com/api-reference ("Batch
endpoints"): several ids give a list ordered by id, without duplicates, unknown ids left out,
404 only when none is valid, 400 above 200. What is *assumed* is listed in ASSUMPTIONS.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from syncaudit import hetu

MAX_SIZE = 200
MAX_IDS = 200
DEFAULT_CLIENT = ("syncaudit-test", "test-client-secret", "test-api-key-0123456789")

ASSUMPTIONS = (
    "GET /invoices/{ids} with several ids answers a bare JSON array (documented: 'a list of "
    "resources', ordered by id, no duplicates, unknown ids left out, 404 only when none is "
    "valid, 400 above 200 ids; the array shape itself is not shown). One id: the object.",
    "Search results (InvoiceBasicInfo) carry counterParty with the address name only; the email, "
    "identifier and contact person come with GET /invoices/{ids}.",
    "versionStartDate/versionEndDate are read as UTC and are inclusive; `version` is a zone-less "
    "UTC time in whole seconds, updated on every change.",
    "The invoice search lists every status but DELETED; a deleted (draft) invoice is gone from "
    "search and from GET by id.",
    "Token errors: wrong client id or secret -> 401 {error: invalid_client}; wrong api key -> "
    "400 {error: invalid_grant}; an expired or unknown bearer token -> 401 with ErrorMessages.",
    "The rate limit counts requests per rolling second per client, the token request included, "
    "and answers 429 with Retry-After in whole seconds (the documented limit was not found).",
    "With orderByDate the order is by (date, id); otherwise by id in orderById's direction.",
)

_FIRSTS = ("Aino", "Eero", "Helmi", "Juha", "Kaisa", "Lauri", "Mari", "Olli", "Sanna", "Ville")
_LASTS = ("Virtanen", "Korhonen", "Nieminen", "Mäkinen", "Hämäläinen", "Laine", "Koskinen")
_TOWNS = (("00100", "Helsinki"), ("33100", "Tampere"), ("02150", "Espoo"), ("20100", "Turku"))


def make_hetu(rng: random.Random, born: date | None = None) -> str:
    """A valid personal identity code (both centuries)."""
    day = born or date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90))
    sign = "-" if day.year < 2000 else "A"
    ddmmyy = day.strftime("%d%m") + f"{day.year % 100:02d}"
    individual = f"{rng.randrange(2, 900):03d}"
    return f"{ddmmyy}{sign}{individual}{hetu.check_char(ddmmyy, individual)}"


def _version(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class _Invoice:
    id: int
    number: int
    day: date
    partner_id: int | None
    counter_party: dict[str, Any]
    status: str = "SENT"
    type: str = "SALES_INVOICE"
    billing: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    additional: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: datetime = field(default_factory=lambda: datetime.now(UTC))

    def basic(self) -> dict[str, Any]:
        address = self.counter_party.get("counterPartyAddress") or {}
        return {
            "id": self.id,
            "partnerId": self.partner_id,
            "type": self.type,
            "status": self.status,
            "invoiceNumber": self.number,
            "invoiceChannel": "EMAIL",
            "date": self.day.isoformat(),
            "dueDate": (self.day + timedelta(days=14)).isoformat(),
            "created": _version(self.created),
            "version": _version(self.version),
            "invoiceSumInfo": [{"currency": "EUR", "invoiceSumTotal": self._sum()}],
            "counterParty": {"counterPartyAddress": {"name": address.get("name", "")}},
        }

    def full(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partnerId": self.partner_id,
            "type": self.type,
            "status": self.status,
            "date": self.day.isoformat(),
            "counterParty": self.counter_party,
            "billingAddress": self.billing,
            "deliveryAddress": {},
            "paymentInfo": {"paymentMethod": "BANK_TRANSFER", "currency": "EUR"},
            "extraInfo": {"accountingByRow": False, "unitPricesIncludeVat": False},
            "discountPercent": 0,
            "invoiceRows": self.rows,
            "invoiceNumber": self.number,
            "invoiceChannel": "EMAIL",
            "language": "FINNISH",
            "notes": self.notes,
            "additionalInformation": self.additional,
            "version": _version(self.version),
            "invoiceSumInfo": [{"currency": "EUR", "invoiceSumTotal": self._sum()}],
        }

    def _sum(self) -> float:
        return round(
            sum(float(r.get("unitPrice", 0)) * float(r.get("quantity", 1)) for r in self.rows), 2
        )


@dataclass
class _Partner:
    id: int
    name: str
    type: str
    invoicing: dict[str, Any]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    address: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    phone: str = ""
    comments: str = ""
    version: datetime = field(default_factory=lambda: datetime.now(UTC))

    def basic(self) -> dict[str, Any]:
        info = {
            k: self.invoicing[k]
            for k in ("customerNumber", "identifier", "identifierType")
            if k in self.invoicing
        }
        return {
            "id": self.id,
            "name": self.name,
            "billingAddress": self.address,
            "invoicingInfo": info,
            "registryInfo": {"active": self.active},
            "type": self.type,
            "version": _version(self.version),
        }

    def full(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "address": self.address,
            "billingAddress": self.address,
            "invoicingInfo": self.invoicing,
            "contactPersons": self.contacts,
            "additionalInfo": {"comments1": self.comments},
            "paymentInfo": {"paymentMethod": "BANK_TRANSFER", "currency": "EUR"},
            "registryInfo": {"active": self.active, "phone": self.phone},
            "version": _version(self.version),
        }


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    query: Mapping[str, Sequence[str]]
    status: int
    fault: bool = False

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Fault:
    status: int
    retry_after: float | None = None
    count: int = 1
    path_contains: str = ""
    method: str | None = None
    delay: float = 0.0  # seconds to wait before answering (outlasting a client's timeout)

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and (self.method in (None, method)) and self.path_contains in path


class _Problem(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        field_name: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [{"status": status, "field": field_name, "message": message}]}
        self.headers = dict(headers or {})


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The simulator


class ProcountorSimulator:
    """The API on 127.0.0.1 (a free port). Use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        client: tuple[str, str, str] = DEFAULT_CLIENT,
        token_seconds: int = 3600,
        max_requests_per_second: int | None = None,
    ) -> None:
        self.client_id, self.client_secret, self.api_key = client
        self._clock = clock or (lambda: datetime.now(UTC))
        self.token_seconds = token_seconds
        self.max_requests_per_second = max_requests_per_second
        self.latency = 0.0  # real seconds added to every request
        # Called with (method, path, query) before a request is answered: lets a test change
        # state at an exact point of a pull, whatever runs ahead on the client.
        self.on_request: Callable[[str, str, Mapping[str, str]], None] | None = None
        self._lock = threading.RLock()
        self._invoices: dict[int, _Invoice] = {}
        self._partners: dict[int, _Partner] = {}
        self._tokens: dict[str, datetime] = {}
        self._window: deque[datetime] = deque()
        self._log: list[LogEntry] = []
        self._faults: list[Fault] = []
        self._next_invoice = 1000
        self._next_partner = 500
        self._next_number = 10000
        self.planted_hetus: set[str] = set()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> ProcountorSimulator:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.sim = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="pc-sim"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ProcountorSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API root to put in `base_url`."""
        assert self._server is not None, "simulator not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    # -- request log and faults ----------------------------------------------------------------

    @property
    def requests(self) -> list[LogEntry]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def count(
        self, *, path_prefix: str = "", status: int | None = None, method: str | None = None
    ) -> int:
        return sum(
            1
            for e in self.requests
            if e.path.startswith(path_prefix)
            and (status is None or e.status == status)
            and (method is None or e.method == method)
        )

    def inject(
        self,
        *,
        status: int,
        retry_after: float | None = None,
        count: int = 1,
        path_contains: str = "",
        method: str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next `count` matching requests with `status` (after `delay` seconds)."""
        fault = Fault(status, retry_after, count, path_contains, method, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far is rejected from now on (as after its hour)."""
        with self._lock:
            self._tokens.clear()

    # -- out-of-band state ---------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def add_partner(
        self,
        name: str,
        *,
        email: str | None = None,
        type: str = "CUSTOMER",
        identifier: str | None = None,
        customer_number: str | None = None,
        contacts: Sequence[tuple[str, str]] = (),
        contact_person: str | None = None,
        bcc: Sequence[str] = (),
        active: bool = True,
    ) -> int:
        with self._lock:
            self._next_partner += 1
            pid = self._next_partner
            invoicing: dict[str, Any] = {"customerNumber": customer_number or str(100000 + pid)}
            if identifier:
                invoicing["identifier"] = identifier
                invoicing["identifierType"] = (
                    "PERSONAL_ID" if hetu.find(identifier, strict=False) else "BUSINESS_ID"
                )
            if email:
                invoicing["email"] = email
            if bcc:
                invoicing["bccAddresses"] = list(bcc)
            if contact_person:
                invoicing["contactPerson"] = contact_person
            self._partners[pid] = _Partner(
                id=pid,
                name=name,
                type=type,
                invoicing=invoicing,
                contacts=[
                    {"id": pid * 10 + i, "name": n, "email": e, "phone": "+358 40 123 4567"}
                    for i, (n, e) in enumerate(contacts)
                ],
                address={
                    "name": name,
                    "street": "Koulukuja 2",
                    "zip": "00100",
                    "city": "Helsinki",
                    "country": "FINLAND",
                },
                active=active,
                phone="+358 9 123 4567",
                version=self.now(),
            )
            return pid

    def add_invoice(
        self,
        *,
        email: str | None,
        name: str,
        day: date,
        partner_id: int | None = None,
        contact_person: str | None = None,
        identifier: str | None = None,
        customer_number: str | None = None,
        bcc: Sequence[str] = (),
        status: str = "SENT",
        type: str = "SALES_INVOICE",
        notes: str = "",
        additional: str = "",
    ) -> int:
        with self._lock:
            self._next_invoice += 1
            self._next_number += 1
            party: dict[str, Any] = {
                "counterPartyAddress": {
                    "name": name,
                    "street": "Esimerkkikatu 5",
                    "zip": "00100",
                    "city": "Helsinki",
                    "country": "FINLAND",
                },
            }
            for key, value in (
                ("email", email),
                ("contactPersonName", contact_person),
                ("identifier", identifier),
                ("customerNumber", customer_number),
            ):
                if value:
                    party[key] = value
            if bcc:
                party["bccAddresses"] = list(bcc)
            now = self.now()
            iid = self._next_invoice
            self._invoices[iid] = _Invoice(
                id=iid,
                number=self._next_number,
                day=day,
                partner_id=partner_id,
                counter_party=party,
                status=status,
                type=type,
                billing={
                    "name": name,
                    "street": "Esimerkkikatu 5",
                    "zip": "00100",
                    "city": "Helsinki",
                },
                rows=[
                    {
                        "product": "Valmennus 60 min",
                        "quantity": 1,
                        "unit": "HOUR",
                        "unitPrice": 120.0,
                        "vatPercent": 25.5,
                    }
                ],
                notes=notes,
                additional=additional,
                created=now,
                version=now,
            )
            return iid

    def update_invoice(self, invoice_id: int, **counter_party: Any) -> None:
        """Change counterParty fields (e.g. email=...), bumping the version."""
        with self._lock:
            invoice = self._invoices[invoice_id]
            invoice.counter_party.update({k: v for k, v in counter_party.items() if v is not None})
            for k in [k for k, v in counter_party.items() if v is None]:
                invoice.counter_party.pop(k, None)
            invoice.version = self.now()

    def touch_invoice(self, invoice_id: int) -> None:
        with self._lock:
            self._invoices[invoice_id].version = self.now()

    def update_partner(self, partner_id: int, **invoicing: Any) -> None:
        with self._lock:
            partner = self._partners[partner_id]
            if "active" in invoicing:
                partner.active = bool(invoicing.pop("active"))
            partner.invoicing.update(invoicing)
            partner.version = self.now()

    def delete_invoice(self, invoice_id: int) -> None:
        """As deleting an unfinished invoice in the UI: gone from search and from GET."""
        with self._lock:
            self._invoices.pop(invoice_id, None)

    def delete_partner(self, partner_id: int) -> None:
        with self._lock:
            self._partners.pop(partner_id, None)

    def invoice_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._invoices)

    def partner_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._partners)

    def invoice(self, invoice_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._invoices.get(invoice_id)
            return found.full() if found else None

    def partner(self, partner_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._partners.get(partner_id)
            return found.full() if found else None

    def populate(
        self,
        invoices: int,
        *,
        partners: int | None = None,
        seed: int = 1,
        hetu_share: float = 0.2,
        today: date | None = None,
    ) -> None:
        """Bulk-fill: `partners` register entries (CUSTOMER and PERSON, a few inactive) and
        `invoices` sales invoices over the last eight years, most linked to a partner. A share
        of identifiers, customer numbers, names and free texts carry identity codes."""
        rng = random.Random(seed)
        count = partners if partners is not None else max(1, invoices // 4)
        day0 = today or self.now().date()
        people: list[tuple[int, str, str]] = []
        for i in range(count):
            first, last = rng.choice(_FIRSTS), rng.choice(_LASTS)
            plain = f"{first}.{last}".lower().translate(str.maketrans("äöå", "aoa"))
            email = f"{plain}{i}@asiakas.example"
            email = email.title() if i % 5 == 0 else email
            code = make_hetu(rng) if rng.random() < hetu_share else None
            name = f"{first} {last}"
            if code and i % 3 == 0:
                name = f"{name} ({code})"  # typed into the name field
            number = make_hetu(rng) if rng.random() < hetu_share / 4 else None
            for planted in (code, number):
                if planted:
                    self.planted_hetus.add(planted)
            pid = self.add_partner(
                name,
                email=email,
                type="PERSON" if i % 7 == 0 else "CUSTOMER",
                identifier=code or (f"{1000000 + i:07d}-{i % 10}" if i % 4 == 0 else None),
                customer_number=number,
                contacts=[(f"{last} {first}", f"yhteys{i}@yritys.example")] if i % 6 == 0 else (),
                active=i % 23 != 0,
            )
            people.append((pid, email, name))
        for n in range(invoices):
            pid, email, name = (
                people[rng.randrange(len(people))] if people and rng.random() < 0.9 else (0, "", "")
            )
            if not pid:
                first, last = rng.choice(_FIRSTS), rng.choice(_LASTS)
                name, email = f"{first} {last}", f"kertaostaja{n}@koti.example"
            code = make_hetu(rng) if rng.random() < hetu_share else None
            if code:
                self.planted_hetus.add(code)
            free = f"Asiakkaan hetu {code}" if code and n % 2 else "Kiitos tilauksesta"
            self.add_invoice(
                email=email if n % 31 else None,
                name=name,
                day=day0 - timedelta(days=rng.randrange(8 * 365)),
                partner_id=pid or None,
                contact_person=name if n % 3 == 0 else None,
                identifier=code,
                bcc=[f"kirjanpito{n % 3}@tilitoimisto.example"] if n % 11 == 0 else (),
                status=rng.choice(("SENT", "PAID", "PAID", "PAID", "MARKED_PAID", "UNFINISHED")),
                notes=free,
                additional=free if n % 4 == 0 else "",
            )

    def change_random(self, fraction: float, *, seed: int = 2) -> list[int]:
        """Touch `fraction` of the invoices (a changed contact person); returns their ids."""
        rng = random.Random(seed)
        with self._lock:
            ids = sorted(self._invoices)
            chosen = sorted(rng.sample(ids, max(1, int(len(ids) * fraction))))
            for iid in chosen:
                self.update_invoice(iid, contactPersonName=f"Muutettu {iid}")
        return chosen

    # -- request handling ----------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[_Reply, bool]:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if self.latency:
            time.sleep(self.latency)
        if self.on_request is not None:
            self.on_request(method, path, query)
        fault = self._take_fault(method, path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None:
            reply = _Reply(fault.status, _Problem(fault.status, "Injected fault").body)
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = f"{fault.retry_after:g}"
            return reply, True
        try:
            with self._lock:
                self._admit()
                return self._route(method, path, query, headers, body), False
        except _Problem as problem:
            return _Reply(problem.status, problem.body, problem.headers), False

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def _admit(self) -> None:
        if self.max_requests_per_second is None:
            return
        now = self.now()
        while self._window and self._window[0] <= now - timedelta(seconds=1):
            self._window.popleft()
        if len(self._window) >= self.max_requests_per_second:
            wait = (self._window[0] + timedelta(seconds=1) - now).total_seconds()
            raise _Problem(
                429, "Too many requests", headers={"Retry-After": str(max(1, int(-(-wait // 1))))}
            )
        self._window.append(now)

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Reply:
        if path == "/api/oauth/token" and method == "POST":
            return self._token(body, headers)
        if not path.startswith("/api/"):
            raise _Problem(404, "Not found")
        self._authorised(headers)
        parts = [p for p in path[len("/api/") :].split("/") if p]
        if method != "GET":
            raise _Problem(405, "Method not allowed")
        if parts == ["invoices"]:
            return self._search_invoices(query)
        if parts == ["businesspartners"]:
            return self._search_partners(query)
        if len(parts) == 2 and parts[0] in ("invoices", "businesspartners"):
            store: Mapping[int, _Invoice | _Partner] = (
                self._invoices if parts[0] == "invoices" else self._partners
            )
            return self._by_ids(store, parts[1])
        raise _Problem(404, "Not found")

    def _token(self, body: bytes, headers: Mapping[str, str]) -> _Reply:
        if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
            return _Reply(400, {"error": "invalid_request", "error_description": "form expected"})
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return _Reply(400, {"error": "unsupported_grant_type"})
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return _Reply(401, {"error": "invalid_client"})
        if form.get("api_key") != self.api_key:
            return _Reply(400, {"error": "invalid_grant", "error_description": "invalid api key"})
        token = secrets.token_urlsafe(24)
        self._tokens[token] = self.now() + timedelta(seconds=self.token_seconds)
        return _Reply(
            200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_seconds}
        )

    def _authorised(self, headers: Mapping[str, str]) -> None:
        value = headers.get("authorization", "")
        token = value[7:] if value.startswith("Bearer ") else ""
        expires = self._tokens.get(token)
        if expires is None or self.now() >= expires:
            raise _Problem(401, "Unauthorized: the access token is missing, invalid or expired")

    @staticmethod
    def _paging(query: Mapping[str, str]) -> tuple[int, int]:
        try:
            size = int(query.get("size", "50"))
            page = int(query.get("page", "0"))
        except ValueError:
            raise _Problem(400, "size and page must be integers", field_name="size") from None
        if not 1 <= size <= MAX_SIZE:
            raise _Problem(400, f"size must be between 1 and {MAX_SIZE}", field_name="size")
        if page < 0:
            raise _Problem(400, "page must not be negative", field_name="page")
        return size, page

    @staticmethod
    def _window_of(query: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
        bounds = []
        for key in ("versionStartDate", "versionEndDate"):
            text = query.get(key)
            when = _parse_time(text) if text else None
            if text and when is None:
                raise _Problem(400, f"{key} is not a date-time", field_name=key)
            bounds.append(when)
        return bounds[0], bounds[1]

    def _page(self, items: list[Any], query: Mapping[str, str]) -> _Reply:
        size, page = self._paging(query)
        chunk = items[page * size : (page + 1) * size]
        return _Reply(
            200,
            {
                "results": [i.basic() for i in chunk],
                "meta": {
                    "pageNumber": page,
                    "pageSize": size,
                    "resultCount": len(chunk),
                    "totalCount": len(items),
                },
            },
        )

    def _search_invoices(self, query: Mapping[str, str]) -> _Reply:
        start, end = self._window_of(query)
        types = set(query["types"].split(",")) if query.get("types") else None
        partner = query.get("businessPartnerId")
        found = [
            i
            for i in self._invoices.values()
            if (types is None or i.type in types)
            and (start is None or i.version >= start)
            and (end is None or i.version <= end)
            and (not partner or str(i.partner_id) == partner)
        ]
        if query.get("orderByDate"):
            found.sort(key=lambda i: (i.day, i.id), reverse=query["orderByDate"] != "ASC")
        else:
            found.sort(key=lambda i: i.id, reverse=query.get("orderById", "DESC") != "ASC")
        return self._page(found, query)

    def _search_partners(self, query: Mapping[str, str]) -> _Reply:
        start, end = self._window_of(query)
        kind = query.get("type")
        active = query.get("active", "true").lower() != "false"
        found = [
            p
            for p in self._partners.values()
            if (not kind or p.type == kind)
            and p.active == active
            and (start is None or p.version >= start)
            and (end is None or p.version <= end)
        ]
        found.sort(key=lambda p: p.id, reverse=query.get("orderById", "DESC") != "ASC")
        return self._page(found, query)

    @staticmethod
    def _by_ids(store: Mapping[int, _Invoice | _Partner], text: str) -> _Reply:
        ids = text.split(",")
        if len(ids) > MAX_IDS:
            raise _Problem(400, f"at most {MAX_IDS} ids per request", field_name="id")
        if not all(i.isdigit() for i in ids):
            raise _Problem(400, "ids must be integers", field_name="id")
        found = [store[int(i)].full() for i in sorted(set(ids), key=int) if int(i) in store]
        if not found:
            raise _Problem(404, "Not found")
        return _Reply(200, found[0] if len(ids) == 1 else found)

    def _record(self, entry: LogEntry) -> None:
        with self._lock:
            self._log.append(entry)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the simulator keeps its own request log."""

    def _serve(self) -> None:
        sim: ProcountorSimulator = self.server.sim  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply, faulted = sim.handle(self.command, self.path, headers, body)
        except Exception:  # a simulator bug must still answer, as a 500
            reply, faulted = _Reply(500, _Problem(500, "Simulator error").body), False
        split = urlsplit(self.path)
        sim._record(
            LogEntry(
                method=self.command,
                path=unquote(split.path),
                query=parse_qs(split.query, keep_blank_values=True),
                status=reply.status,
                fault=faulted,
            )
        )
        data = json.dumps(reply.body, separators=(",", ":"), ensure_ascii=False).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve


__all__ = ["ASSUMPTIONS", "DEFAULT_CLIENT", "Fault", "LogEntry", "ProcountorSimulator", "make_hetu"]
