"""Rectification of an Outlook contact: what to PATCH so it holds the corrected name and address.

Pure functions on the contact's JSON. The name goes to displayName, givenName and surname; a new
address replaces the person's address in emailAddresses (its label follows a new name when it
was the old one); the contact's other addresses stay as they are. Calendar entries are history
(an invitation sent is not rewritten), so only contacts are corrected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncaudit.contract import Correction, ErasureTarget


def holds_either(contact: Mapping[str, Any], target: ErasureTarget, fix: Correction) -> bool:
    """The contact holds the person's old address, or the new one (a repeat after a crash)."""
    for entry in contact.get("emailAddresses") or ():
        address = (entry or {}).get("address")
        if target.is_address(address) or fix.is_new_address(address):
            return True
    return False


def wanted_patch(
    contact: Mapping[str, Any], target: ErasureTarget, fix: Correction
) -> dict[str, Any]:
    """The fields to PATCH; empty when the contact holds the corrected data already."""
    patch: dict[str, Any] = {}
    if fix.name:
        wanted = {"displayName": fix.name, "givenName": fix.given_name, "surname": fix.surname}
        patch.update({k: v for k, v in wanted.items() if (contact.get(k) or "") != v})
    entries = [dict(e) for e in contact.get("emailAddresses") or () if e]
    have_new = fix.email is not None and any(fix.is_new_address(e.get("address")) for e in entries)
    out: list[dict[str, Any]] = []
    for entry in entries:
        address, label = entry.get("address"), entry.get("name")
        if not target.is_address(address) and not fix.is_new_address(address):
            out.append({"name": label, "address": address})
            continue
        if fix.email and target.is_address(address):
            if have_new:
                continue  # the new address is there already: the old one goes
            address, have_new = fix.email, True
        out.append({"name": _label(label, target, fix), "address": address})
    if out != [{"name": e.get("name"), "address": e.get("address")} for e in entries]:
        patch["emailAddresses"] = out
    return patch


def _label(label: Any, target: ErasureTarget, fix: Correction) -> Any:
    """An address's display label: an old address or old name in it is corrected too."""
    if label and ("@" in str(label) or target.is_address(str(label))):
        return fix.name or fix.email or label
    if fix.name and (not label or label in target.names):
        return fix.name
    return label
