"""A generator of realistic accounting exports, for tests, the benchmark and `syncaudit demo`.

There is no remote service to simulate: the accounting firm drops files into a folder. This
module writes such a folder — Finvoice 1.3 / 2.0 / 2.01 / 3.0 (one invoice per file), operators'
SOAP batch files ("SOAP envelope + Finvoice" per invoice), and CSV exports in the variants seen in
practice (`;` `,` tab; UTF-8 with and without BOM, ISO-8859-15, cp1252; dd.mm.yyyy or ISO dates;
Finnish or English headers; one row per invoice line) — with Finnish names, repeat customers,
buyers without or with broken email addresses, and identity codes (HETU, valid check characters,
1900s and 2000s) planted where real exports carry them: BuyerPartyIdentifier, free text, a
"Hetu" column, and sometimes inside a name field.

`generate()` returns a `Corpus` that knows what a correct connector must make of it:
`expected()` maps (stream, external_id) to the people on the invoice, and `hetus` lists every
identity code written, for the scan that proves none reaches a database. Deterministic per seed.
Hostile inputs (XXE, billion laughs, truncated XML, garbage, oversized files) are at the end.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from syncaudit import hetu
from syncaudit.contract import RecordKind
from syncaudit.identity import try_normalize_email
from syncaudit_accounting.model import BUYER, DELIVERY, RECIPIENT

FIRST_NAMES = (
    "Aino", "Eero", "Helmi", "Juha", "Kaisa", "Lauri", "Mikko", "Sanna", "Sini", "Tuomas",
    "Väinö", "Elina", "Päivi", "Jyrki", "Sirpa", "Anna-Liisa", "Jörn", "Åsa", "Riikka", "Ville",
    "Tiina", "Heikki", "Outi", "Kyösti", "Merja", "Pekka", "Satu", "Timo", "Hanna", "Ilkka",
)  # fmt: skip
LAST_NAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
    "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen",
    "Nieminen", "Kärkkäinen", "Pöllänen", "Söderström", "Åberg", "Tšernov", "Ahvenjärvi",
    "Kettunen", "Räsänen", "Östman", "Ylönen", "Väisänen", "Kivelä", "Lindqvist", "Žukova",
)  # fmt: skip
COMPANIES = (
    "Kahvila Mäntylä Oy", "Rakennus Järvinen & Co", "Tilitoimisto Ahjo Oy", "Hyvinvointi Lähde Ky",
    "Tmi Saarinen", "Pohjolan Puu Oy", "Kulttuuriyhdistys Äänes ry", "Esimerkki Ab Oy",
)  # fmt: skip
TOWNS = (
    ("00100", "Helsinki"), ("33100", "Tampere"), ("20100", "Turku"), ("40100", "Jyväskylä"),
    ("90100", "Oulu"), ("65100", "Vaasa"), ("02100", "Espoo"), ("15110", "Lahti"),
)  # fmt: skip
STREETS = ("Hämeenkatu", "Mannerheimintie", "Puistokatu", "Kauppakatu", "Rantatie", "Koulukuja")
DOMAINS = ("posti.example", "asiakas.example", "yritys.example", "koti.example", "mail.example")
ARTICLES = (
    ("Yksilövalmennus 60 min", "120,00"), ("Ryhmävalmennus 4 x 60 min", "400,00"),
    ("Työnohjaus", "95,00"), ("Koulutuspäivä", "1 200,00"), ("Matkakulut", "48,60"),
)  # fmt: skip
SELLER = ("Esimerkki Valmennus Oy", "1234567-1")

VARIANTS = (
    "finvoice-1.3",
    "finvoice-2.0",
    "finvoice-2.01",
    "finvoice-3.0",
    "finvoice-3.0-utf8",
    "soap-batch",
    "soap-batch-one-declaration",
    "csv-procountor-fi",
    "csv-english-utf8",
    "csv-utf8-bom",
    "csv-cp1252",
    "csv-rows-per-line",
    "csv-tab-iso",
)
SINGLE_INVOICE = {"finvoice-1.3", "finvoice-2.0", "finvoice-2.01", "finvoice-3.0",
                  "finvoice-3.0-utf8"}  # fmt: skip
FINVOICE_VERSION = {"finvoice-1.3": "1.3", "finvoice-2.0": "2.0", "finvoice-2.01": "2.01",
                    "finvoice-3.0": "3.0", "finvoice-3.0-utf8": "3.0", "soap-batch": "3.0",
                    "soap-batch-one-declaration": "2.01"}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# People and identity codes


def make_hetu(born: date, rng: random.Random) -> str:
    """A HETU with a valid check character; the century sign varies like real codes (2023)."""
    if born.year >= 2000:
        sign = rng.choice("ABCDEF")
    elif born.year >= 1900:
        sign = rng.choice("-" * 6 + "YXWVU")
    else:
        sign = "+"
    ddmmyy = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
    individual = f"{rng.randint(2, 899):03d}"
    return f"{ddmmyy}{sign}{individual}{hetu.check_char(ddmmyy, individual)}"


def _ascii(text: str) -> str:
    table = str.maketrans("äöåÄÖÅšžŠŽ", "aoaAOAszSZ")
    return "".join(c for c in text.translate(table).lower() if c.isalnum() or c in ".-")


@dataclass(frozen=True, kw_only=True)
class Person:
    first: str
    last: str
    email: str | None  # None: a customer without an email address
    hetu: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def make_person(rng: random.Random, index: int) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 68))  # 1940 .. 2007
    local = f"{_ascii(first)}.{_ascii(last)}{index}"
    email: str | None = f"{local}@{rng.choice(DOMAINS)}"
    roll = rng.random()
    if roll < 0.06:
        email = None
    elif roll < 0.09:
        email = f"{local}(at){rng.choice(DOMAINS)}"  # typed wrong at the firm: not an address
    elif roll < 0.2 and email:
        email = email.title()  # case differs; one normaliser makes it the same person
    return Person(first=first, last=last, email=email, hetu=make_hetu(born, rng))


# ---------------------------------------------------------------------------------------------
# Invoices as planned (what is written) and as expected (what a connector must yield)


@dataclass(frozen=True, kw_only=True)
class PartyPlan:
    role: str
    email: str | None
    organisation: str | None
    contact_person: str | None = None
    street: str = ""
    postcode: str = ""
    town: str = ""
    identifier: str | None = None  # BuyerPartyIdentifier: business ID or HETU; never indexed
    expected_name: str | None = None  # the name once identity codes are scrubbed


@dataclass(frozen=True, kw_only=True)
class InvoicePlan:
    number: str
    date: date
    buyer: PartyPlan
    recipient: PartyPlan | None = None
    delivery: PartyPlan | None = None
    free_text: str = ""
    rows: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.number}@{self.date.isoformat()}"

    def parties(self) -> tuple[PartyPlan, ...]:
        return tuple(p for p in (self.buyer, self.recipient, self.delivery) if p is not None)


def plan_invoices(
    count: int, *, seed: int = 0, first_number: int = 10001, start: date = date(2024, 1, 2)
) -> tuple[list[InvoicePlan], set[str]]:
    """`count` invoices over two years, and every identity code written into them."""
    rng = random.Random(seed)
    people = [make_person(rng, i) for i in range(max(8, count // 3))]  # repeat customers
    hetus: set[str] = set()
    plans = []
    for i in range(count):
        issued = start + timedelta(days=(i * 730) // max(count, 1))
        plan = _plan_one(rng, str(first_number + i), issued, people, hetus)
        plans.append(plan)
    return plans, hetus


def _plan_one(
    rng: random.Random, number: str, issued: date, people: list[Person], hetus: set[str]
) -> InvoicePlan:
    person = rng.choice(people)
    postcode, town = rng.choice(TOWNS)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 60)}"
    consumer = rng.random() < 0.6
    written_name = person.name
    contact: str | None = None
    if consumer:
        identifier: str | None = person.hetu if rng.random() < 0.5 else None
        if rng.random() < 0.1:  # the firm typed the identity code into the name field
            written_name = rng.choice(
                [f"{person.name} ({person.hetu})", f"{person.name} {person.hetu}"]
            )
        organisation = written_name
    else:
        identifier = f"{rng.randint(1000000, 9999999)}-{rng.randint(0, 9)}"
        organisation = rng.choice(COMPANIES)
        contact = person.name
        if rng.random() < 0.05:
            contact = f"{person.hetu} {person.name}"
    if identifier and hetu.is_valid(identifier):
        hetus.add(identifier)
    hetus.update(hetu.find(written_name + " " + (contact or "")))
    buyer = PartyPlan(
        role=BUYER,
        email=person.email,
        organisation=organisation,
        contact_person=contact,
        street=street,
        postcode=postcode,
        town=town,
        identifier=identifier,
        expected_name=person.name if (contact or consumer) else organisation,
    )
    recipient = None
    if not consumer and rng.random() < 0.5:
        box = f"laskut{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
        recipient = PartyPlan(role=RECIPIENT, email=box, organisation=None, expected_name=None)
    delivery = None
    if rng.random() < 0.15:
        other = rng.choice(people)
        delivery = PartyPlan(
            role=DELIVERY,
            email=other.email,
            organisation=other.name,
            contact_person=None,
            street=f"{rng.choice(STREETS)} {rng.randint(1, 60)}",
            postcode=postcode,
            town=town,
            expected_name=other.name,
        )
    free_text = ""
    if consumer and rng.random() < 0.2:
        free_text = f"Asiakkaan henkilötunnus {person.hetu}, maksusuunnitelma sovittu."
        hetus.add(person.hetu)
    rows = tuple(rng.sample(ARTICLES, rng.randint(1, 3)))
    return InvoicePlan(
        number=number,
        date=issued,
        buyer=buyer,
        recipient=recipient,
        delivery=delivery,
        free_text=free_text,
        rows=rows,
    )


Expected = dict[tuple[str, str], frozenset[tuple[RecordKind, str, str | None]]]


def expected_people(
    plan: InvoicePlan, *, with_delivery: bool = True
) -> set[tuple[RecordKind, str, str | None]]:
    """(kind, normalised email, name) of everyone with a usable address on the invoice."""
    out: dict[tuple[RecordKind, str], str | None] = {}
    for party in plan.parties():
        if party.role == DELIVERY and not with_delivery:
            continue
        normalized = try_normalize_email(party.email)
        if normalized is None:
            continue
        kind = RecordKind.INVOICE_BUYER if party.role == BUYER else RecordKind.INVOICE_RECIPIENT
        if out.get((kind, normalized)) is None:
            out[(kind, normalized)] = party.expected_name
    return {(kind, email, name) for (kind, email), name in out.items()}


@dataclass
class CorpusFile:
    name: str  # relative to the corpus root
    variant: str
    invoices: list[InvoicePlan]

    @property
    def stream(self) -> str:
        return "file:" + self.name


@dataclass
class Corpus:
    root: Path
    files: list[CorpusFile] = field(default_factory=list)
    hetus: set[str] = field(default_factory=set)

    @property
    def invoice_count(self) -> int:
        return sum(len(f.invoices) for f in self.files)

    def expected(self) -> Expected:
        out: dict[tuple[str, str], set[tuple[RecordKind, str, str | None]]] = {}
        for corpus_file in self.files:
            # Only Finvoice 3.0 carries a delivery email; CSV exports have no delivery party.
            delivery = FINVOICE_VERSION.get(corpus_file.variant) == "3.0"
            for plan in corpus_file.invoices:
                people = expected_people(plan, with_delivery=delivery)
                if people:
                    out.setdefault((corpus_file.stream, plan.key), set()).update(people)
        return {key: frozenset(value) for key, value in out.items()}


# ---------------------------------------------------------------------------------------------
# Finvoice


def _el(tag: str, text: str | None) -> str:
    return f"<{tag}>{escape(text)}</{tag}>" if text else ""


def _address(prefix: str, party: PartyPlan) -> str:
    if not party.street:
        return ""
    return (
        f"<{prefix}PostalAddressDetails>{_el(prefix + 'StreetName', party.street)}"
        f"{_el(prefix + 'TownName', party.town)}"
        f"{_el(prefix + 'PostCodeIdentifier', party.postcode)}"
        f"<CountryCode>FI</CountryCode></{prefix}PostalAddressDetails>"
    )


def finvoice_body(plan: InvoicePlan, version: str) -> str:
    """One <Finvoice> element of the given version (element order of the 3.0 schema)."""
    modern = version != "1.3"
    with_delivery_contact = version == "3.0"
    schema = (
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:noNamespaceSchemaLocation="Finvoice{version}.xsd"'
        if modern
        else ""
    )
    parts = [f'<Finvoice Version="{version}"{schema}>']
    if modern:
        parts.append(
            "<MessageTransmissionDetails><MessageSenderDetails>"
            "<FromIdentifier>003712345671</FromIdentifier><FromIntermediator>NDEAFIHH"
            "</FromIntermediator></MessageSenderDetails><MessageReceiverDetails>"
            "<ToIdentifier>FI2112345600000785</ToIdentifier><ToIntermediator>NDEAFIHH"
            f"</ToIntermediator></MessageReceiverDetails><MessageDetails><MessageIdentifier>"
            f"{plan.number}</MessageIdentifier><MessageTimeStamp>{plan.date.isoformat()}T08:00:00"
            "</MessageTimeStamp></MessageDetails></MessageTransmissionDetails>"
        )
    parts.append(
        f"<SellerPartyDetails><SellerPartyIdentifier>{SELLER[1]}</SellerPartyIdentifier>"
        f"<SellerOrganisationName>{SELLER[0]}</SellerOrganisationName>"
        "<SellerPostalAddressDetails><SellerStreetName>Mannerheimintie 1 A</SellerStreetName>"
        "<SellerTownName>Helsinki</SellerTownName><SellerPostCodeIdentifier>00100"
        "</SellerPostCodeIdentifier><CountryCode>FI</CountryCode></SellerPostalAddressDetails>"
        "</SellerPartyDetails>"
    )
    if plan.recipient is not None and modern:
        parts.append(
            "<InvoiceRecipientCommunicationDetails>"
            f"{_el('InvoiceRecipientEmailaddressIdentifier', plan.recipient.email)}"
            "</InvoiceRecipientCommunicationDetails>"
        )
    buyer = plan.buyer
    parts.append(
        f"<BuyerPartyDetails>{_el('BuyerPartyIdentifier', buyer.identifier)}"
        f"{_el('BuyerOrganisationName', buyer.organisation)}{_address('Buyer', buyer)}"
        f"</BuyerPartyDetails>{_el('BuyerContactPersonName', buyer.contact_person)}"
        "<BuyerCommunicationDetails><BuyerPhoneNumberIdentifier>040 123 4567"
        "</BuyerPhoneNumberIdentifier>"
        f"{_el('BuyerEmailaddressIdentifier', buyer.email)}</BuyerCommunicationDetails>"
    )
    if plan.delivery is not None:
        d = plan.delivery
        parts.append(
            f"<DeliveryPartyDetails>{_el('DeliveryOrganisationName', d.organisation)}"
            f"{_address('Delivery', d)}</DeliveryPartyDetails>"
        )
        if with_delivery_contact:
            parts.append(
                "<DeliveryCommunicationDetails>"
                f"{_el('DeliveryEmailaddressIdentifier', d.email)}</DeliveryCommunicationDetails>"
            )
    total = sum(_cents(amount) for _, amount in plan.rows)
    parts.append(
        "<InvoiceDetails><InvoiceTypeCode>INV01</InvoiceTypeCode><InvoiceTypeText>LASKU"
        f"</InvoiceTypeText><OriginCode>Original</OriginCode>{_el('InvoiceNumber', plan.number)}"
        f'<InvoiceDate Format="CCYYMMDD">{plan.date:%Y%m%d}</InvoiceDate>'
        f'<InvoiceTotalVatIncludedAmount AmountCurrencyIdentifier="EUR">{_money(total)}'
        f"</InvoiceTotalVatIncludedAmount>{_el('InvoiceFreeText', plan.free_text)}"
        "</InvoiceDetails>"
    )
    for article, amount in plan.rows:
        parts.append(
            f"<InvoiceRow>{_el('ArticleName', article)}"
            f'<RowAmount AmountCurrencyIdentifier="EUR">{amount}</RowAmount></InvoiceRow>'
        )
    parts.append(
        "<EpiDetails><EpiIdentificationDetails>"
        f'<EpiDate Format="CCYYMMDD">{plan.date:%Y%m%d}</EpiDate>'
        f"<EpiReference>{plan.number}</EpiReference></EpiIdentificationDetails>"
        f'<EpiPaymentInstructionDetails><EpiInstructedAmount AmountCurrencyIdentifier="EUR">'
        f"{_money(total)}</EpiInstructedAmount></EpiPaymentInstructionDetails></EpiDetails>"
        "</Finvoice>"
    )
    return "\n".join(parts)


def _cents(amount: str) -> int:
    return int(amount.replace(" ", "").replace(",", ""))


def _money(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def _declaration(encoding: str) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?>\n'


def finvoice_file(plan: InvoicePlan, version: str, *, encoding: str = "ISO-8859-15") -> bytes:
    """One invoice as a Finvoice file; 1.3 carries the DOCTYPE line real 1.x files had."""
    doctype = '<!DOCTYPE Finvoice SYSTEM "Finvoice.dtd">\n' if version == "1.3" else ""
    stylesheet = f'<?xml-stylesheet type="text/xsl" href="Finvoice{version}.xsl"?>\n'
    text = _declaration(encoding) + doctype + stylesheet + finvoice_body(plan, version) + "\n"
    return text.encode(encoding)


def soap_envelope(plan: InvoicePlan, version: str) -> str:
    return (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:eb="http://www.oasis-open.org/committees/ebxml-msg/schema/msg-header-2_0.xsd">\n'
        '<SOAP-ENV:Header><eb:MessageHeader SOAP-ENV:mustUnderstand="1" eb:version="2.0">'
        "<eb:From><eb:PartyId>003712345671</eb:PartyId><eb:Role>Sender</eb:Role></eb:From>"
        "<eb:From><eb:PartyId>NDEAFIHH</eb:PartyId><eb:Role>Intermediator</eb:Role></eb:From>"
        "<eb:To><eb:PartyId>FI2112345600000785</eb:PartyId><eb:Role>Receiver</eb:Role></eb:To>"
        "<eb:CPAId>yoursandmycpa</eb:CPAId><eb:Service>Routing</eb:Service>"
        "<eb:Action>ProcessInvoice</eb:Action><eb:MessageData>"
        f"<eb:MessageId>{plan.number}/{plan.date:%Y%m%d}</eb:MessageId>"
        f"<eb:Timestamp>{plan.date.isoformat()}T08:00:00+02:00</eb:Timestamp>"
        "</eb:MessageData></eb:MessageHeader></SOAP-ENV:Header>\n"
        '<SOAP-ENV:Body><eb:Manifest eb:id="Manifest" eb:version="2.0">'
        f'<eb:Reference eb:id="Finvoice" xlink:href="{plan.number}">'
        f'<eb:Schema eb:location="http://www.finvoice.info/Finvoice{version}.xsd" '
        f'eb:version="{version}"/></eb:Reference></eb:Manifest></SOAP-ENV:Body>\n'
        "</SOAP-ENV:Envelope>\n"
    )


def soap_batch(
    plans: Sequence[InvoicePlan],
    *,
    version: str = "3.0",
    encoding: str = "ISO-8859-15",
    declaration_per_message: bool = True,
) -> bytes:
    """A bank/operator batch: envelope + Finvoice repeated; not one well-formed document."""
    parts = []
    for i, plan in enumerate(plans):
        if i == 0 or declaration_per_message:
            parts.append(_declaration(encoding))
        parts.append(soap_envelope(plan, version))
        if declaration_per_message:
            parts.append(_declaration(encoding))
        parts.append(finvoice_body(plan, version) + "\n")
    return "".join(parts).encode(encoding)


# ---------------------------------------------------------------------------------------------
# CSV

FI_HEADERS = {
    "number": "Laskunumero", "date": "Laskupäivä", "buyer": "Asiakas", "id": "Y-tunnus/Hetu",
    "contact": "Yhteyshenkilö", "email": "Sähköposti",
    "recipient": "Laskun vastaanottajan sähköposti",
    "street": "Katuosoite", "postcode": "Postinumero", "city": "Postitoimipaikka",
    "total": "Summa", "notes": "Lisätiedot", "article": "Tuote",
}  # fmt: skip
EN_HEADERS = {
    "number": "Invoice number", "date": "Invoice date", "buyer": "Customer", "id": "Identifier",
    "contact": "Contact person", "email": "Email", "recipient": "Recipient email",
    "street": "Street", "postcode": "Postcode", "city": "City", "total": "Total",
    "notes": "Notes", "article": "Article",
}  # fmt: skip


CSV_COLUMNS = ("number", "date", "buyer", "id", "contact", "email", "recipient", "street",
               "postcode", "city", "total", "notes")  # fmt: skip


def csv_export(
    plans: Sequence[InvoicePlan],
    *,
    delimiter: str = ";",
    encoding: str = "iso-8859-15",
    headers: Mapping[str, str] = FI_HEADERS,
    date_format: str = "%d.%m.%Y",
    euro_sign: bool = False,
    row_per_line: bool = False,
) -> bytes:
    """A spreadsheet-style export. `encoding="utf-8-sig"` writes a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    columns: tuple[str, ...] = CSV_COLUMNS
    if row_per_line:
        columns = (*columns, "article")
    writer.writerow([headers[c] for c in columns])
    for plan in plans:
        total = _money(sum(_cents(a) for _, a in plan.rows)) + (" €" if euro_sign else "")
        b = plan.buyer
        values = {
            "number": plan.number,
            "date": _format_date(plan.date, date_format),
            "buyer": b.organisation or "",
            "id": b.identifier or "",
            "contact": b.contact_person or "",
            "email": b.email or "",
            "recipient": (plan.recipient.email or "") if plan.recipient else "",
            "street": b.street,
            "postcode": b.postcode,
            "city": b.town,
            "total": total,
            "notes": plan.free_text,
        }
        articles = [a for a, _ in plan.rows] if row_per_line else [""]
        for article in articles:
            writer.writerow([{**values, "article": article}[c] for c in columns])
    return out.getvalue().encode(encoding)


def _format_date(day: date, fmt: str) -> str:
    if fmt == "d.m.yyyy":  # no leading zeros (strftime's %-d is not portable)
        return f"{day.day}.{day.month}.{day.year}"
    return day.strftime(fmt)


# ---------------------------------------------------------------------------------------------
# A whole folder


def write_variant(
    root: Path, variant: str, plans: list[InvoicePlan], index: int
) -> list[CorpusFile]:
    """Write `plans` in one variant; single-invoice Finvoice variants write one file each."""
    folder = root / variant
    folder.mkdir(parents=True, exist_ok=True)
    written: list[CorpusFile] = []
    if variant in SINGLE_INVOICE:
        version = FINVOICE_VERSION[variant]
        encoding = "UTF-8" if variant.endswith("utf8") else "ISO-8859-15"
        for plan in plans:
            name = f"{variant}/finvoice_{plan.number}.xml"
            (root / name).write_bytes(finvoice_file(plan, version, encoding=encoding))
            written.append(CorpusFile(name=name, variant=variant, invoices=[plan]))
        return written
    data = _batch_bytes(variant, plans)
    suffix = "xml" if variant.startswith("soap") else "csv"
    name = f"{variant}/export_{index:04d}.{suffix}"
    (root / name).write_bytes(data)
    return [CorpusFile(name=name, variant=variant, invoices=list(plans))]


def _batch_bytes(variant: str, plans: list[InvoicePlan]) -> bytes:
    if variant == "soap-batch":
        return soap_batch(plans)
    if variant == "soap-batch-one-declaration":
        return soap_batch(plans, version="2.01", encoding="UTF-8", declaration_per_message=False)
    options: dict[str, dict[str, object]] = {
        "csv-procountor-fi": {},
        "csv-english-utf8": {"delimiter": ",", "encoding": "utf-8", "headers": EN_HEADERS,
                             "date_format": "%Y-%m-%d"},
        "csv-utf8-bom": {"encoding": "utf-8-sig"},
        "csv-cp1252": {"encoding": "cp1252", "euro_sign": True, "date_format": "d.m.yyyy"},
        "csv-rows-per-line": {"row_per_line": True, "encoding": "utf-8"},
        "csv-tab-iso": {"delimiter": "\t", "headers": EN_HEADERS, "date_format": "%Y%m%d"},
    }  # fmt: skip
    if variant not in options:
        raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    return csv_export(plans, **options[variant])  # type: ignore[arg-type]


def generate(
    root: Path,
    *,
    invoices: int = 130,
    seed: int = 0,
    variants: Iterable[str] = VARIANTS,
    per_file: int = 10,
) -> Corpus:
    """A folder with `invoices` invoices spread round-robin over `variants`."""
    chosen = list(variants)
    plans, hetus = plan_invoices(invoices, seed=seed)
    by_variant: dict[str, list[InvoicePlan]] = {v: [] for v in chosen}
    for i, plan in enumerate(plans):
        variant = chosen[i % len(chosen)]
        # Finvoice 1.3 has no invoice-recipient email
        by_variant[variant].append(
            replace(plan, recipient=None) if variant == "finvoice-1.3" else plan
        )
    corpus = Corpus(root=root, hetus=hetus)
    for variant, items in by_variant.items():
        for start in range(0, len(items), per_file):
            chunk = items[start : start + per_file]
            corpus.files += write_variant(root, variant, chunk, start // per_file)
    return corpus


# ---------------------------------------------------------------------------------------------
# Hostile inputs


def xxe() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE Finvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<Finvoice Version="3.0"><BuyerPartyDetails><BuyerOrganisationName>&xxe;'
        b"</BuyerOrganisationName></BuyerPartyDetails></Finvoice>\n"
    )


def billion_laughs() -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE Finvoice [", ' <!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = f"&lol{level - 1};" * 10
        lines.append(f' <!ENTITY lol{level} "{refs}">')
    lines += ["]>", '<Finvoice Version="3.0"><InvoiceDetails><InvoiceNumber>&lol9;',
              "</InvoiceNumber></InvoiceDetails></Finvoice>"]  # fmt: skip
    return "\n".join(lines).encode()


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


def garbage(size: int = 4096, *, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def huge_field(size: int) -> bytes:
    """A Finvoice whose buyer name is `size` bytes long (a memory attack)."""
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<Finvoice Version="3.0"><BuyerPartyDetails>'
    head += b"<BuyerOrganisationName>"
    tail = b"</BuyerOrganisationName></BuyerPartyDetails></Finvoice>\n"
    return head + b"A" * max(size - len(head) - len(tail), 0) + tail
