"""Test helpers: a connector wired to the simulator, and a miniature index that applies Changes
by the contract's rules (upsert replaces; a checkpoint commits; a completed round marks what it
did not see as removed), with crash simulation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncaudit.clock import ManualClock
from syncaudit.contract import (
    Change,
    Checkpoint,
    ItemRemoved,
    ItemUpsert,
    RoundStart,
    Secret,
    StreamProblem,
    SystemProfile,
)
from syncaudit.identity import normalize_email
from syncaudit.retry import RetryPolicy
from syncaudit_mailchimp.connector import MailchimpConnector
from syncaudit_mailchimp.plugin import PLUGIN
from syncaudit_mailchimp.settings import MailchimpSettings
from syncaudit_mailchimp.simulator import MailchimpSimulator

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(jitter=0.0, base_seconds=0.5)


def make_connector(
    sim: MailchimpSimulator,
    clock: ManualClock,
    *,
    page_size: int = 1000,
    audiences: tuple[str, ...] = (),
    api_key: str | None = None,
    policy: RetryPolicy = POLICY,
    **settings: object,
) -> MailchimpConnector:
    config = MailchimpSettings(
        api_key=Secret.of(api_key or sim.api_key),
        audiences=audiences,
        base_url=sim.url,
        **settings,  # type: ignore[arg-type]
    )
    profile: SystemProfile = PLUGIN.default_profile(config)
    return MailchimpConnector(
        "newsletter", config, profile, clock=clock, policy=policy, page_size=page_size
    )


class MailchimpFaults:
    """The contract suite's faults (syncaudit.testing.model.Faults) on the simulator."""

    hang_seconds = 1.6  # longer than the contract connector's timeout_seconds = 1

    def __init__(self, sim: MailchimpSimulator) -> None:
        self.sim = sim

    def fail(self, status: int, *, count: int = 1, retry_after: float | None = None) -> None:
        self.sim.inject(status=status, count=count, retry_after=retry_after)

    def hang(self, *, count: int = 1) -> None:
        self.sim.inject(status=200, count=count, delay=self.hang_seconds, after=True)

    def clear(self) -> None:
        self.sim.clear_faults()


class Crash(Exception):
    """Raised by MiniIndex to stop a pull as a crash would."""


@dataclass
class MiniIndex:
    records: dict[tuple[str, str], ItemUpsert] = field(default_factory=dict)
    removed: set[tuple[str, str]] = field(default_factory=set)
    cursors: dict[str, str] = field(default_factory=dict)
    open_rounds: dict[str, set[str]] = field(default_factory=dict)  # committed round state
    problems: list[StreamProblem] = field(default_factory=list)
    upserts_seen: int = 0

    def apply(self, changes: Iterable[Change], *, crash_after: int | None = None) -> list[Change]:
        """Apply a pull; with `crash_after`, stop after that many checkpoints (the rest of the
        pull is lost, as are changes after the last checkpoint)."""
        pending: list[Change] = []
        rounds = {k: set(v) for k, v in self.open_rounds.items()}
        checkpoints = 0
        everything: list[Change] = []
        for change in changes:
            everything.append(change)
            if isinstance(change, StreamProblem):
                self.problems.append(change)
                continue
            if isinstance(change, RoundStart):
                rounds[change.stream] = set()
                continue
            pending.append(change)
            if isinstance(change, ItemUpsert) and change.stream in rounds:
                rounds[change.stream].add(change.external_id)
            if isinstance(change, Checkpoint):
                self._commit(pending, rounds, change)
                pending = [c for c in pending if c.stream != change.stream]
                checkpoints += 1
                if crash_after is not None and checkpoints >= crash_after:
                    raise Crash
        return everything

    def _commit(
        self, pending: list[Change], rounds: dict[str, set[str]], checkpoint: Checkpoint
    ) -> None:
        stream = checkpoint.stream
        for change in pending:
            if change.stream != stream:
                continue
            key = (change.stream, getattr(change, "external_id", ""))
            if isinstance(change, ItemUpsert):
                self.upserts_seen += 1
                self.records[key] = change
                self.removed.discard(key)
            elif isinstance(change, ItemRemoved):
                self.records.pop(key, None)
                self.removed.add(key)
        self.cursors[stream] = checkpoint.cursor
        if stream in rounds:
            self.open_rounds[stream] = set(rounds[stream])
        if checkpoint.round_complete:
            seen = rounds.pop(stream, set())
            self.open_rounds.pop(stream, None)
            for key in [k for k in self.records if k[0] == stream and k[1] not in seen]:
                del self.records[key]
                self.removed.add(key)

    # -- views -----------------------------------------------------------------------------

    def people(self, stream: str | None = None) -> dict[str, str | None]:
        """normalised email -> role (status), for live records."""
        out: dict[str, str | None] = {}
        for (s, _), upsert in self.records.items():
            if stream is None or s == stream:
                for obs in upsert.observations:
                    if obs.email:
                        out[normalize_email(obs.email)] = obs.role
        return out

    def streams(self) -> set[str]:
        return {s for s, _ in self.records}


def upserts(changes: Iterable[Change]) -> list[ItemUpsert]:
    return [c for c in changes if isinstance(c, ItemUpsert)]


def drain(it: Iterator[Change]) -> list[Change]:
    return list(it)
