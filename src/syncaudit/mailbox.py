"""Capability MAILBOX of the plugin API: read a mail folder's new messages, send letters.

The requester side (`syncaudit.requester`) takes data-subject requests from a mailbox and
answers them. Subject and body of an inbound message exist only in memory, for classification;
nothing of them is stored. A letter carries a `marker` (a short reference in its subject) so a
send interrupted by a crash can be recognised in Sent Items instead of being sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, kw_only=True)
class InboundMessage:
    """One message of the folder's delta round. `removed`: deleted or moved out (no content)."""

    id: str
    received: datetime | None = None
    sender: str = ""  # raw address (the core normalises it)
    subject: str = ""
    body: str = ""  # plain text (HTML reduced to text by the connector)
    conversation_id: str = ""
    removed: bool = False


@dataclass(frozen=True, kw_only=True)
class MailBatch:
    """What changed in the folder since `cursor`, and the cursor to give next time."""

    messages: tuple[InboundMessage, ...]
    cursor: str
    reset: bool = False  # the old cursor was refused: this is a full round


@dataclass(frozen=True, kw_only=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class Letter:
    """A plain-text letter to one person, from the intake mailbox."""

    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


@runtime_checkable
class SupportsMailbox(Protocol):
    """Capability MAILBOX (Graph: Mail.Read and Mail.Send on the intake mailbox)."""

    def new_messages(self, mailbox: str, folder: str, cursor: str | None) -> MailBatch:
        """Messages new (or removed) in `folder` (display name path or well-known name) since
        `cursor` (None: every message there now)."""
        ...

    def send_letter(self, mailbox: str, letter: Letter) -> None:
        """Send it, keeping a copy in Sent Items (where `was_sent` looks)."""
        ...

    def was_sent(self, mailbox: str, markers: Sequence[str], since: datetime) -> set[str]:
        """Which of `markers` appear in the subject of a Sent Items message since `since`."""
        ...
