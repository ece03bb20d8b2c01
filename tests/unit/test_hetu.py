"""Identity codes are recognised in every form real exports carry, and scrubbed out of text."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncaudit import hetu
from syncaudit_accounting.corpus import make_hetu


def test_the_published_example_code_is_valid() -> None:
    assert hetu.is_valid("131052-308T")  # the Population Register Centre's example
    assert not hetu.is_valid("131052-308U")  # wrong check character
    assert not hetu.is_valid("310252-308T")  # 31 February


@pytest.mark.parametrize("sign", ["+", "-", "Y", "X", "W", "V", "U", "A", "B", "C", "D", "E", "F"])
def test_every_century_sign_is_recognised(sign: str) -> None:
    code = "010203" + sign + "123" + hetu.check_char("010203", "123")
    assert hetu.is_valid(code)
    assert hetu.find(f"asiakas {code}.") == [code]


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.integers(0, 99))
def test_generated_codes_of_both_centuries_are_valid_and_found(born: date, seed: int) -> None:
    code = make_hetu(born, random.Random(seed))
    assert hetu.is_valid(code)
    assert hetu.find(f"Hetu:{code}, asiakas") == [code]
    text, removed = hetu.scrub(f"Matti Virtanen ({code})")
    assert (text, removed) == ("Matti Virtanen", 1)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Matti Virtanen (131052-308T)", "Matti Virtanen"),
        ("Matti Virtanen 131052-308T", "Matti Virtanen"),
        ("131052-308T Matti Virtanen", "Matti Virtanen"),
        ("Virtanen, Matti, hetu: 131052-308t", "Virtanen, Matti"),
        ("Hetu 131052-308T", None),
        ("131052-308T", None),
    ],
)
def test_scrub_removes_the_code_and_keeps_the_name(raw: str, clean: str | None) -> None:
    text, removed = hetu.scrub(raw)
    assert text == clean
    assert removed == 1
    assert not hetu.find((text or "").upper(), strict=False)


def test_a_mistyped_check_character_is_still_scrubbed_from_names() -> None:
    assert hetu.scrub("Maija 131052-308U") == ("Maija", 1)


def test_strict_scrub_leaves_numbers_that_only_look_like_codes() -> None:
    number = "010124-0011"  # a date-like invoice number whose check character does not fit
    assert not hetu.is_valid(number)
    assert hetu.scrub(number, strict=True) == (number, 0)
    assert hetu.scrub("lasku 131052-308T", strict=True) == ("lasku", 1)


def test_text_without_codes_is_returned_unchanged() -> None:
    for text in ("Kahvila Mäntylä Oy", "1234567-1", "PL 123", "2026-03-02", "20260302"):
        assert hetu.scrub(text) == (text, 0)
    assert hetu.scrub(None) == (None, 0)


def test_canonical_scan_ignores_lower_case_look_alikes() -> None:
    assert hetu.find("x 131052-308t") == ["131052-308t"]
    assert hetu.find("x 131052-308t", canonical=True) == []
    assert hetu.find("x 131052-308T", canonical=True) == ["131052-308T"]
