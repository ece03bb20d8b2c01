"""Finnish and English: message catalogs and locale-aware dates and numbers.

The catalogs are the .po files beside this module (`locale/<lang>/LC_MESSAGES/messages.po`),
read at run time with Babel and compiled in memory, so an install needs no build step and a
translator edits one text file. English is the source language: its catalog is the identity.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from syncaudit.errors import UsageError

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
# Babel locales: Finnish as in Finland; English with day-month order and a 24-hour clock.
BABEL_LOCALES = {"fi": "fi_FI", "en": "en_GB"}


def check_language(lang: str) -> str:
    if lang not in BABEL_LOCALES:
        raise UsageError(
            f"no report language {lang!r}", next_step=f"Use one of: {', '.join(BABEL_LOCALES)}."
        )
    return lang


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The language's catalog; English (the source) and a missing file fall back to identity."""
    return load_catalog(catalog_path(check_language(lang)), lang)


def load_catalog(path: Path, lang: str) -> gettext.NullTranslations:
    """A .po file compiled in memory (the web console's catalog is read the same way)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=BABEL_LOCALES[lang], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Formatter:
    """What templates call to show a value: every date, time and number goes through here."""

    lang: str
    timezone: str

    @property
    def locale(self) -> str:
        return BABEL_LOCALES[self.lang]

    def gettext(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def date(self, value: dt.date | str | None, style: str = "medium") -> str:
        from babel.dates import format_date

        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, format=style, locale=self.locale)

    def day_month(self, value: dt.date | str) -> str:
        """A short day and month for chart labels: "23 Feb" / "23.2." """
        from babel.dates import format_skeleton

        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_skeleton("MMMd" if self.lang == "en" else "Md", day, locale=self.locale)

    def month(self, value: str | None) -> str:
        """ "2026-03" -> "March 2026" / "maaliskuu 2026"."""
        from babel.dates import format_date

        if not value:
            return "–"
        first = dt.date.fromisoformat(f"{value}-01")
        return format_date(first, format="LLLL y", locale=self.locale)

    def datetime(self, value: dt.datetime | str | None, style: str = "short") -> str:
        from babel.dates import format_datetime

        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return format_datetime(
            value, format=style, tzinfo=ZoneInfo(self.timezone), locale=self.locale
        )

    def number(self, value: float | None) -> str:
        from babel.numbers import format_decimal

        if value is None:
            return "–"
        return format_decimal(value, locale=self.locale)

    def signed(self, value: int | None) -> str:
        """A change: +3, −2 (a real minus sign), ±0."""
        if value is None:
            return "–"
        if value == 0:
            return "±0"
        text = self.number(abs(value))
        return f"+{text}" if value > 0 else f"−{text}"

    def hours(self, value: float | None) -> str:
        from babel.numbers import format_decimal

        if value is None:
            return "–"
        return format_decimal(value, format="#,##0.0", locale=self.locale)

    def country(self, code: str) -> str:
        """The country's name in the report's language, with its code."""
        from babel import Locale

        name = Locale.parse(self.locale).territories.get(code.upper())
        return f"{name} ({code.upper()})" if name else code.upper()
