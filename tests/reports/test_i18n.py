"""Finnish and English: every text translated, placeholders intact, locale formats."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from syncaudit.errors import UsageError
from syncaudit.reports.i18n import Formatter, catalog_path, check_language, translations

PACKAGE = files("syncaudit.reports")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.md", "jinja2"),
    ("**/templates/**.j2", "jinja2"),
]


def _used_messages() -> set[str | tuple[str, ...]]:
    options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern, _ in METHODS[1:]}
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=METHODS, options_map=options
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _finnish() -> dict[str | tuple[str, ...], object]:
    with catalog_path("fi").open("rb") as handle:
        catalog = read_po(handle)
    return {
        (m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id and not m.fuzzy
    }


def test_every_text_has_a_finnish_translation() -> None:
    used = _used_messages()
    assert len(used) > 150
    finnish = _finnish()
    missing = [m for m in used if m not in finnish or not _strings(finnish[m])[0]]
    assert not missing, f"translate in {catalog_path('fi')}: {missing}"
    unused = [m for m in finnish if m not in used]
    assert not unused, f"no longer used, remove from the catalog: {unused}"


def _strings(message: object) -> list[str]:
    value = message.string  # type: ignore[attr-defined]
    return [value] if isinstance(value, str) else list(value)


def test_translations_keep_every_placeholder() -> None:
    for msgid, message in _finnish().items():
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in _strings(message):
            assert set(PLACEHOLDER.findall(text)) == wanted, (msgid, text)


def test_the_catalog_ships_inside_the_package() -> None:
    # Loaded at run time from the package directory: a wheel includes it, nothing to compile.
    assert (PACKAGE / "locale" / "fi" / "LC_MESSAGES" / "messages.po").is_file()
    assert translations("fi").gettext("Erasure requests") == "Poistopyynnöt"
    assert translations("en").gettext("Erasure requests") == "Erasure requests"
    assert (
        translations("fi").ngettext("%(count)s record", "%(count)s records", 2)
        == "%(count)s tietuetta"
    )


def test_dates_and_numbers_follow_the_locale() -> None:
    fi, en = Formatter("fi", "Europe/Helsinki"), Formatter("en", "Europe/Helsinki")
    when = "2026-03-03T10:00:00+00:00"
    assert fi.datetime(when) == "3.3.2026 12.00"
    assert en.datetime(when) == "03/03/2026, 12:00"
    assert (fi.hours(2.75), en.hours(2.75)) == ("2,8", "2.8")
    assert fi.number(12345) == "12\xa0345"
    assert en.number(12345) == "12,345"
    assert (fi.month("2026-03"), en.month("2026-03")) == ("maaliskuu 2026", "March 2026")
    assert fi.country("US") == "Yhdysvallat (US)"
    assert (en.signed(3), en.signed(-2), en.signed(0)) == ("+3", "−2", "±0")
    assert fi.date(None) == "–"


def test_an_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        check_language("sv")
    assert "fi, en" in info.value.next_step
