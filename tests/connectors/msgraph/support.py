"""Shared helpers for the msgraph connector tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from syncaudit.contract import (
    Change,
    Checkpoint,
    ErasureTarget,
    ItemRemoved,
    ItemUpsert,
    RecordKind,
    RecordRef,
    RoundStart,
)
from syncaudit.identity import normalize_email
from syncaudit_msgraph.connector import MsGraphConnector

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


def index_refs(connector: MsGraphConnector, target: ErasureTarget) -> list[RecordRef]:
    """What the engine would hand over: index records of the person (as a pull produced them),
    plus a mention wherever the person's name is in the free text."""
    refs: dict[tuple[str, str], RecordRef] = {}
    for change in connector.pull({}):
        if not isinstance(change, ItemUpsert):
            continue
        for obs in change.observations:
            if obs.email and normalize_email(obs.email) == target.email:
                key = (change.external_id, obs.kind.value)
                refs[key] = RecordRef(
                    system=connector.name,
                    kind=obs.kind,
                    external_id=change.external_id,
                    stream=change.stream,
                    locator=change.locator,
                )
        text = (change.free_text or "").lower()
        if any(n.lower() in text for n in target.names) and not any(
            r.external_id == change.external_id for r in refs.values()
        ):
            refs[(change.external_id, "mention")] = RecordRef(
                system=connector.name,
                kind=RecordKind.EVENT_MENTION,
                external_id=change.external_id,
                stream=change.stream,
                locator=change.locator,
            )
    return list(refs.values())
