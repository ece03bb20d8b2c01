"""CSV headers are recognised by their words; a refusal shows the header and a csv_columns line."""

from __future__ import annotations

import io
import tomllib
from datetime import date

import pytest

from syncaudit.errors import InputFileError
from syncaudit_accounting.csvfile import ByteStats, read_csv
from syncaudit_accounting.headers import field_of, map_columns
from syncaudit_accounting.model import Invoice
from syncaudit_accounting.settings import CSV_FIELDS

ISSUE_HEADER = "Laskunumero;Laskun päivä;Asiakkaan nimi;Y-tunnus;Sähköpostiosoite"


def _csv(data: bytes, **columns: str) -> list[Invoice]:
    stats = ByteStats()
    stats.feed(data, final=True)
    encoding = stats.encoding("x.csv")
    return list(read_csv(io.BytesIO(data), file="x.csv", encoding=encoding, columns=columns))


def _suggested(message: str) -> dict[str, str]:
    line = message[message.index("csv_columns = {") :]
    parsed = tomllib.loads(line)["csv_columns"]
    assert set(parsed) <= set(CSV_FIELDS)
    return dict(parsed)


def test_the_cp1252_export_of_the_issue_is_read() -> None:
    data = (ISSUE_HEADER + "\r\n1042;3.2.2026;Åsa Žukova;1234567-8;asa@koti.example\r\n").encode(
        "cp1252"
    )
    stats = ByteStats()
    stats.feed(data, final=True)
    assert stats.encoding("x.csv") in ("cp1252", "iso-8859-15")
    (invoice,) = _csv(data)
    assert (invoice.number, invoice.date) == ("1042", date(2026, 2, 3))
    assert invoice.parties[0].email == "asa@koti.example"
    assert invoice.parties[0].name == "Åsa Žukova"
    assert "1234567-8" not in repr(invoice), "the Y-tunnus column is never read"


@pytest.mark.parametrize(
    "cell", ["Laskupvm", "Päiväys", "Invoice Date", "Laskun päivä", "LASKUPÄIVÄ", "laskun_pvm:"]
)
def test_date_headers_by_their_words(cell: str) -> None:
    assert field_of(cell) == "invoice_date"
    index = map_columns(["Laskunumero", cell, "Sähköposti"], {}, file="x.csv")
    assert index == {"invoice_number": 0, "invoice_date": 1, "buyer_email": 2}


@pytest.mark.parametrize(
    ("cell", "field"),
    [
        ("Lasku nro", "invoice_number"),
        ("Invoice No.", "invoice_number"),
        ("Sähköpostiosoite", "buyer_email"),
        ("E-mail", "buyer_email"),
        ("Laskun vastaanottajan sähköposti", "recipient_email"),
        ("Yhteyshenkilön nimi", "contact_person"),
        ("Katuosoite", "street"),
        ("Postal code", "postcode"),
        ("Postitoimipaikka", "city"),
        ("Laskutusosoite", "address"),
    ],
)
def test_other_fields_by_their_words(cell: str, field: str) -> None:
    assert field_of(cell) == field


@pytest.mark.parametrize(
    "cell",
    [
        "Eräpäivä",  # due date
        "Toimituspäivä",  # delivery date
        "Kirjauspäivä",  # a date with a word the rules do not know
        "Viitenumero",  # payment reference
        "Tilinumero",
        "Asiakasnumero",
        "Puhelinnumero",
        "Nimike",  # an item, not a person
        "Y-tunnus",
        "Henkilötunnus",
        "Hetu",
        "Identifier",
        "Laskun summa",
    ],
)
def test_look_alikes_claim_nothing(cell: str) -> None:
    assert field_of(cell) is None


def test_two_columns_claiming_a_field_are_refused_with_the_header_and_a_line() -> None:
    header = ["Laskunumero", "Laskupäivä", "Päivämäärä", "Sähköposti"]
    with pytest.raises(InputFileError) as info:
        map_columns(header, {}, file="x.csv")
    message = str(info.value)
    assert info.value.where == "line 1"
    assert 'invoice_date is claimed by "Laskupäivä" and "Päivämäärä"' in message
    assert 'header seen: "Laskunumero;Laskupäivä;Päivämäärä;Sähköposti"' in message
    assert _suggested(message) == {
        "invoice_number": "Laskunumero",
        "invoice_date": "Laskupäivä",
        "buyer_email": "Sähköposti",
    }


def test_csv_columns_settles_a_double_claim() -> None:
    data = "Laskunumero;Laskupäivä;Päivämäärä;Sähköposti\n5;1.2.2026;3.4.2026;a@b.example\n"
    (invoice,) = _csv(data.encode(), invoice_date="päivämäärä")
    assert invoice.date == date(2026, 4, 3)


def test_a_missing_date_column_names_the_header_and_suggests_the_line() -> None:
    data = "Laskunumero;Eräpäivä;Asiakkaan nimi;Sähköpostiosoite\n7;1.2.2026;Eero;e@x.example\n"
    with pytest.raises(InputFileError) as info:
        _csv(data.encode("cp1252"))
    message = str(info.value)
    assert "x.csv (line 1): no column for invoice_date" in message
    assert 'header seen: "Laskunumero;Eräpäivä;Asiakkaan nimi;Sähköpostiosoite"' in message
    assert _suggested(message) == {
        "invoice_number": "Laskunumero",
        "buyer_name": "Asiakkaan nimi",
        "buyer_email": "Sähköpostiosoite",
        "invoice_date": "",
    }
    assert "e@x.example" not in message and "Eero" not in message, "no data row is printed"


def test_the_suggested_line_loads_once_filled_in() -> None:
    with pytest.raises(InputFileError) as info:
        map_columns(['Nro "A"', "Sähköposti"], {}, file="x.csv")
    line = str(info.value)[str(info.value).index("csv_columns") :]
    filled = tomllib.loads(line.replace('invoice_date = ""', 'invoice_date = "Eräpäivä"'))
    assert filled["csv_columns"]["invoice_number"] == 'Nro "A"'


def test_a_headerless_file_is_refused_without_printing_its_first_row() -> None:
    row = "1042;3.2.2026;Åsa Žukova;131052-308T;asa@koti.example"
    with pytest.raises(InputFileError) as info:
        _csv((row + "\n").encode())
    message = str(info.value)
    assert "looks like data" in message
    for secret in ("Åsa", "Žukova", "131052-308T", "asa@koti.example", "3.2.2026"):
        assert secret not in message
