"""The identities of one page: every raw address normalised and pseudonymised once per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from syncaudit.contract import ItemUpsert, RecordKind
from syncaudit.identity import Pseudonymizer, try_normalize_email


class Tally(Protocol):
    """What a sync counts (syncaudit.sync.SyncReport)."""

    items: int
    records: int
    removals: int
    skipped_invalid: int
    resurrections: int


@dataclass
class Page:
    identities: dict[str, tuple[str, str]]  # raw email -> (normalised, pseudonym)
    names: dict[str, str | None]
    emails: dict[str, str]  # pseudonym -> normalised
    held: set[str]  # pseudonyms met in legal-hold items
    latest: dict[str, datetime]  # pseudonym -> newest record date on this page
    tombstoned: set[str] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        items: list[ItemUpsert],
        pseudo: Pseudonymizer,
        report: Tally,
        cache: dict[str, tuple[str, str] | None],
    ) -> Page:
        identities: dict[str, tuple[str, str]] = {}
        names: dict[str, str | None] = {}
        emails: dict[str, str] = {}
        held: set[str] = set()
        latest: dict[str, datetime] = {}
        contact = RecordKind.CONTACT
        for item in items:
            hold = item.legal_hold_until is not None
            for obs in item.observations:
                raw = obs.email
                if raw is None:
                    continue
                if raw in cache:
                    ident = cache[raw]
                else:
                    normalized = try_normalize_email(raw)
                    if normalized == raw:  # held for the run: one string, not two equal ones
                        normalized = raw
                    ident = cache[raw] = (
                        None
                        if normalized is None
                        else (normalized, pseudo.of_normalized(normalized))
                    )
                if ident is None:
                    report.skipped_invalid += 1
                    continue
                identities[raw] = ident
                pseudonym = ident[1]
                emails[pseudonym] = ident[0]
                if hold:
                    held.add(pseudonym)
                when = obs.when
                if when is not None:
                    prior = latest.get(pseudonym)
                    if prior is None or when > prior:
                        latest[pseudonym] = when
                if obs.name and (names.get(pseudonym) is None or obs.kind is contact):
                    names[pseudonym] = obs.name
        return cls(identities=identities, names=names, emails=emails, held=held, latest=latest)

    def subjects(self) -> dict[str, str | None]:
        """Subjects to store: plaintext for the living, a bare reference for tombstoned holds."""
        if not self.tombstoned:
            return dict(self.emails)
        out: dict[str, str | None] = {}
        for pseudonym, email in self.emails.items():
            if pseudonym not in self.tombstoned:
                out[pseudonym] = email
            elif pseudonym in self.held:
                out[pseudonym] = None
                self.names[pseudonym] = None
        return out
