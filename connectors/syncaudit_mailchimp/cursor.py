"""The cursor of one audience stream, stored by the core as JSON text.

Rules (tested in tests/connectors/mailchimp/test_mailchimp_cursor.py):

- `bookmark`: the next incremental read asks for members changed after it. It is set when a
  round *ends* to the time the round *started* minus `lag` — never past the sync start — so a
  change made while we were reading, or one Mailchimp shows late, is read again next time.
- `recent`: member id -> last_changed of members already yielded whose last_changed is not before
  the bookmark. The next incremental round skips a member whose (id, last_changed) is in it: the
  lag window re-reads them, this de-duplicates at the boundary. Bounded by RECENT_LIMIT (past
  it, the oldest are dropped and merely read again).
- `reconciled`: when the last *full* round started. A full round is due `reconcile_days` later.
- `round`: the round in progress (full or incremental), written at every page checkpoint so a
  crash resumes where it stopped: which listing (`phase`), `offset`, the `total` the last page
  reported (a fall in total_items means members slid back past the offset: see pull.py), and
  the round's own `recent` entries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CURSOR_VERSION = 1
RECENT_LIMIT = 2000


def iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_time(text: Any) -> datetime | None:
    """Mailchimp's ISO 8601 times ('2015-10-21T15:41:36+00:00'); '' or junk -> None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@dataclass(frozen=True, kw_only=True)
class Round:
    full: bool
    started: datetime  # when this round began (the next bookmark is started - lag)
    since: datetime | None = None  # an incremental round's lower bound
    phase: int = 0
    offset: int = 0
    total: int | None = None  # total_items reported by the previous page of this phase
    recent: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "started": iso(self.started),
            "since": iso(self.since) if self.since else None,
            "phase": self.phase,
            "offset": self.offset,
            "total": self.total,
            "recent": dict(self.recent),
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
            offset=int(data.get("offset", 0)),
            total=None if total is None else int(total),
            recent={str(k): str(v) for k, v in dict(data.get("recent") or {}).items()},
        )


@dataclass(frozen=True, kw_only=True)
class StreamCursor:
    bookmark: datetime | None = None
    reconciled: datetime | None = None
    recent: Mapping[str, str] = field(default_factory=dict)
    round: Round | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "bookmark": iso(self.bookmark) if self.bookmark else None,
                "reconciled": iso(self.reconciled) if self.reconciled else None,
                "recent": dict(self.recent),
                "round": self.round.to_json() if self.round else None,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def loads(cls, text: str | None) -> StreamCursor | None:
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
                recent={str(k): str(v) for k, v in dict(data.get("recent") or {}).items()},
                round=Round.from_json(round_data) if round_data else None,
            )
        except (ValueError, TypeError, KeyError):
            return None


def bounded_recent(entries: Mapping[str, str], floor: datetime) -> dict[str, str]:
    """Entries whose last_changed is not before `floor`, the newest RECENT_LIMIT of them."""
    kept = [(lc, mid) for mid, lc in entries.items() if (t := parse_time(lc)) and t >= floor]
    kept.sort(reverse=True)
    return {mid: lc for lc, mid in kept[:RECENT_LIMIT]}
