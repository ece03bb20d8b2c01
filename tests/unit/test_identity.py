from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncaudit.errors import InvalidEmail
from syncaudit.identity import Pseudonymizer, _normalize_checked, normalize_email

LOCAL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-",
    min_size=1,
    max_size=30,
)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöåüé0123456789", min_size=1, max_size=20)
DOMAIN = st.lists(LABEL, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "fi"]))


def _valid(local: str, domain: str) -> str | None:
    try:
        return normalize_email(f"{local}@{domain}")
    except InvalidEmail:
        return None


@given(LOCAL, DOMAIN)
def test_idempotent(local: str, domain: str) -> None:
    once = _valid(local, domain)
    if once is not None:
        assert normalize_email(once) == once


@given(LOCAL, DOMAIN)
def test_case_and_whitespace_insensitive(local: str, domain: str) -> None:
    once = _valid(local, domain)
    if once is not None:
        assert normalize_email(f"  {local.upper()}@{domain.upper()}\t") == once


@given(LOCAL, DOMAIN)
def test_idna_round_trip(local: str, domain: str) -> None:
    once = _valid(local, domain)
    if once is not None:
        ascii_domain = once.split("@")[1]
        assert ascii_domain.isascii()
        unicode_domain = ascii_domain.encode("ascii").decode("idna")
        assert normalize_email(f"{local}@{unicode_domain}") == once


@given(st.text(max_size=80))
def test_any_text_normalises_or_raises_the_typed_error(text: str) -> None:
    try:
        result = normalize_email(text)
    except InvalidEmail as exc:
        assert exc.reason
        assert text.strip() == "" or text not in str(exc) or len(text) < 3
    else:
        assert result.count("@") == 1


def test_tags_and_dots_are_kept_and_domain_idna_encoded() -> None:
    assert normalize_email(" Matti.Meikäläinen+news@Esimerkki-Yritys.FI ") == (
        "matti.meikäläinen+news@esimerkki-yritys.fi"
    )
    assert normalize_email("a.b+news@Ääkkönen.fi") == "a.b+news@xn--kknen-fraa0m.fi"
    assert normalize_email("A.B@example.fi") != normalize_email("ab@example.fi")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("no-at.example.fi", "exactly one @"),
        ("a@@b.fi", "exactly one @"),
        ("@example.fi", "nothing before"),
        ("a@", "nothing after"),
        ("a@localhost", "needs a dot"),
        ("a..b@example.fi", "misplaced dot"),
        ("a b@example.fi", "not allowed"),
        ("a@-x.fi", "malformed label"),
        ("a@example.123", "name, not a number"),
    ],
)
def test_invalid_inputs_say_why_without_echoing(raw: str, reason: str) -> None:
    with pytest.raises(InvalidEmail) as info:
        normalize_email(raw)
    assert reason in info.value.reason
    if "@" in raw and len(raw) > 3:
        assert raw not in str(info.value)


def test_pseudonym_is_keyed_and_stable() -> None:
    a, b = Pseudonymizer(b"k" * 32), Pseudonymizer(b"j" * 32)
    assert a.of_email("X@Example.fi") == a.of_email("x@example.fi")
    assert a.of_email("x@example.fi") != b.of_email("x@example.fi")
    assert len(a.of_email("x@example.fi")) == 64


PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_+'", min_size=1, max_size=70)


@given(PLAIN, st.lists(PLAIN, min_size=1, max_size=4))
def test_the_one_regex_fast_path_agrees_with_every_rule(local: str, labels: list[str]) -> None:
    """normalize_email decides plain ASCII addresses by one regex; the rules agree on each."""
    text = f"{local}@{'.'.join(labels)}"
    try:
        expected: str | None = _normalize_checked(text)
    except InvalidEmail:
        expected = None
    try:
        got: str | None = normalize_email(text)
    except InvalidEmail:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    "raw",
    ["a..b@x.fi", ".a@x.fi", "a.@x.fi", "a@x.123", "a@-x.fi", "a@x-.fi", "a@x", "a" * 65 + "@x.fi"],
)
def test_fast_path_refuses_what_the_rules_refuse(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_pseudonyms_are_hmac_sha256_of_the_normalised_address_for_any_key_length() -> None:
    """The precomputed HMAC states give what the standard library's HMAC gives, for keys
    shorter than, equal to and longer than SHA-256's 64-byte block."""
    import hmac as std_hmac

    for key in (b"k" * 32, bytes(range(64)), b"long key " * 20):
        pseudo = Pseudonymizer(key)
        for address in ("anna.virtanen@example.fi", "äiti@esimerkki.fi", "a@b.c" * 50):
            expected = std_hmac.digest(key, address.encode("utf-8"), "sha256").hex()
            assert pseudo.of_normalized(address) == expected
