"""Capability MAILBOX for Outlook: delta rounds on the intake folder, letters by sendMail.

A round pages through next links to a delta link (the cursor). A refused delta link (410, or
syncStateNotFound / resyncRequired) starts a full round, flagged `reset`: the caller skips the
messages it already knows by id. Bodies are asked for as text (`Prefer:
outlook.body-content-type="text"`); an HTML body is still reduced to text here. Letters are
saved in Sent Items, where `was_sent` looks for their markers after a crash.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from syncaudit.errors import PermanentError
from syncaudit.mailbox import InboundMessage, Letter, MailBatch

from . import _requests as rq
from ._graph import GraphSession, SyncStateGone

log = structlog.get_logger(__name__)
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li)\b[^>]*>", re.IGNORECASE)


async def new_messages(
    session: GraphSession, mailbox: str, folder_id: str, cursor: str | None
) -> MailBatch:
    reset = False
    try:
        pages = await _round(session, mailbox, folder_id, cursor)
    except SyncStateGone as gone:
        if cursor is None:
            raise PermanentError(
                f"Microsoft Graph answered {gone.status} {gone.code} to a new delta round",
                next_step="Run `syncaudit intake` again later; if it keeps failing, report it.",
            ) from None
        log.info("msgraph.mail_delta_reset", status=gone.status)
        pages, reset = await _round(session, mailbox, folder_id, None), True
    values, link = pages
    return MailBatch(messages=tuple(inbound(v) for v in values), cursor=link, reset=reset)


async def _round(
    session: GraphSession, mailbox: str, folder_id: str, cursor: str | None
) -> tuple[list[dict[str, Any]], str]:
    build = (
        rq.messages_delta(mailbox, folder_id) if cursor is None else rq.mail_link(mailbox, cursor)
    )
    values: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        page = await session.read(mailbox, build, "reading the intake folder")
        values.extend(page.get("value") or ())
        if page.get("@odata.deltaLink"):
            return values, str(page["@odata.deltaLink"])
        next_link = page.get("@odata.nextLink")
        if not next_link or next_link in seen:
            raise PermanentError(
                "Microsoft Graph ended a mail delta round without a delta link",
                next_step="Run `syncaudit intake` again; if it repeats, report it.",
            )
        seen.add(str(next_link))
        build = rq.mail_link(mailbox, str(next_link))


def inbound(item: Mapping[str, Any]) -> InboundMessage:
    if "@removed" in item:
        return InboundMessage(id=str(item.get("id") or ""), removed=True)
    sender = ((item.get("from") or {}).get("emailAddress") or {}).get("address") or ""
    body = item.get("body") or {}
    text = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() == "html":
        text = html_to_text(text)
    return InboundMessage(
        id=str(item.get("id") or ""),
        received=_utc(item.get("receivedDateTime")),
        sender=str(sender),
        subject=str(item.get("subject") or ""),
        body=text,
        conversation_id=str(item.get("conversationId") or ""),
    )


def html_to_text(text: str) -> str:
    return html.unescape(_TAG.sub("", _BLOCK.sub("\n", text)))


def _utc(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def send_letter(session: GraphSession, mailbox: str, letter: Letter) -> None:
    files = [(a.name, a.content_type, a.data) for a in letter.attachments]
    build = rq.send_letter(mailbox, letter.to, letter.subject, letter.body, files)
    await session.write(mailbox, build, "sending a letter to a requester")


async def was_sent(
    session: GraphSession, mailbox: str, markers: Sequence[str], since: datetime
) -> set[str]:
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = await session.read_all(mailbox, rq.sent_since(mailbox, stamp), "reading Sent Items")
    subjects = [str(i.get("subject") or "") for i in items]
    return {m for m in markers if any(m in s for s in subjects)}
