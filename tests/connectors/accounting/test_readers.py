"""The Finvoice and CSV readers on their own: versions, batches, encodings, CSV variants."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from syncaudit.errors import InputFileError
from syncaudit_accounting import corpus
from syncaudit_accounting.csvfile import ByteStats, read_csv, sniff_delimiter
from syncaudit_accounting.finvoice import read_finvoice
from syncaudit_accounting.headers import FIELDS
from syncaudit_accounting.model import BUYER, DELIVERY, RECIPIENT, Invoice
from syncaudit_accounting.settings import CSV_FIELDS

EXAMPLE = Path("/work/shared/data/finvoice/example-two-buyers-3.0.xml")
SHARED = Path(__file__).resolve().parents[4] / "shared/data/finvoice/example-two-buyers-3.0.xml"


def _xml(data: bytes) -> list[Invoice]:
    return list(read_finvoice(io.BytesIO(data), file="test.xml"))


def _csv(data: bytes, **columns: str) -> list[Invoice]:
    stats = ByteStats()
    stats.feed(data, final=True)
    encoding = stats.encoding("test.csv")
    return list(read_csv(io.BytesIO(data), file="test.csv", encoding=encoding, columns=columns))


def _plans(count: int = 3, seed: int = 3) -> list[corpus.InvoicePlan]:
    plans, _ = corpus.plan_invoices(count, seed=seed)
    return plans


def _person(number: str = "5001") -> corpus.InvoicePlan:
    buyer = corpus.PartyPlan(
        role=BUYER,
        email="Åsa.Žukova@koti.example".replace("Å", "A").replace("Ž", "Z"),
        organisation="Åsa Žukova (131052-308T)",
        street="Hämeenkatu 10 €",
        postcode="33100",
        town="Tampere",
        identifier="131052-308T",
    )
    return corpus.InvoicePlan(
        number=number,
        date=date(2025, 11, 30),
        buyer=buyer,
        free_text="hetu 131052-308T",
        rows=(("Työnohjaus", "95,00"),),
    )


def test_the_official_example_is_read() -> None:
    path = EXAMPLE if EXAMPLE.exists() else SHARED
    if not path.exists():
        pytest.skip("shared Finvoice example not available")
    (invoice,) = _xml(path.read_bytes())
    assert (invoice.number, invoice.date) == ("10232", date(2026, 3, 2))
    by_role = {p.role: p for p in invoice.parties}
    assert by_role[BUYER].email == "pekka.virtanen@asiakas.example"
    assert by_role[BUYER].name == "Pekka Virtanen"
    assert by_role[BUYER].organisation == "Asiakas Ab Oy"
    assert by_role[RECIPIENT].email == "laskut@asiakas.example"
    assert by_role[DELIVERY].address_lines[0] == "Hämeenkatu 10"  # ISO-8859-15 decoded
    assert "7654321-2" not in repr(invoice)  # BuyerPartyIdentifier is never read


@pytest.mark.parametrize("version", ["1.3", "2.0", "2.01", "3.0"])
@pytest.mark.parametrize("encoding", ["ISO-8859-15", "UTF-8"])
def test_every_version_and_encoding(version: str, encoding: str) -> None:
    plan = _person()
    (invoice,) = _xml(corpus.finvoice_file(plan, version, encoding=encoding))
    buyer = invoice.parties[0]
    assert (invoice.number, invoice.date) == ("5001", date(2025, 11, 30))
    assert buyer.email == plan.buyer.email
    assert buyer.name == "Åsa Žukova"  # š/ž/€ survive ISO-8859-15; the HETU does not
    assert buyer.address_lines[0] == "Hämeenkatu 10 €"
    assert "131052-308T" not in repr(invoice)
    assert invoice.hetus_removed == 1


def test_finvoice_1_doctype_is_accepted_without_fetching_it() -> None:
    data = corpus.finvoice_file(_person(), "1.3").replace(
        b'SYSTEM "Finvoice.dtd"', b'SYSTEM "http://127.0.0.1:9/Finvoice.dtd"'
    )
    assert b"<!DOCTYPE" in data
    assert [i.number for i in _xml(data)] == ["5001"]


@pytest.mark.parametrize("per_message", [True, False])
def test_soap_batches_are_split_into_messages(per_message: bool) -> None:
    plans = _plans(25)
    data = corpus.soap_batch(plans, declaration_per_message=per_message)
    invoices = _xml(data)
    assert [i.number for i in invoices] == [p.number for p in plans]
    # Reported lines are lines of the whole file, not of one message.
    lines = data.decode("iso-8859-15").splitlines()
    for invoice in invoices:
        assert lines[invoice.line - 1].startswith("<Finvoice ")


def test_batch_utf8_without_own_declarations_keeps_the_encoding() -> None:
    plan = _person()
    data = corpus.soap_batch([plan, plan], encoding="UTF-8", declaration_per_message=False)
    assert [p.name for i in _xml(data) for p in i.parties] == ["Åsa Žukova", "Åsa Žukova"]


def test_first_organisation_name_wins_and_long_fields_are_refused() -> None:
    data = corpus.finvoice_file(_person(), "3.0").replace(
        b"</BuyerOrganisationName>",
        b"</BuyerOrganisationName><BuyerOrganisationName>Toinen</BuyerOrganisationName>",
        1,
    )
    assert _xml(data)[0].parties[0].organisation == "Åsa Žukova"
    with pytest.raises(InputFileError, match=r"line 2, .*BuyerOrganisationName.*longer than 4096"):
        _xml(corpus.huge_field(10_000))


def test_an_invoice_without_number_names_the_line() -> None:
    data = corpus.finvoice_file(_person(), "3.0").replace(
        b"<InvoiceNumber>5001</InvoiceNumber>", b""
    )
    with pytest.raises(InputFileError, match="no InvoiceDetails/InvoiceNumber") as info:
        _xml(data)
    assert "line" in str(info.value)


def test_xml_that_is_not_finvoice_is_reported() -> None:
    with pytest.raises(InputFileError, match=r"no Finvoice invoice.*Envelope"):
        _xml(corpus.soap_envelope(_person(), "3.0").encode())


# -- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "codec"),
    [
        ({"encoding": "utf-8"}, "utf-8-sig"),
        ({"encoding": "utf-8-sig"}, "utf-8-sig"),
        ({"encoding": "iso-8859-15"}, "iso-8859-15"),
        ({"encoding": "cp1252", "euro_sign": True}, "cp1252"),
    ],
)
def test_encoding_detection(options: dict[str, object], codec: str) -> None:
    data = corpus.csv_export([_person()], **options)  # type: ignore[arg-type]
    stats = ByteStats()
    stats.feed(data, final=True)
    assert stats.encoding("x.csv") == codec
    (invoice,) = _csv(data)
    assert invoice.parties[0].name == "Åsa Žukova"


def test_latin_letters_alone_read_as_iso_8859_15() -> None:
    data = "Laskunumero;Laskupäivä;Sähköposti;Asiakas\n1;1.2.2025;a@b.example;Mäkelä\n"
    assert _csv(data.encode("latin-1"))[0].parties[0].name == "Mäkelä"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("Laskunumero;Sähköposti\n1;ä\n".encode() + b"\xe4\n", "mixes UTF-8"),
        (b"Laskunumero;Nimi\n1;\x81\x80\n", "undecodable"),
        (b"Laskunumero\x00;Nimi\n", "binary"),
    ],
)
def test_undecodable_bytes_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InputFileError, match=reason):
        _csv(data)


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [("a;b;c", ";"), ("a,b,c", ","), ("a\tb\tc", "\t"), ('"a;x",b,c', ","), ("a", ";")],
)
def test_delimiter_is_counted_on_the_header(line: str, delimiter: str) -> None:
    assert sniff_delimiter(line) == delimiter


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"delimiter": ",", "encoding": "utf-8", "headers": corpus.EN_HEADERS},
        {"encoding": "utf-8-sig", "date_format": "%Y-%m-%d"},
        {"delimiter": "\t", "date_format": "%Y%m%d"},
        {"encoding": "cp1252", "euro_sign": True, "date_format": "d.m.yyyy"},
    ],
)
def test_csv_variants_carry_every_buyer(options: dict[str, object]) -> None:
    plans = _plans(12)
    invoices = _csv(corpus.csv_export(plans, **options))  # type: ignore[arg-type]
    assert [(i.number, i.date) for i in invoices] == [(p.number, p.date) for p in plans]
    for invoice, plan in zip(invoices, plans, strict=True):
        assert invoice.parties[0].email == plan.buyer.email
        assert invoice.parties[0].name == plan.buyer.expected_name
        assert not any(c in repr(invoice) for c in ("Y-tunnus", plan.buyer.identifier or "@@"))


def test_operator_header_aliases_win() -> None:
    data = (
        "Lasku nro;Pvm;Sähköpostiosoite (laskutus);Sähköposti;Asiakkaan nimi\n"
        "77;02.03.2026;oikea@koti.example;vaara@koti.example;Eero Ylönen\n"
    ).encode()
    (invoice,) = _csv(data, buyer_email="Sähköpostiosoite (laskutus)")
    assert invoice.parties[0].email == "oikea@koti.example"
    assert (invoice.number, invoice.date) == ("77", date(2026, 3, 2))


def test_a_csv_without_an_email_column_is_refused_with_a_hint() -> None:
    data = b"Laskunumero;Laskup\xe4iv\xe4;Asiakas\n1;1.1.2025;Matti\n"
    with pytest.raises(InputFileError, match=r"no column for buyer_email or recipient_email.*csv_"):
        _csv(data)


def test_procountor_backslash_address_is_split_for_the_export() -> None:
    data = (
        "Laskunumero;Pvm;Sähköposti;Osoite\n"
        "9;2025-05-05;a@b.example;Maija\\Koulukuja 2\\00100\\Helsinki\\FI\n"
    )
    (invoice,) = _csv(data.encode("utf-8"))
    assert invoice.parties[0].address_lines == ("Maija", "Koulukuja 2", "00100", "Helsinki", "FI")


def test_a_bad_row_names_its_line() -> None:
    data = b"Laskunumero;Pvm;Email\n1;1.1.2025;a@b.example\n2;31.2.2025;c@d.example\n"
    with pytest.raises(InputFileError, match="valid invoice date") as info:
        _csv(data)
    assert info.value.where == "line 3"
    assert "c@d.example" not in str(info.value)


def test_every_csv_field_has_a_word_rule() -> None:
    assert set(FIELDS) == set(CSV_FIELDS)
