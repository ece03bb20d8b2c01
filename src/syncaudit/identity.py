"""Email normalisation and keyed pseudonyms: the one place where an address becomes an identity.

Normalisation: trim, lower-case, IDNA-encode the domain. `+tags` and dots are kept, because
different people can own them. Pseudonym: HMAC-SHA256 under a secret key from the environment; the
same value is the subject's key in the index, its name in logs and audit entries, and its tombstone.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from syncaudit.errors import ConfigError, InvalidEmail

MAX_LENGTH = 254
_LOCAL_MAX = 64
# RFC 5322 dot-atom characters plus Unicode letters (RFC 6531: "matti.meikäläinen@..." exists).
# Quoted local parts are refused: nobody uses them in a customer register.
_LOCAL_RE = re.compile(r"^[\w!#$%&'*+/=?^`{|}~.-]+$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The common case, decided by one regex: ASCII dot-atom local part, ASCII LDH labels, a last
# label that starts with a letter (so not all digits). Anything else takes the full checks below.
_PLAIN_RE = re.compile(
    r"[a-z0-9_!#$%&'*+/=?^`{|}~-]+(?:\.[a-z0-9_!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
PSEUDONYM_HEX = 64
MIN_KEY_BYTES = 16


def normalize_email(raw: str) -> str:
    """Return the canonical form of `raw`, or raise InvalidEmail saying why (without echoing it)."""
    if not isinstance(raw, str):
        raise InvalidEmail("not text")
    text = raw.strip().lower()
    if len(text) <= MAX_LENGTH and _PLAIN_RE.fullmatch(text) and text.index("@") <= _LOCAL_MAX:
        return text  # the full checks below would return it unchanged (tests/unit/test_identity)
    return _normalize_checked(text)


def _normalize_checked(text: str) -> str:
    """Every rule, one by one, on stripped lower-case text."""
    if not text:
        raise InvalidEmail("empty")
    if len(text) > MAX_LENGTH * 2:
        raise InvalidEmail("too long")
    if text.count("@") != 1:
        raise InvalidEmail("must contain exactly one @")
    local, domain = text.split("@")
    _check_local(local)
    ascii_domain = _idna_domain(domain)
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_LENGTH:
        raise InvalidEmail("longer than 254 characters")
    return address


def _check_local(local: str) -> None:
    if not local:
        raise InvalidEmail("nothing before the @")
    if len(local) > _LOCAL_MAX:
        raise InvalidEmail("part before the @ is longer than 64 characters")
    if not _LOCAL_RE.match(local):
        raise InvalidEmail("part before the @ has characters not allowed in an address")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidEmail("misplaced dot before the @")


def _idna_domain(domain: str) -> str:
    domain = domain.rstrip(".")
    if not domain:
        raise InvalidEmail("nothing after the @")
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidEmail("domain needs a dot (name@domain.tld)")
    out = []
    for label in labels:
        try:
            encoded = label.encode("idna").decode("ascii") if not label.isascii() else label
        except UnicodeError:
            raise InvalidEmail("domain is not a valid international domain name") from None
        if not _LABEL_RE.match(encoded):
            raise InvalidEmail("domain has an empty, too long or malformed label")
        out.append(encoded)
    if out[-1].isdigit():
        raise InvalidEmail("domain must end in a name, not a number")
    return ".".join(out)


def try_normalize_email(raw: str | None) -> str | None:
    """Normalise, or None for anything that is not an address (used on untrusted imports)."""
    if raw is None:
        return None
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return None


SHA256_BLOCK = 64  # bytes


class Pseudonymizer:
    """Keyed pseudonyms (HMAC-SHA256). Without the key nobody can test a guessed address."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError([f"identity key must be at least {MIN_KEY_BYTES} bytes"])
        # HMAC's two keyed SHA-256 states, computed once (RFC 2104): a pseudonym then costs two
        # copies and two short updates, ~0.6 of hmac.digest's time, which keys SHA-256 afresh
        # for every address of a sync. tests/unit/test_identity.py holds it to hmac.digest. The key
        # itself is not kept.
        block = key if len(key) <= SHA256_BLOCK else hashlib.sha256(key).digest()
        block = block.ljust(SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def of_normalized(self, normalized: str) -> str:
        inner = self._inner.copy()
        inner.update(normalized.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def of_email(self, raw: str) -> str:
        return self.of_normalized(normalize_email(raw))

    def short(self, pseudonym: str) -> str:
        """The form shown to people: long enough to be unique in one register."""
        return "p:" + pseudonym[:12]


def key_from_text(text: str) -> bytes:
    """Keys are stored as hex (from `syncaudit init`); any other text is used as UTF-8 bytes."""
    stripped = text.strip()
    try:
        return bytes.fromhex(stripped)
    except ValueError:
        return stripped.encode("utf-8")


def generate_key() -> str:
    return secrets.token_hex(32)
