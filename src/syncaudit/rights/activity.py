"""When a person was last active: the newest dated record in any system.

A calendar entry's start, an invoice's date, an audience sign-up: `subjects.last_activity` (kept
by the sync) and the newest `records.record_date`, removed records included (the activity
happened). A person without any dated record counts from when syncaudit first saw them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncaudit.clock import utc
from syncaudit.models import Record, Subject


@dataclass(frozen=True, kw_only=True)
class Activity:
    subject_id: int
    pseudonym: str
    last_activity: datetime | None  # newest dated record
    first_seen: datetime

    @property
    def since(self) -> datetime:
        """The moment inactivity is counted from."""
        return self.last_activity or self.first_seen

    @property
    def basis(self) -> str:
        return "last_activity" if self.last_activity else "first_seen"


def activities(session: Session, pseudonyms: Iterable[str] | None = None) -> dict[str, Activity]:
    """Pseudonym -> Activity for living subjects (those syncaudit still holds an address of)."""
    newest = (
        select(Record.subject_id, func.max(Record.record_date).label("newest"))
        .group_by(Record.subject_id)
        .subquery()
    )
    query = (
        select(
            Subject.id,
            Subject.pseudonym,
            Subject.last_activity,
            Subject.first_seen,
            newest.c.newest,
        )
        .outerjoin(newest, newest.c.subject_id == Subject.id)
        .where(Subject.email.is_not(None))
    )
    wanted = None if pseudonyms is None else sorted(set(pseudonyms))
    out: dict[str, Activity] = {}
    for part in _parts(wanted):
        q = query if part is None else query.where(Subject.pseudonym.in_(part))
        for sid, pseudonym, last, first, newest_date in session.execute(q):
            dates = [utc(d) for d in (last, newest_date) if d is not None]
            out[pseudonym] = Activity(
                subject_id=sid,
                pseudonym=pseudonym,
                last_activity=max(dates) if dates else None,
                first_seen=utc(first),
            )
    return out


def _parts(values: list[str] | None) -> Iterable[list[str] | None]:
    if values is None:
        yield None
        return
    for start in range(0, len(values), 500):
        yield values[start : start + 500]


def add_years(when: datetime, years: int) -> datetime:
    """The same date `years` later (29 February becomes the 28th)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)
