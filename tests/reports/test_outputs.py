"""Golden files for every report in both languages, and what each format must be.

The scenario is fixed (tests/reports/scenario.py); hashes, the version and the random part of
request ids are masked. After an intended change, regenerate and review the diff:

    SYNCAUDIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports/test_outputs.py
"""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncaudit.app import App
from syncaudit.reports.monthly import build_monthly
from syncaudit.reports.render import render
from syncaudit.reports.ropa import build_ropa
from syncaudit.reports.transfers import build_transfers

from .conftest import normalise
from .scenario import Scenario

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("SYNCAUDIT_UPDATE_GOLDEN") == "1"
BUILDERS: dict[str, Callable[[App, str], dict[str, Any]]] = {
    "monthly": lambda app, lang: build_monthly(app, "2026-03", lang=lang),
    "transfers": lambda app, lang: build_transfers(app, lang=lang),
    "ropa": lambda app, lang: build_ropa(app, lang=lang),
}
KINDS = tuple(BUILDERS)
LANGS = ("en", "fi")


@pytest.fixture(scope="module")
def reports(sqlite_scenario: Scenario) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (kind, lang): build(sqlite_scenario.app, lang)
        for kind, build in BUILDERS.items()
        for lang in LANGS
    }


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {name} was missing and has been written: review it")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if intended, run with SYNCAUDIT_UPDATE_GOLDEN=1"
    )


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fmt", ["html", "md"])
@pytest.mark.parametrize("kind", KINDS)
def test_golden_text_formats(reports: dict[Any, Any], kind: str, fmt: str, lang: str) -> None:
    content = render(kind, reports[(kind, lang)], fmt).decode("utf-8")
    _check_golden(f"{kind}.{lang}.{fmt}", normalise(content))


@pytest.mark.parametrize("kind", KINDS)
def test_golden_json_on_every_database(scenario: Scenario, kind: str) -> None:
    """JSON is language-neutral; the same golden file holds for SQLite and PostgreSQL."""
    report = BUILDERS[kind](scenario.app, "en")
    assert report["schema"] == f"syncaudit.report.{kind}/1"
    _check_golden(f"{kind}.json", normalise(render(kind, report, "json").decode("utf-8")))


def test_json_differs_between_languages_only_in_the_language(reports: dict[Any, Any]) -> None:
    for kind in KINDS:
        en, fi = dict(reports[(kind, "en")]), dict(reports[(kind, "fi")])
        assert (en.pop("language"), fi.pop("language")) == ("en", "fi")
        assert en == fi


# -- HTML: well-formed, self-contained ----------------------------------------------------------

EXTERNAL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_html_is_well_formed_and_loads_nothing_external(
    reports: dict[Any, Any], kind: str, lang: str
) -> None:
    html = render(kind, reports[(kind, lang)], "html").decode("utf-8")
    root = ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))  # raises if not well-formed
    assert root.tag == "html"
    assert root.get("lang") == lang
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}, tag
        for attribute in ("src", "href", "srcset", "data", "xlink:href"):
            value = element.get(attribute)
            assert value is None or value.startswith("#"), (tag, attribute, value)
    style = "".join(e.text or "" for e in root.iter("style"))
    assert "@import" not in style
    assert "url(" not in style
    # The only URL allowed is the SVG namespace name, which is never fetched.
    leftovers = set(EXTERNAL.findall(html)) - {"http://www.w3.org/2000/svg"}
    assert not leftovers


def test_html_monthly_has_its_charts_and_sections(reports: dict[Any, Any]) -> None:
    html = render("monthly", reports[("monthly", "en")], "html").decode("utf-8")
    root = ET.fromstring(html.removeprefix("<!DOCTYPE html>\n"))
    svg = "{http://www.w3.org/2000/svg}svg"
    charts = list(root.iter(svg))
    assert len(charts) == 2
    sections = [s.get("id") for s in root.iter("section")]
    assert sections == ["summary", "requests", "systems", "retention"]


# -- PDF ----------------------------------------------------------------------------------------

PAGES = {
    ("monthly", "en"): [
        ("Monthly compliance report", "Erasure requests"),
        ("Requests handled in the month", "Legal hold"),
        ("Sync health", "Third-country transfers", "Changes since the previous report"),
        ("Retention review", "Evidence"),
    ],
    ("monthly", "fi"): [
        ("Tietosuojan kuukausiraportti", "Poistopyynnöt"),
        ("Kuun aikana käsitellyt pyynnöt", "Lakisääteinen säilytys"),
        ("Synkronoinnin tila", "Siirrot kolmansiin maihin", "Muutokset edellisen raportin"),
        ("Säilytyksen katselmus", "Todisteet"),
    ],
    ("transfers", "en"): [("Third-country transfers", "outside the EEA without a safeguard")],
    ("transfers", "fi"): [("Siirrot kolmansiin maihin", "ETA-alueen ulkopuolella ilman")],
    ("ropa", "en"): [("Record of processing activities", "(a) Controller"), ("(g) Security",)],
}


@pytest.mark.parametrize(("kind", "lang"), list(PAGES))
def test_pdf_has_the_expected_pages(reports: dict[Any, Any], kind: str, lang: str) -> None:
    """The print layout: one section per page, numbered "n / total" in the footer."""
    from pypdf import PdfReader

    pdf = render(kind, reports[(kind, lang)], "pdf")
    assert pdf.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(pdf)).pages
    expected = PAGES[(kind, lang)]
    assert len(pages) == len(expected)
    for number, (page, wanted) in enumerate(zip(pages, expected, strict=True), 1):
        text = " ".join(page.extract_text().split())
        for heading in wanted:
            assert heading in text, f"page {number} lacks {heading!r}"
        assert f"{number} / {len(pages)}" in text


def test_json_is_the_data_the_other_formats_show(reports: dict[Any, Any]) -> None:
    report = reports[("monthly", "en")]
    data = json.loads(render("monthly", report, "json"))
    assert data == json.loads(json.dumps(report))
    markdown = render("monthly", report, "md").decode("utf-8")
    for line in report["request_lines"]:
        assert line["id"] in markdown


def test_the_json_schema_is_documented(reports: dict[Any, Any]) -> None:
    """docs/reports.md names every field down to the second level: the schema cannot drift."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
    for kind in KINDS:
        report = reports[(kind, "en")]
        assert f"`{report['schema']}`" in docs
        names: set[str] = set()
        for key, value in report.items():
            names.add(key)
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and key != "requests":
                    names.update(item)
        missing = sorted(n for n in names if f"`{n}" not in docs)
        assert not missing, f"document in docs/reports.md ({kind}): {missing}"
