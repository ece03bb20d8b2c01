"""Contacts and contact folders: the out-of-band state tests set up, and the HTTP endpoints."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from typing import Any, cast

from ._common import (
    CONTACTS_DELTA_MAX_PAGE,
    DELETED_ITEMS,
    _addr,
    _bump,
    _DeltaState,
    _email_list,
    _etag,
    _Folder,
    _HttpError,
    _iso,
    _Mailbox,
    _new_id,
    _now,
)
from ._core import SimCore
from ._delta import DeltaRoutes

_FILTER_RE = re.compile(
    r"^\s*emailAddresses/any\(\s*(\w+)\s*:\s*\1/address\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$",
    re.IGNORECASE,
)
_CONTACT_READONLY = {"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "parentFolderId"}


class ContactsState(SimCore):
    """Out-of-band changes to contacts and folders (what a user does in Outlook)."""

    def add_folder(self, upn: str, name: str, parent: str | None = None) -> str:
        with self._lock:
            mb = self.mailbox(upn)
            folder = _Folder(
                id=_new_id("AQMkAD"), name=name, parent_id=parent or mb.default_folder_id
            )
            mb.folders[folder.id] = folder
            return folder.id

    def delete_folder(self, upn: str, folder_id: str) -> None:
        """Remove a folder and everything in it (and its child folders)."""
        with self._lock:
            mb = self.mailbox(upn)
            doomed = {folder_id}
            changed = True
            while changed:
                changed = False
                for f in mb.folders.values():
                    if f.parent_id in doomed and f.id not in doomed:
                        doomed.add(f.id)
                        changed = True
            for fid in doomed:
                mb.folders.pop(fid, None)
            for cid, contact in list(mb.contacts.items()):
                if contact["parentFolderId"] in doomed:
                    del mb.contacts[cid]
                    mb.purged.add(cid)
                    self._touch(mb, "folder:" + contact["parentFolderId"], cid)

    def add_contact(
        self,
        upn: str,
        *,
        name: str,
        emails: Iterable[str | tuple[str, str]] = (),
        folder: str | None = None,
        **fields: Any,
    ) -> str:
        with self._lock:
            mb = self.mailbox(upn)
            contact = _contact_json(name, emails, folder or mb.default_folder_id, fields)
            mb.contacts[contact["id"]] = contact
            self._touch(mb, "folder:" + contact["parentFolderId"], contact["id"])
            return str(contact["id"])

    def contact(self, upn: str, contact_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).contacts.get(contact_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def update_contact(self, upn: str, contact_id: str, **fields: Any) -> None:
        with self._lock:
            mb = self.mailbox(upn)
            contact = mb.contacts[contact_id]
            changed = set(fields) - {"emails", "name"}
            if "emails" in fields:
                contact["emailAddresses"] = _email_list(fields.pop("emails"))
                changed.add("emailAddresses")
            if "name" in fields:
                contact["displayName"] = fields.pop("name")
                changed.add("displayName")
            contact.update(fields)
            _bump(contact)
            self._touch(mb, "folder:" + contact["parentFolderId"], contact_id, changed)

    def move_contact(self, upn: str, contact_id: str, folder: str) -> None:
        with self._lock:
            mb = self.mailbox(upn)
            contact = mb.contacts[contact_id]
            old = contact["parentFolderId"]
            contact["parentFolderId"] = folder
            _bump(contact)
            self._touch(mb, "folder:" + old, contact_id)
            self._touch(mb, "folder:" + folder, contact_id)

    def delete_contact(self, upn: str, contact_id: str, *, purge: bool = False) -> None:
        with self._lock:
            self._delete_item(self.mailbox(upn), "contact", contact_id, purge=purge)

    def contact_ids(self, upn: str) -> list[str]:
        with self._lock:
            return list(self.mailbox(upn).contacts)


class ContactsRoutes(DeltaRoutes):
    """/users/{u}/contactFolders..., /users/{u}/contacts..."""

    @property
    def contacts_state(self) -> ContactsState:
        return cast(ContactsState, self.server.sim)

    def _folder_json(self, folder: _Folder) -> dict[str, Any]:
        return {"id": folder.id, "displayName": folder.name, "parentFolderId": folder.parent_id}

    def _folders_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.contacts_state._lock:
            items = [
                self._folder_json(f)
                for f in mb.folders.values()
                if f.parent_id == mb.default_folder_id
            ]
        return self._list(
            mb, items, query, f"users('{mb.upn}')/contactFolders", f"/users/{mb.upn}/contactFolders"
        )

    def _folders_children(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        (folder_id,) = args
        with self.contacts_state._lock:
            if folder_id not in mb.folders and folder_id != mb.default_folder_id:
                raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
            items = [self._folder_json(f) for f in mb.folders.values() if f.parent_id == folder_id]
        return self._list(
            mb,
            items,
            query,
            f"users('{mb.upn}')/contactFolders('{folder_id}')/childFolders",
            f"/users/{mb.upn}/contactFolders/{folder_id}/childFolders",
        )

    def _folder_of(self, mb: _Mailbox, args: tuple[str, ...]) -> str:
        """The folder a contacts URL names: its explicit id, the default folder, or Deleted Items
        by its well-known name (assumed: the reference documents no such route)."""
        if not args:
            return mb.default_folder_id
        folder_id = args[0]
        if folder_id.lower() == DELETED_ITEMS:
            return DELETED_ITEMS
        if folder_id != mb.default_folder_id and folder_id not in mb.folders:
            raise _HttpError(404, "ErrorItemNotFound", "The specified folder was not found.")
        return folder_id

    def _contacts_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.contacts_state._lock:
            folder = self._folder_of(mb, args)
            items = [c for c in mb.contacts.values() if c["parentFolderId"] == folder]
            if folder == DELETED_ITEMS:
                items = [item for kind, item in mb.deleted.values() if kind == "contact"]
        if "$filter" in query:
            match = _FILTER_RE.match(query["$filter"])
            if not match:
                raise _HttpError(400, "ErrorInvalidUrlQueryFilter", "The filter is not supported.")
            wanted = match.group(2).replace("''", "'").lower()
            items = [c for c in items if any(_addr(e) == wanted for e in c["emailAddresses"])]
        path = (
            f"/users/{mb.upn}/contacts"
            if not args
            else f"/users/{mb.upn}/contactFolders/{args[0]}/contacts"
        )
        return self._list(mb, items, query, f"users('{mb.upn}')/contacts", path)

    def _find_contact(self, mb: _Mailbox, args: tuple[str, ...]) -> dict[str, Any]:
        """args: (contact,) = any folder incl. Deleted Items; (folder, contact) = that folder."""
        contact_id = args[-1]
        contact = mb.contacts.get(contact_id)
        anywhere = len(args) == 1 or args[0].lower() == DELETED_ITEMS
        if contact is None and anywhere and contact_id in mb.deleted:
            kind, item = mb.deleted[contact_id]
            contact = item if kind == "contact" else None
        folder = DELETED_ITEMS if anywhere and len(args) == 2 else args[0]
        if contact is None or (len(args) == 2 and contact["parentFolderId"] != folder):
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return contact

    def _contacts_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.contacts_state._lock:
            contact = dict(self._find_contact(mb, args))
        return 200, contact, {}

    def _contacts_patch(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        patch = json.loads(body or b"{}")
        with self.contacts_state._lock:
            contact = self._find_contact(mb, args)
            for key, raw in patch.items():
                if key.startswith("@odata") or key in _CONTACT_READONLY:
                    continue
                value = raw
                if key == "emailAddresses":
                    value = [
                        {"name": e.get("name"), "address": e.get("address")} for e in raw or []
                    ]
                contact[key] = value
            _bump(contact)
            changed = [
                k for k in patch if not k.startswith("@odata") and k not in _CONTACT_READONLY
            ]
            if contact["parentFolderId"] != DELETED_ITEMS:
                folder = "folder:" + contact["parentFolderId"]
                self.contacts_state._touch(mb, folder, contact["id"], changed)
            fields = ",".join(sorted(k for k in patch if not k.startswith("@odata")))
            self.contacts_state._effect(mb, "contact.patch:" + fields, contact["id"])
            return 200, dict(contact), {}

    def _contacts_delete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.contacts_state._lock:
            contact = self._find_contact(mb, args)
            if contact["parentFolderId"] == DELETED_ITEMS:
                self.contacts_state._delete_item(mb, "contact", contact["id"], purge=True)
            else:
                self.contacts_state._delete_item(mb, "contact", contact["id"], purge=False)
            self.contacts_state._effect(mb, "contact.delete", contact["id"])
        return 204, None, {}

    def _contacts_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.contacts_state._lock:
            contact = self._find_contact(mb, args)
            self.contacts_state._delete_item(mb, "contact", contact["id"], purge=True)
            self.contacts_state._effect(mb, "contact.purge", contact["id"])
        return 204, None, {}

    def _contacts_create(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        data = json.loads(body or b"{}")
        with self.contacts_state._lock:
            folder = self._folder_of(mb, args)
            contact = _contact_json(data.get("displayName", ""), [], folder, {})
            for key, value in data.items():
                if not key.startswith("@odata") and key not in _CONTACT_READONLY:
                    contact[key] = value
            mb.contacts[contact["id"]] = contact
            self.contacts_state._touch(mb, "folder:" + folder, contact["id"])
            self.contacts_state._effect(mb, "contact.create", contact["id"])
        return 201, contact, {}

    def _contacts_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if "$top" in query:
            raise _HttpError(400, "ErrorInvalidUrlQuery", "The $top query is not supported.")
        with self.contacts_state._lock:
            folder = self._folder_of(mb, args)
            base = (
                f"/users/{mb.upn}/contacts/delta"
                if not args
                else f"/users/{mb.upn}/contactFolders/{folder}/contacts/delta"
            )
            return self._delta(
                mb,
                "folder:" + folder,
                None,
                query,
                base,
                CONTACTS_DELTA_MAX_PAGE,
                self._contact_in,
                lambda: [c["id"] for c in mb.contacts.values() if c["parentFolderId"] == folder],
            )

    def _contact_in(self, mb: _Mailbox, state: _DeltaState, item_id: str) -> dict[str, Any] | None:
        contact = mb.contacts.get(item_id)
        if contact is None or "folder:" + contact["parentFolderId"] != state.collection:
            return None
        return contact


def _contact_json(
    name: str, emails: Iterable[str | tuple[str, str]], folder: str, fields: dict[str, Any]
) -> dict[str, Any]:
    rng = fields.pop("_rng", None)
    given, _, surname = name.partition(" ")
    stamp = _iso(_now())
    phone = f"+358 40 {rng.randrange(1000000, 9999999) if rng else 1234567}"
    contact: dict[str, Any] = {
        "@odata.etag": _etag(),
        "id": _new_id(),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": secrets.token_hex(8),
        "categories": [],
        "parentFolderId": folder,
        "birthday": None,
        "fileAs": name,
        "displayName": name,
        "givenName": given,
        "initials": None,
        "middleName": None,
        "nickName": None,
        "surname": surname,
        "title": None,
        "yomiGivenName": None,
        "yomiSurname": None,
        "yomiCompanyName": None,
        "generation": None,
        "imAddresses": [],
        "jobTitle": "Customer",
        "companyName": "Asiakas Oy",
        "department": None,
        "officeLocation": None,
        "profession": None,
        "businessHomePage": None,
        "assistantName": None,
        "manager": None,
        "homePhones": [],
        "mobilePhone": phone,
        "businessPhones": [],
        "spouseName": None,
        "personalNotes": "",
        "children": [],
        "emailAddresses": _email_list([(name, e) if isinstance(e, str) else e for e in emails]),
        "homeAddress": {},
        "businessAddress": {},
        "otherAddress": {},
    }
    contact.update(fields)
    return contact


ROUTES = [
    ("GET", r"^/users/([^/]+)/contactFolders$", "folders.list"),
    ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/childFolders$", "folders.children"),
    ("GET", r"^/users/([^/]+)/contacts/delta(?:\(\))?$", "contacts.delta"),
    (
        "GET",
        r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/delta(?:\(\))?$",
        "contacts.delta",
    ),
    ("GET", r"^/users/([^/]+)/contacts$", "contacts.list"),
    ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts$", "contacts.list"),
    ("POST", r"^/users/([^/]+)/contacts$", "contacts.create"),
    ("POST", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts$", "contacts.create"),
    ("POST", r"^/users/([^/]+)/contacts/([^/]+)/permanentDelete$", "contacts.permanentDelete"),
    (
        "POST",
        r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)/permanentDelete$",
        "contacts.permanentDelete",
    ),
    ("GET", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.get"),
    ("PATCH", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.patch"),
    ("DELETE", r"^/users/([^/]+)/contacts/([^/]+)$", "contacts.delete"),
    ("GET", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.get"),
    ("PATCH", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.patch"),
    ("DELETE", r"^/users/([^/]+)/contactFolders/([^/]+)/contacts/([^/]+)$", "contacts.delete"),
]
