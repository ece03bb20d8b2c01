"""Finnish personal identity codes (henkilötunnus, HETU): recognise them so they are never kept.

Format `DDMMYYCZZZQ`: birth date, century sign (`+` 1800s; `-` or `Y X W V U` 1900s;
`A B C D E F` 2000s), individual number `ZZZ`, check character `Q` =
`"0123456789ABCDEFHJKLMNPRSTUVWXY"[int(DDMMYYZZZ) % 31]`.

Data Protection Act 1050/2018 § 29: a HETU may be processed only on listed grounds, so syncaudit
never indexes one. `scrub` removes HETU-shaped tokens from any text that enters the connector.
"""

from __future__ import annotations

import re
from datetime import date

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY = {"+": 1800, "-": 1900, "A": 2000}
CENTURY.update(dict.fromkeys("YXWVU", 1900))
CENTURY.update(dict.fromkeys("BCDEF", 2000))

# Shape only; `is_valid` checks the date and the check character.
_SHAPE = re.compile(
    r"(?<![0-9])(\d{2})(\d{2})(\d{2})([-+A-FU-Ya-fu-y])(\d{3})([0-9A-Ya-y])(?![0-9A-Za-z])"
)
MASK = "[hetu]"


def check_char(ddmmyy: str, individual: str) -> str:
    return CHECK_CHARS[int(ddmmyy + individual) % 31]


def is_valid(code: str) -> bool:
    """True for a well-formed HETU: a real birth date and the right check character."""
    match = _SHAPE.fullmatch(code.strip())
    return match is not None and _valid_match(match, strict=True)


def _birth_date(match: re.Match[str]) -> date | None:
    day, month, year, sign = (match.group(i) for i in range(1, 5))
    try:
        return date(CENTURY[sign.upper()] + int(year), int(month), int(day))
    except ValueError:
        return None


def _valid_match(match: re.Match[str], *, strict: bool) -> bool:
    if _birth_date(match) is None:
        return False
    if not strict:
        return True
    ddmmyy = match.group(1) + match.group(2) + match.group(3)
    return check_char(ddmmyy, match.group(5)) == match.group(6).upper()


def find(text: str, *, strict: bool = True, canonical: bool = False) -> list[str]:
    """HETUs in `text`. strict=False also returns date-valid codes with a wrong check character
    (a mistyped identity code is still an identity code). canonical=True only upper-case codes,
    as the register writes them (a scan of hex digests then finds no look-alikes)."""
    return [
        m.group(0)
        for m in _SHAPE.finditer(text)
        if _valid_match(m, strict=strict) and not (canonical and m.group(0) != m.group(0).upper())
    ]


def scrub(text: str | None, *, strict: bool = False) -> tuple[str | None, int]:
    """`text` without identity codes, and how many were removed. Names keep their other words
    ("Matti Virtanen (010180-123A)" -> "Matti Virtanen"); nothing left -> None.

    strict=True removes only codes with a valid check character (used on invoice numbers, where
    a date-like number with a wrong check character is more likely a plain number)."""
    if text is None:
        return None, 0
    count = 0

    def _mask(match: re.Match[str]) -> str:
        nonlocal count
        if not _valid_match(match, strict=strict):
            return match.group(0)
        count += 1
        return MASK

    masked = _SHAPE.sub(_mask, text)
    if not count:
        return text, 0
    cleaned = re.sub(r"[(\[{]\s*\[hetu\]\s*[)\]}]", " ", masked)
    cleaned = re.sub(r"(?i)\b(hetu|henkilötunnus|sotu|ssn)\s*[:=]?\s*\[hetu\]", " ", cleaned)
    cleaned = cleaned.replace(MASK, " ")
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" ,;:/-")
    return (cleaned or None), count
