"""Shared helpers for the msgraph connector tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

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
from syncaudit_msgraph.simulator import GraphSimulator

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


HANG_SECONDS = 1.6  # longer than the contract connector's timeout_seconds = 1


class GraphFaults:
    """The contract suite's faults (syncaudit.testing.model.Faults) on the Graph simulator."""

    def __init__(self, sim: GraphSimulator) -> None:
        self.sim = sim

    def fail(self, status: int, *, count: int = 1, retry_after: float | None = None) -> None:
        after = None if retry_after is None else f"{retry_after:g}"
        self.sim.inject(status=status, count=count, retry_after=after, path_contains="/users/")

    def hang(self, *, count: int = 1) -> None:
        self.sim.inject(status=0, delay=HANG_SECONDS, count=count, path_contains="/users/")

    def clear(self) -> None:
        self.sim.clear_faults()


class GraphPeople:
    """Adds and removes people in the simulator out of band, remembering what it added."""

    def __init__(self, sim: GraphSimulator) -> None:
        self.sim = sim
        self.items: list[tuple[str, str, str]] = []  # (kind, mailbox, id) of the known person

    def contact(self, mailbox: str, name: str, emails: list[str], **kw: str) -> None:
        self.items.append(
            ("contact", mailbox, self.sim.add_contact(mailbox, name=name, emails=emails, **kw))
        )

    def event(self, mailbox: str, **kw: Any) -> None:
        self.items.append(("event", mailbox, self.sim.add_event(mailbox, **kw)))

    def add(self, email: str, name: str) -> None:
        self.sim.add_contact(MAILBOXES[0], name=name, emails=[email])

    def remove(self) -> None:
        for kind, mailbox, item_id in self.items:
            delete = self.sim.delete_contact if kind == "contact" else self.sim.delete_event
            delete(mailbox, item_id)
