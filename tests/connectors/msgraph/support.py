"""Shared helpers for the msgraph connector tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from syncaudit.contract import Change, Checkpoint, ItemRemoved, ItemUpsert, RoundStart

# msgraph-sdk and kiota warn at import time about their own deprecated classes; the imports happen
# lazily on the connector's event loop, during whichever test first needs a module.
SDK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:This class is deprecated. Please use the generic RequestConfiguration"
        ":DeprecationWarning"
    ),
]

MAILBOXES = ("coach@example.fi", "assistant@example.fi")


def soon(days: float = 1.0) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def cursors_of(changes: Iterable[Change]) -> dict[str, str]:
    return {c.stream: c.cursor for c in changes if isinstance(c, Checkpoint)}


def upserts(changes: Iterable[Change]) -> dict[str, ItemUpsert]:
    return {c.external_id: c for c in changes if isinstance(c, ItemUpsert)}


def removed(changes: Iterable[Change]) -> set[str]:
    return {c.external_id for c in changes if isinstance(c, ItemRemoved)}


def round_starts(changes: Iterable[Change]) -> set[str]:
    return {c.stream for c in changes if isinstance(c, RoundStart)}


def completed(changes: Iterable[Change]) -> set[str]:
    return {c.stream for c in changes if isinstance(c, Checkpoint) and c.round_complete}
