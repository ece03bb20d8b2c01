"""The cursor of the `ledger` stream, stored by the core as JSON text.

Rules (tested in tests/connectors/procountor/test_cursor.py):

- `bookmark`: the next incremental round asks for records changed since it (`versionStartDate`).
  It is set when a round *ends*, to the time the round *started* minus `lag`, and never moves
  backwards, so a change made while we read, or one Procountor shows late, is read again.
- `recent`: record key ("i:<id>", "p:<id>") -> the `version` yielded, for records whose version
  is not before the bookmark less ZONE_SLACK. The next incremental round skips a listed record
  whose version is unchanged: the lag window re-lists it, this de-duplicates at the boundary.
  Bounded by RECENT_LIMIT (past it the oldest are merely read again).
- `reconciled`: when the last *full* round started; a full round is due `reconcile_days` later.
- `latest`: business-partner id -> the date of its latest sales invoice seen. A partner's legal
  hold is the retention end of that invoice (see records.py).
- `round`: the round in progress, written at every checkpoint so a crash resumes where it
  stopped: which listing (`phase`), `page`, the `total` the last page reported, the round's own
  `seen` and `latest`, and `stale` — in an incremental round, partners whose hold grew and that
  have not been re-read yet (a full round lists every partner after the invoices anyway).

Times are UTC. `versionStartDate` is sent without a zone, in UTC: if Procountor read it as
Finnish local time it would start two or three hours earlier, which only re-reads more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CURSOR_VERSION = 1
RECENT_LIMIT = 5000
ZONE_SLACK = timedelta(hours=14)  # versions are zone-less: keep de-dup entries a little longer


def iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def api_time(when: datetime) -> str:
    """`versionStartDate`: ISO without zone, UTC, whole seconds ("2016-08-31T00:00:00")."""
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def parse_time(text: Any) -> datetime | None:
    """An ISO time; zone-less ones (Procountor's `version`) are taken as UTC. Junk -> None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _strings(data: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(data or {}).items()}


@dataclass(frozen=True, kw_only=True)
class Round:
    full: bool
    started: datetime
    since: datetime | None = None  # an incremental round's lower bound
    phase: int = 0
    page: int = 0
    total: int | None = None  # totalCount of the previous page of this phase
    seen: Mapping[str, str] = field(default_factory=dict)
    latest: Mapping[str, str] = field(default_factory=dict)
    stale: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "started": iso(self.started),
            "since": iso(self.since) if self.since else None,
            "phase": self.phase,
            "page": self.page,
            "total": self.total,
            "seen": dict(self.seen),
            "latest": dict(self.latest),
            "stale": list(self.stale),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Round:
        started = parse_time(data["started"])
        if started is None:
            raise ValueError("round without a start")
        total = data.get("total")
        return cls(
            full=bool(data["full"]),
            started=started,
            since=parse_time(data.get("since")),
            phase=int(data.get("phase", 0)),
            page=int(data.get("page", 0)),
            total=None if total is None else int(total),
            seen=_strings(data.get("seen")),
            latest=_strings(data.get("latest")),
            stale=tuple(str(s) for s in data.get("stale") or ()),
        )


@dataclass(frozen=True, kw_only=True)
class LedgerCursor:
    bookmark: datetime | None = None
    reconciled: datetime | None = None
    recent: Mapping[str, str] = field(default_factory=dict)
    latest: Mapping[str, str] = field(default_factory=dict)
    round: Round | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "bookmark": iso(self.bookmark) if self.bookmark else None,
                "reconciled": iso(self.reconciled) if self.reconciled else None,
                "recent": dict(self.recent),
                "latest": dict(self.latest),
                "round": self.round.to_json() if self.round else None,
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | None) -> LedgerCursor | None:
        """The cursor, or None when there is none or it cannot be read (-> a full round)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
                return None
            round_data = data.get("round")
            return cls(
                bookmark=parse_time(data.get("bookmark")),
                reconciled=parse_time(data.get("reconciled")),
                recent=_strings(data.get("recent")),
                latest=_strings(data.get("latest")),
                round=Round.from_json(round_data) if round_data else None,
            )
        except (ValueError, TypeError, KeyError):
            return None


def bounded_recent(entries: Mapping[str, str], floor: datetime) -> dict[str, str]:
    """Entries whose version is not before `floor - ZONE_SLACK`, the newest RECENT_LIMIT."""
    limit = floor - ZONE_SLACK
    kept = [(v, k) for k, v in entries.items() if (t := parse_time(v)) and t >= limit]
    kept.sort(reverse=True)
    return {k: v for v, k in kept[:RECENT_LIMIT]}
