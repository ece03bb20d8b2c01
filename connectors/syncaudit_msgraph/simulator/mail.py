"""Mail folders, messages (with delta), replies and sendMail: out-of-band state and endpoints.

Documented (mailfolder.md, message.md, concepts/delta-query-messages.md, user-sendmail.md):
messages carry receivedDateTime, from, subject, body, conversationId; delta per folder
(`/mailFolders/{f}/messages/delta`) pages with next links, ends with a delta link and sends
`@removed` for messages deleted or moved out; `$select` on delta; sendMail answers 202 with no
body and (saveToSentItems, default true) saves a copy in Sent Items; file attachments come
inline as `#microsoft.graph.fileAttachment` with base64 `contentBytes`.

Assumed (see the package's ASSUMPTIONS): a reply a person sends (`reply_to`) has the subject
"RE: " + the original's, the same conversationId, and quotes the original body below its own
text, as Outlook and most clients do; the Sent Items copy of a sendMail is listed at once (real
Exchange may take a moment).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from ._common import (
    LIST_MAX_TOP,
    WELL_KNOWN_MAIL,
    _address_of,
    _DeltaState,
    _etag,
    _HttpError,
    _iso,
    _Mailbox,
    _MailFolder,
    _name_of,
    _new_id,
    _now,
)
from ._core import SimCore
from ._delta import DeltaRoutes


class MailState(SimCore):
    """Out-of-band mail folders and messages."""

    def add_mail_folder(self, upn: str, name: str, parent: str | None = None) -> str:
        """A mail folder: top level, or below `parent` (an id or a well-known name)."""
        with self._lock:
            mb = self.mailbox(upn)
            self._mail_folder(mb, "inbox")  # the well-known folders exist first
            parent_id = self._mail_folder(mb, parent).id if parent else ""
            folder = _MailFolder(id=_new_id("AAMkAGI"), name=name, parent_id=parent_id)
            mb.mail_folders[folder.id] = folder
            return folder.id

    def add_message(
        self,
        upn: str,
        folder: str,
        *,
        subject: str,
        sent: datetime,
        sender: tuple[str, str] | None = None,
        to: Iterable[tuple[str, str]] = (),
        cc: Iterable[tuple[str, str]] = (),
        body: str = "",
        conversation_id: str | None = None,
        content_type: str = "html",
    ) -> str:
        """A message in `folder` (an id or a well-known name). `sender=None`: the mailbox."""
        with self._lock:
            mb = self.mailbox(upn)
            target = self._mail_folder(mb, folder)
            message = _message_json(mb, target.id, subject, sent, sender, to, cc, body)
            message["conversationId"] = conversation_id or _new_id("AAQkAG")
            message["body"]["contentType"] = content_type
            mb.messages[message["id"]] = message
            self._touch(mb, "mail:" + target.id, message["id"])
            return str(message["id"])

    def remove_message(self, upn: str, message_id: str) -> None:
        """The user deletes a message (the folder's next delta lists it as @removed)."""
        with self._lock:
            mb = self.mailbox(upn)
            message = mb.messages.pop(message_id)
            self._touch(mb, "mail:" + message["parentFolderId"], message_id)

    def mail_to(self, address: str) -> list[dict[str, Any]]:
        """Every sendMail message with `address` among its recipients (to, cc or bcc)."""
        wanted = address.strip().lower()
        with self._lock:
            return [
                {**json.loads(json.dumps(m["message"])), "conversationId": conversation}
                for m, conversation in zip(self.sent_mail, self.sent_conversations, strict=True)
                if wanted in _recipients(m["message"])
            ]

    def reply_to(
        self,
        upn: str,
        sent: dict[str, Any],
        *,
        sender: tuple[str, str],
        text: str,
        when: datetime,
        folder: str = "inbox",
    ) -> str:
        """A person's reply to a sent message, arriving in `folder`: "RE: " + its subject, the
        same conversation, its body quoted below `text` (as mail clients do)."""
        body = sent.get("body") or {}
        quoted = "\n".join("> " + line for line in str(body.get("content") or "").splitlines())
        return self.add_message(
            upn,
            folder,
            subject="RE: " + str(sent.get("subject") or ""),
            sent=when,
            sender=sender,
            to=[(upn, upn)],
            body=f"{text}\n\n{quoted}",
            conversation_id=str(sent.get("conversationId") or "") or None,
            content_type="text",
        )

    def message(self, upn: str, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).messages.get(message_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def message_ids(self, upn: str, folder: str | None = None) -> list[str]:
        with self._lock:
            mb = self.mailbox(upn)
            wanted = self._mail_folder(mb, folder).id if folder else None
            return [
                mid
                for mid, m in mb.messages.items()
                if wanted is None or m["parentFolderId"] == wanted
            ]

    def _mail_folder(self, mb: _Mailbox, folder: str) -> _MailFolder:
        """A folder by id or well-known name; the well-known ones exist from first use."""
        if not any(f.well_known for f in mb.mail_folders.values()):
            for well_known, name in WELL_KNOWN_MAIL:
                made = _MailFolder(_new_id("AAMkAGI"), name, "", well_known)
                mb.mail_folders[made.id] = made
        found = mb.mail_folders.get(folder)
        if found is None:
            found = next(
                (f for f in mb.mail_folders.values() if f.well_known == folder.lower()), None
            )
        if found is None:
            raise KeyError(folder)
        return found


def _recipients(message: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for entry in message.get(key) or ():
            out.add(str((entry.get("emailAddress") or {}).get("address") or "").lower())
    return out


class MailRoutes(DeltaRoutes):
    """/users/{u}/mailFolders..., /users/{u}/messages..., /users/{u}/sendMail"""

    @property
    def mail_state(self) -> MailState:
        return cast(MailState, self.server.sim)

    def _mail_send(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        # Action parameter names are case-insensitive: msgraph-sdk sends "Message" and
        # "SaveToSentItems", the reference shows camelCase. Recorded in camelCase.
        data = {k[:1].lower() + k[1:]: v for k, v in json.loads(body or b"{}").items()}
        if "message" not in data:
            raise _HttpError(400, "ErrorInvalidRequest", "The message is missing.")
        message = data["message"]
        if not isinstance(message, dict) or not _recipients(message) - {""}:
            raise _HttpError(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        with self.mail_state._lock:
            conversation = _new_id("AAQkAG")
            self.mail_state.sent_mail.append({"from": mb.upn, **data})
            self.mail_state.sent_conversations.append(conversation)
            if data.get("saveToSentItems", True) is not False:
                self._save_sent(mb, message, conversation)
            self.mail_state._effect(mb, "mail.send", str(len(self.mail_state.sent_mail)))
        return 202, None, {}

    def _save_sent(self, mb: _Mailbox, message: dict[str, Any], conversation: str) -> None:
        """The Sent Items copy of a sendMail (saveToSentItems defaults to true)."""
        sent = self.mail_state._mail_folder(mb, "sentitems")
        to = [(_name_of(e), _address_of(e)) for e in message.get("toRecipients") or ()]
        body = message.get("body") or {}
        copy = _message_json(
            mb,
            sent.id,
            str(message.get("subject") or ""),
            _now(),
            None,
            to,
            (),
            str(body.get("content") or ""),
        )
        copy["conversationId"] = conversation
        copy["hasAttachments"] = bool(message.get("attachments"))
        mb.messages[copy["id"]] = copy
        self.mail_state._touch(mb, "mail:" + sent.id, copy["id"])

    def _messages_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()]
        with self.mail_state._lock:
            folder = self._mail_folder_or_404(mb, args[0])
            collection = "mail:" + folder.id

            def current(mbox: _Mailbox, state: _DeltaState, item_id: str) -> dict[str, Any] | None:
                message = mbox.messages.get(item_id)
                if message is None or "mail:" + message["parentFolderId"] != state.collection:
                    return None
                if not select:
                    return dict(message)
                keep = set(select) | {"id", "@odata.etag", "@odata.type"}
                return {k: v for k, v in message.items() if k in keep}

            return self._delta(
                mb,
                collection,
                None,
                query,
                f"/users/{mb.upn}/mailFolders/{args[0]}/messages/delta",
                LIST_MAX_TOP,
                current,
                lambda: [m["id"] for m in mb.messages.values() if m["parentFolderId"] == folder.id],
            )

    def _mail_folder_or_404(self, mb: _Mailbox, folder: str) -> _MailFolder:
        try:
            return self.mail_state._mail_folder(mb, folder)
        except KeyError:
            raise _HttpError(
                404, "ErrorItemNotFound", "The specified folder was not found."
            ) from None

    def _mail_folders_in(
        self, mb: _Mailbox, parent_id: str, query: dict[str, str], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        items = [
            {"id": f.id, "displayName": f.name, "parentFolderId": f.parent_id}
            for f in mb.mail_folders.values()
            if f.parent_id == parent_id
        ]
        return self._list(mb, items, query, f"users('{mb.upn}')/mailFolders", path)

    def _mailFolders_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.mail_state._lock:
            self.mail_state._mail_folder(mb, "inbox")  # the well-known folders exist
            return self._mail_folders_in(mb, "", query, f"/users/{mb.upn}/mailFolders")

    def _mailFolders_children(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.mail_state._lock:
            folder = self._mail_folder_or_404(mb, args[0])
            path = f"/users/{mb.upn}/mailFolders/{args[0]}/childFolders"
            return self._mail_folders_in(mb, folder.id, query, path)

    def _messages_list(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.mail_state._lock:
            folder = self._mail_folder_or_404(mb, args[0])
            items = [dict(m) for m in mb.messages.values() if m["parentFolderId"] == folder.id]
        path = f"/users/{mb.upn}/mailFolders/{args[0]}/messages"
        return self._list(mb, items, query, f"users('{mb.upn}')/messages", path)

    def _find_message(self, mb: _Mailbox, message_id: str) -> dict[str, Any]:
        message = mb.messages.get(message_id)
        if message is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return message

    def _messages_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.mail_state._lock:
            return 200, dict(self._find_message(mb, args[0])), {}

    def _messages_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.mail_state._lock:
            message = self._find_message(mb, args[0])
            del mb.messages[message["id"]]
            mb.purged.add(message["id"])
            self.mail_state._touch(mb, "mail:" + message["parentFolderId"], message["id"])
            self.mail_state._effect(mb, "message.purge", message["id"])
        return 204, None, {}


def _message_json(  # noqa: PLR0917
    mb: _Mailbox,
    folder_id: str,
    subject: str,
    sent: datetime,
    sender: tuple[str, str] | None,
    to: Iterable[tuple[str, str]],
    cc: Iterable[tuple[str, str]],
    body: str,
) -> dict[str, Any]:
    name, address = sender or (mb.display_name, mb.upn)
    who = {"emailAddress": {"name": name, "address": address}}
    stamp = _iso(sent)
    return {
        "@odata.etag": _etag(),
        "id": _new_id("AAMkAGM"),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "receivedDateTime": stamp,
        "sentDateTime": stamp,
        "subject": subject,
        "bodyPreview": body[:255],
        "body": {"contentType": "html", "content": body},
        "from": who,
        "sender": who,
        "toRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in to],
        "ccRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in cc],
        "parentFolderId": folder_id,
        "isDraft": False,
        "isRead": True,
    }


ROUTES = [
    ("POST", r"^/users/([^/]+)/sendMail$", "mail.send"),
    (
        "GET",
        r"^/users/([^/]+)/mailFolders/([^/]+)/messages/delta(?:\(\))?$",
        "messages.delta",
    ),
    ("GET", r"^/users/([^/]+)/mailFolders$", "mailFolders.list"),
    ("GET", r"^/users/([^/]+)/mailFolders/([^/]+)/childFolders$", "mailFolders.children"),
    ("GET", r"^/users/([^/]+)/mailFolders/([^/]+)/messages$", "messages.list"),
    ("GET", r"^/users/([^/]+)/messages/([^/]+)$", "messages.get"),
    (
        "POST",
        r"^/users/([^/]+)/messages/([^/]+)/permanentDelete$",
        "messages.permanentDelete",
    ),
]
