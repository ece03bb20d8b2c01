"""The Procountor connector: sales invoices and the business-partner register, kept by law.

- pull: one stream, `ledger` (see pull.py for rounds, listings, pages and cursors).
- locate: Procountor cannot search by email address, so every listing is read and every record
  fetched (the cost of a full pull; at 5 requests a second about 40 s for 10,000 invoices).
- erase: nothing is deleted through the API (posted invoices cannot be, and the firm keeps the
  register). An invoice under the statutory retention -> RETAINED with basis and end date; after
  it -> AWAITING_MANUAL (the firm deletes at source). A partner-register entry is retained as long
  as its latest sales invoice is; with no invoice under retention -> AWAITING_MANUAL carrying the
  Art. 19 notice to the accounting firm (notice.py). A record gone from Procountor -> already
  absent. The retention rule is the same code as the accounting export's: syncaudit.bookkeeping.
- verify: a fresh look-up; what is still there and not under hold.
- export (access): the person's own fields of one invoice or register entry, read live.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from syncaudit import hetu
from syncaudit.bookkeeping import LEGAL_BASIS, invoice_date, invoice_number, under_hold
from syncaudit.bookkeeping_notice import source_deletion_notice
from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Change,
    ErasureTarget,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    SystemProfile,
)
from syncaudit.errors import PermanentError
from syncaudit.retry import DEFAULT_POLICY, RetryPolicy
from syncaudit_procountor.cursor import LedgerCursor, api_time
from syncaudit_procountor.notice import partner_notice
from syncaudit_procountor.pull import (
    BATCH,
    PAGE_SIZE,
    LedgerReader,
    Listing,
    advance,
    listings_for,
)
from syncaudit_procountor.records import (
    INVOICE,
    PARTNER,
    STREAM,
    Hold,
    Scrubbed,
    business_id,
    holds_address,
    invoice_day,
    kind_and_id,
    partner_people,
    ref_for,
)
from syncaudit_procountor.settings import CAPABILITIES, KIND, ProcountorSettings
from syncaudit_procountor.transport import NotFound, Transport

log = structlog.get_logger(__name__)
PATHS = {INVOICE: "/invoices", PARTNER: "/businesspartners"}


class ProcountorConnector:
    kind = KIND

    def __init__(
        self,
        name: str,
        settings: ProcountorSettings,
        profile: SystemProfile,
        *,
        clock: Clock,
        policy: RetryPolicy = DEFAULT_POLICY,
        transport: Transport | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.name = name
        self.settings = settings
        self.profile = profile
        self.capabilities = CAPABILITIES
        self._clock = clock
        self._policy = policy
        self._transport = transport or Transport(settings, clock=clock)
        self._page_size = page_size
        self._hold = Hold(
            financial_year_end=settings.financial_year_end,
            years=settings.voucher_retention_years,
        )

    @property
    def requests_made(self) -> int:
        return self._transport.requests_made

    def close(self) -> None:
        self._transport.close()

    # -- reads, retried in place ---------------------------------------------------------------

    def _read(self, what: str, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._policy.call(
            lambda: self._transport.get(what, path, params),
            clock=self._clock,
            what=f"procountor.{what}",
        )

    def _list_page(self, listing: Listing, page: int, since: datetime | None) -> Mapping[str, Any]:
        params = {
            **listing.params,
            "orderById": "ASC",
            "size": str(self._page_size),
            "page": str(page),
        }
        if since is not None:
            params["versionStartDate"] = api_time(since)
        body = self._read(f"{listing.kind} list", listing.path, params)
        if not isinstance(body, Mapping):
            raise PermanentError(f"procountor {listing.name}: the answer is not a search result")
        return body

    def _details(self, kind: str, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        """The records of `ids` (digits only), BATCH per request; gone ones are left out."""
        clean = [i for i in dict.fromkeys(str(i) for i in ids) if i.isdigit()]
        found: list[Mapping[str, Any]] = []
        for start in range(0, len(clean), BATCH):
            found += self._batch(kind, clean[start : start + BATCH])
        return found

    def _batch(self, kind: str, ids: list[str]) -> list[Mapping[str, Any]]:
        """Documented: ids not found are left out; 404 only when none of them is found."""
        try:
            body = self._read(f"{kind} details", f"{PATHS[kind]}/{','.join(ids)}")
        except NotFound:
            return []
        wanted = set(ids)
        return [r for r in _records(body) if str(r.get("id")) in wanted]  # only what was asked

    def _today(self) -> date:
        return self._clock.now().astimezone(UTC).date()

    # -- the contract --------------------------------------------------------------------------

    def check(self) -> str:
        invoices = self._read(
            "invoice list", "/invoices", {"types": "SALES_INVOICE", "size": "1", "page": "0"}
        )
        first = self.settings.partner_types[0] if self.settings.partner_types else "CUSTOMER"
        partners = self._read(
            "partner list", "/businesspartners", {"type": first, "size": "1", "page": "0"}
        )
        return (
            f"Procountor ({self.settings.base_url}): {_total(invoices)} sales invoice(s), "
            f"{_total(partners)} {first.lower()} partner(s) reachable"
        )

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        reader = LedgerReader(
            self._list_page,
            self._details,
            partner_types=self.settings.partner_types,
            hold=self._hold,
            lag=timedelta(seconds=self.settings.lag_seconds),
            reconcile_every=timedelta(days=self.settings.reconcile_days),
            page_size=self._page_size,
        )
        text = cursors.get(STREAM)
        cursor = LedgerCursor.loads(text)
        if text and cursor is None:
            log.warning("procountor.cursor_unreadable")
        yield from reader.run(cursor, full=full, now=self._clock.now())

    def _scan(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every invoice and register entry now (locate cannot ask Procountor by address)."""
        for listing in listings_for(self.settings.partner_types):
            page: int | None = 0
            previous: int | None = None
            while page is not None:
                body = self._list_page(listing, page, None)
                rows = [r for r in body.get("results") or [] if isinstance(r, Mapping)]
                for record in self._details(listing.kind, [str(r.get("id")) for r in rows]):
                    yield listing.kind, record
                total = _total(body)
                page, previous = advance(page, len(rows), total, previous, self._page_size), total

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        refs: dict[tuple[str, RecordKind], RecordRef] = {}
        for kind, record in self._scan():
            for record_kind in holds_address(kind, record, target):
                ref = ref_for(self.name, kind, record, record_kind)
                refs.setdefault((ref.external_id, record_kind), ref)
        log.info("procountor.located", records=len(refs))
        return list(refs.values())

    # -- erasure -------------------------------------------------------------------------------

    def _until(self, ref: RecordRef) -> date | None:
        """The end of the ref's legal hold: its invoice's, or a partner's latest invoice's."""
        kind, record_id = kind_and_id(ref.external_id)
        if kind == INVOICE:
            issued = invoice_date(ref)
            return None if issued is None else self._hold.until(issued)
        if not record_id.isdigit():
            return None
        body = self._read(
            "partner invoices",
            "/invoices",
            {
                "types": "SALES_INVOICE",
                "businessPartnerId": record_id,
                "orderByDate": "DESC",
                "size": "1",
                "page": "0",
            },
        )
        rows = body.get("results") if isinstance(body, Mapping) else None
        days = [d for r in rows or [] if isinstance(r, Mapping) and (d := invoice_day(r))]
        return self._hold.until(max(days)) if days else None

    def _exists(self, ref: RecordRef) -> bool:
        kind, record_id = kind_and_id(ref.external_id)
        return kind in PATHS and bool(self._details(kind, [record_id]))

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        until = self._until(ref)
        if until is not None and under_hold(until, self._today()):
            what = (
                f"invoice {invoice_number(ref)} is an accounting voucher"
                if ref.kind is not RecordKind.BUSINESS_PARTNER
                else f"{ref.label} backs invoices that are accounting vouchers"
            )
            return PlannedAction(
                ref=ref,
                action=Action.RETAIN,
                explanation=(
                    f"{what} kept until {until.isoformat()} ({LEGAL_BASIS}); processing is "
                    "restricted, Procountor is not changed, and the accounting firm is to be "
                    "told (Art. 19)"
                ),
            )
        return PlannedAction(ref=ref, action=Action.MANUAL, explanation=self._manual_text(ref))

    def _manual_text(self, ref: RecordRef) -> str:
        if ref.kind is RecordKind.BUSINESS_PARTNER:
            return (
                f"{ref.label} backs no invoice under retention: send the accounting firm the "
                "notice below (they delete it in Procountor), then confirm.\n\n"
                + partner_notice([ref], self.settings.notice_language)
            )
        until = self._until(ref)
        ended = f"ended on {until.isoformat()}" if until else "cannot be determined"
        return (
            f"the retention of invoice {invoice_number(ref)} {ended}: ask the accounting firm "
            "to delete it at source and confirm"
        )

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        if not self._exists(ref):
            return Outcome(
                status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="not in Procountor any more"
            )
        until = self._until(ref)
        if until is not None and under_hold(until, self._today()):
            log.info("procountor.erase", kind=str(ref.kind), outcome="retained")
            return Outcome(
                status=OutcomeStatus.RETAINED,
                ref=ref,
                detail="accounting record under the statutory retention; processing restricted",
                legal_basis=LEGAL_BASIS,
                retained_until=until,
            )
        log.info("procountor.erase", kind=str(ref.kind), outcome="awaiting_manual")
        return Outcome(status=OutcomeStatus.AWAITING_MANUAL, ref=ref, detail=self._manual_text(ref))

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        """What is still there beyond records under hold, by a fresh look-up (the refs given
        that no longer hold the address are gone)."""
        today = self._today()
        remaining = []
        for ref in self.locate(target):
            until = self._until(ref)
            if until is None or not under_hold(until, today):
                remaining.append(ref)
        log.info("procountor.verified", remaining=len(remaining))
        return remaining

    def deletion_notice(self, refs: Sequence[RecordRef], lang: str, *, sender: str = "") -> str:
        """The Art. 19 notice(s) when a legal hold ends: the shared invoice notice, and the
        partner-register notice (notice.py) for register entries."""
        invoices = [r for r in refs if r.kind is not RecordKind.BUSINESS_PARTNER]
        partners = [r for r in refs if r.kind is RecordKind.BUSINESS_PARTNER]
        letters = []
        if invoices:
            letters.append(
                source_deletion_notice(
                    invoices,
                    lang,
                    financial_year_end=self.settings.financial_year_end,
                    retention_years=self.settings.voucher_retention_years,
                    today=self._today(),
                    sender=sender,
                )
            )
        if partners:
            letters.append(partner_notice(partners, lang, sender=sender))
        return "\n\n".join(letters)

    # -- right of access -----------------------------------------------------------------------

    def export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        """The person's fields of the invoice or register entry, read live (no identity codes,
        no other people's data); {} when it is gone or does not hold the address."""
        kind, record_id = kind_and_id(ref.external_id)
        found = self._details(kind, [record_id]) if kind in PATHS else []
        if not found or not holds_address(kind, found[0], target):
            return {}
        if kind == INVOICE:
            return self._export_invoice(found[0], target)
        return self._export_partner(found[0], target)

    def _export_invoice(self, invoice: Mapping[str, Any], target: ErasureTarget) -> dict[str, Any]:
        party = invoice.get("counterParty") or {}
        issued = invoice_day(invoice)
        buyer = target.is_address(party.get("email"))
        out: dict[str, Any] = {
            "system": self.name,
            "invoice": invoice.get("invoiceNumber"),
            "date": issued.isoformat() if issued else None,
            "status": invoice.get("status"),
        }
        if buyer:
            counts = Scrubbed()
            out["buyer"] = {
                "name": _clean((party.get("counterPartyAddress") or {}).get("name")),
                "contact_person": _clean(party.get("contactPersonName")),
                "email": party.get("email"),
                "customer_number": _clean(party.get("customerNumber")),
                "business_id": business_id(party.get("identifier"), counts),
                "address": _address(party.get("counterPartyAddress")),
            }
            out["billing_address"] = _address(invoice.get("billingAddress"))
            out["delivery_address"] = _address(invoice.get("deliveryAddress"))
            out["rows"] = [
                {"product": _clean(r.get("product")), "quantity": r.get("quantity")}
                for r in invoice.get("invoiceRows") or []
                if isinstance(r, Mapping)
            ]
            out["additional_information"] = _clean(invoice.get("additionalInformation"))
        copies = [c for c in party.get("bccAddresses") or () if target.is_address(c)]
        if copies:
            out["copy_sent_to"] = copies
        if issued is not None:
            out["retained_until"] = self._hold.until(issued).isoformat()
            out["legal_basis"] = LEGAL_BASIS
        return out

    def _export_partner(self, partner: Mapping[str, Any], target: ErasureTarget) -> dict[str, Any]:
        counts = Scrubbed()
        info = partner.get("invoicingInfo") or {}
        own = target.is_address(info.get("email"))
        people = [
            {"name": name, "email": email, "role": role}
            for email, name, role in partner_people(partner, counts)
            if target.is_address(email)
        ]
        out: dict[str, Any] = {
            "system": self.name,
            "partner_id": partner.get("id"),
            "type": partner.get("type"),
            "entries": people,
        }
        if own:
            out["name"] = _clean(partner.get("name"))
            out["customer_number"] = _clean(info.get("customerNumber"))
            out["billing_address"] = _address(partner.get("billingAddress"))
        return out


def _records(body: Any) -> list[Mapping[str, Any]]:
    """GET /{ids} answers one object for one id and "a list of resources" for several (the
    documentation shows no example, so a list or a {"results" | "invoices" |
    "businessPartners": [...]} is read)."""
    if isinstance(body, list):
        items: list[Any] = body
    elif isinstance(body, Mapping) and "id" in body:
        items = [body]
    elif isinstance(body, Mapping):
        found: Any = next(
            (body[k] for k in ("results", "invoices", "businessPartners") if k in body), []
        )
        items = found if isinstance(found, list) else []
    else:
        items = []
    return [i for i in items if isinstance(i, Mapping)]


def _total(body: Any) -> int:
    meta = body.get("meta") if isinstance(body, Mapping) else None
    value = meta.get("totalCount") if isinstance(meta, Mapping) else None
    return int(value) if isinstance(value, int) else 0


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text, _ = hetu.scrub(value)
    return text


def _address(value: Any) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    parts = [value.get(k) for k in ("name", "specifier", "street", "zip", "city", "country")]
    return [p for p in (_clean(v) for v in parts) if p]
