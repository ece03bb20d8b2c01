"""What the contract suite needs around a connector: a way to make its system fail, and an index
in miniature that applies pulls by the contract's rules (what `SyncRunner` does, without a DB).

No test framework is imported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from syncaudit.contract import Change, Checkpoint, ItemRemoved, ItemUpsert, RoundStart
from syncaudit.identity import try_normalize_email


class Faults(Protocol):
    """Faults a simulator injects in front of the connector (each HTTP request counts once)."""

    def fail(self, status: int, *, count: int = 1, retry_after: float | None = None) -> None:
        """Answer the next `count` requests with `status` (with Retry-After when given)."""
        ...

    def hang(self, *, count: int = 1) -> None:
        """Let the next `count` requests outlast the connector's read timeout."""
        ...

    def clear(self) -> None:
        """Answer normally again."""
        ...


class Crash(Exception):
    """Raised by `ModelIndex.apply` to stop a pull where a kill -9 would."""


Key = tuple[str, str]  # (stream, external id)


@dataclass
class ModelIndex:
    """The index's content by the contract's rules: an upsert replaces its item, a removal
    deletes it, a completed round removes what it did not see, and only what came before a
    stream's checkpoint is kept (with that checkpoint's cursor)."""

    records: dict[Key, frozenset[str]] = field(default_factory=dict)  # -> normalised emails
    cursors: dict[str, str] = field(default_factory=dict)
    rounds: dict[str, set[str]] = field(default_factory=dict)  # committed open rounds
    checkpoints: int = 0

    def apply(self, changes: Iterable[Change], *, crash_after: int | None = None) -> ModelIndex:
        """Apply a pull; with `crash_after`, raise Crash after that many checkpoints."""
        pending: list[Change] = []
        rounds = {stream: set(seen) for stream, seen in self.rounds.items()}
        seen_checkpoints = 0
        for change in changes:
            if isinstance(change, RoundStart):
                rounds[change.stream] = set()
            elif isinstance(change, ItemUpsert | ItemRemoved):
                pending.append(change)
                if isinstance(change, ItemUpsert) and change.stream in rounds:
                    rounds[change.stream].add(change.external_id)
            elif isinstance(change, Checkpoint):
                self._commit([c for c in pending if c.stream == change.stream], rounds, change)
                pending = [c for c in pending if c.stream != change.stream]
                seen_checkpoints += 1
                if crash_after is not None and seen_checkpoints >= crash_after:
                    raise Crash
        return self

    def _commit(
        self, pending: list[Change], rounds: dict[str, set[str]], checkpoint: Checkpoint
    ) -> None:
        for change in pending:
            assert isinstance(change, ItemUpsert | ItemRemoved)
            key = (change.stream, change.external_id)
            if isinstance(change, ItemUpsert):
                self.records[key] = emails_of(change)
            else:
                self.records.pop(key, None)
        stream = checkpoint.stream
        self.cursors[stream] = checkpoint.cursor
        self.checkpoints += 1
        if stream in rounds:
            self.rounds[stream] = set(rounds[stream])
        if checkpoint.round_complete:
            seen = rounds.pop(stream, set())
            self.rounds.pop(stream, None)
            for key in [k for k in self.records if k[0] == stream and k[1] not in seen]:
                del self.records[key]

    def emails(self) -> set[str]:
        return {email for people in self.records.values() for email in people}


def emails_of(upsert: ItemUpsert) -> frozenset[str]:
    found = (try_normalize_email(o.email) for o in upsert.observations if o.email)
    return frozenset(e for e in found if e)
