"""Members as the index sees them: ids, the fields asked for, and the ItemUpsert they become."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from syncaudit.contract import ErasureTarget, ItemUpsert, Observation, RecordKind
from syncaudit_mailchimp.cursor import parse_time

STREAM_PREFIX = "audience:"

# Only what the index needs (names, status, dates), plus total_items for paging. The client
# splits a *string* into characters, so these are always passed as a list.
LISTING_FIELDS = [
    "members.id",
    "members.email_address",
    "members.full_name",
    "members.merge_fields.FNAME",
    "members.merge_fields.LNAME",
    "members.status",
    "members.timestamp_signup",
    "members.last_changed",
    "total_items",
]
IDENTITY_FIELDS = ["id", "email_address", "status"]
EXPORT_EXCLUDE = ["_links", "stats", "member_rating", "web_id", "interests"]

_DETAILS: dict[str, Mapping[str, str]] = {}
_LOCATORS: dict[str, Mapping[str, str]] = {}


def stream_for(list_id: str) -> str:
    return STREAM_PREFIX + list_id


def list_id_of(stream: str) -> str:
    return stream[len(STREAM_PREFIX) :] if stream.startswith(STREAM_PREFIX) else ""


def subscriber_hash(address: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(address.lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def candidate_hashes(normalized: str) -> list[str]:
    """Member ids the person may have: the address as normalised (IDNA domain) and, for an
    internationalised domain, as typed in Unicode (Mailchimp hashes what it stores). None when
    the address is not known (a re-erasure by pseudonym: the refs come from the pull)."""
    if not normalized:
        return []
    hashes = [subscriber_hash(normalized)]
    local, _, domain = normalized.rpartition("@")
    if "xn--" in domain:
        try:
            unicode_domain = domain.encode("ascii").decode("idna")
        except UnicodeError:
            return hashes
        alternative = subscriber_hash(f"{local}@{unicode_domain}")
        if alternative not in hashes:
            hashes.append(alternative)
    return hashes


def holds(member: Mapping[str, Any], target: ErasureTarget) -> bool:
    """Whether a member record is the person's (compared through the one normaliser)."""
    return target.is_address(member.get("email_address"))


def locator_for(list_id: str) -> Mapping[str, str]:
    locator = _LOCATORS.get(list_id)
    if locator is None:
        locator = _LOCATORS.setdefault(list_id, MappingProxyType({"list_id": list_id}))
    return locator


def _details(status: str) -> Mapping[str, str]:
    details = _DETAILS.get(status)
    if details is None:
        details = _DETAILS.setdefault(status, MappingProxyType({"status": status}))
    return details


def display_name(member: Mapping[str, Any]) -> str | None:
    full = str(member.get("full_name") or "").strip()
    if full:
        return full
    merge = member.get("merge_fields") or {}
    parts = [str(merge.get(k) or "").strip() for k in ("FNAME", "LNAME")]
    joined = " ".join(p for p in parts if p)
    return joined or None


def to_upsert(stream: str, list_id: str, member: Mapping[str, Any]) -> ItemUpsert | None:
    """The member as one index item; None for a member without an id or address."""
    member_id = member.get("id")
    email = member.get("email_address")
    if not member_id or not email:
        return None
    status = str(member.get("status") or "unknown")
    when = parse_time(member.get("timestamp_signup")) or parse_time(member.get("last_changed"))
    observation = Observation(
        kind=RecordKind.AUDIENCE_MEMBER,
        email=str(email),
        name=display_name(member),
        role=status,
        when=when,
        details=_details(status),
    )
    return ItemUpsert(
        stream=stream,
        external_id=str(member_id),
        observations=(observation,),
        locator=locator_for(list_id),
    )
