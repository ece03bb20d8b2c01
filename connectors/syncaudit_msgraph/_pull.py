"""Pulling one mailbox: its contact-folder tree and one delta stream per folder and calendar.

Streams (one cursor each):
- `contacts:{mailbox}:{folder}` for the default Contacts folder (`folder` = "default") and every
  child folder, recursively (`folder` = the folder's Graph id);
- `calendar:{mailbox}`: calendarView delta over [now - calendar_past_days, now +
  calendar_future_days], re-based (a new full round) once the window has drifted by a week or
  the configured length changed.

Cursor: JSON `{"delta": link}` after a round, `{"next": link, "full": bool}` mid-round, plus the
calendar window and, mid-round, the series masters still to read (`pending`). A checkpoint
follows every page. A crash mid-round resumes from the stored next link; a resumed *full* round
yields no second RoundStart (the sync runner keeps the round open across runs) and still ends
with `round_complete=True`.

Failures stay where they happen:
- a sync state Graph no longer knows (410, or a 4xx with code syncStateNotFound,
  syncStateInvalid or resyncRequired) restarts that stream with a full round, once per pull;
- a folder whose listing or reading fails is one StreamProblem; the other folders, the default
  folder and the calendar are still pulled;
- a folder that vanished (404 ErrorItemNotFound, confirmed by a second look) ends its stream:
  an empty complete round marks its records removed. Folders missing from a listing are taken
  for gone only when every listing of the tree answered.

Series: calendarView delta is reported to send the master beside occurrence stubs. When only
stubs point at a master, the master is read once at the end of the round (GET /events/{id}),
whatever the number of its occurrences.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from syncaudit.contract import Change, Checkpoint, RoundStart, StreamProblem
from syncaudit.errors import PermanentError

from . import _requests as rq
from ._graph import GraphSession, NotFound, SyncStateGone, gather_or_cancel
from ._parse import (
    calendar_stream,
    contact_changes,
    contact_stream,
    event_changes,
    series_seen,
)

log = structlog.get_logger("syncaudit_msgraph.connector")

REBASE_AFTER = timedelta(days=7)
GONE = json.dumps({"gone": True})


@dataclass(frozen=True, kw_only=True)
class Window:
    start: str
    end: str

    @classmethod
    def around(cls, now: datetime, past_days: int, future_days: int) -> Window:
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return cls(
            start=(day - timedelta(days=past_days)).strftime(fmt),
            end=(day + timedelta(days=future_days + 1)).strftime(fmt),
        )

    def drifted(self, stored: Mapping[str, Any]) -> bool:
        try:
            start = datetime.fromisoformat(str(stored["start"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(stored["end"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return True
        mine_start = datetime.fromisoformat(self.start.replace("Z", "+00:00"))
        mine_end = datetime.fromisoformat(self.end.replace("Z", "+00:00"))
        return (end - start) != (mine_end - mine_start) or abs(mine_start - start) >= REBASE_AFTER


@dataclass(frozen=True, kw_only=True)
class Stream:
    name: str
    mailbox: str
    folder: str | None  # None: the calendar
    window: Window | None = None

    @property
    def what(self) -> str:
        return "reading the calendar" if self.folder is None else "reading contacts"

    def initial(self) -> rq.Build:
        if self.folder is None:
            assert self.window is not None
            return rq.calendar_delta(self.mailbox, self.window.start, self.window.end)
        return rq.contacts_delta(self.mailbox, self.folder)

    def follow(self, url: str) -> rq.Build:
        page = rq.EVENTS_PAGE if self.folder is None else rq.CONTACTS_PAGE
        return rq.link(self.mailbox, url, page)

    def changes(self, values: Sequence[Mapping[str, Any]]) -> list[Change]:
        if self.folder is None:
            return event_changes(self.name, self.mailbox, values)
        return contact_changes(self.name, self.mailbox, self.folder, values)

    def cursor(self, **state: Any) -> str:
        if self.window is not None:
            state.update(start=self.window.start, end=self.window.end)
        return json.dumps(state, separators=(",", ":"))


@dataclass
class FolderTree:
    """The default folder and every contact folder below it, as far as Graph answered."""

    folders: list[str]
    problems: list[StreamProblem] = field(default_factory=list)
    complete: bool = True  # every listing answered: a folder missing from it is gone
    vanished: set[str] = field(default_factory=set)  # listed, then 404 on its child folders


@dataclass
class _Round:
    """What a stream's reading knows beyond its cursor."""

    link: str | None
    full: bool  # this round reads the stream from the start
    announce: bool  # a RoundStart is still to be yielded
    pending: set[str] = field(default_factory=set)  # masters only stubs pointed at
    masters: set[str] = field(default_factory=set)  # masters this run has seen in the round
    reset: bool = False  # the sync state was reset once already


async def folder_tree(
    session: GraphSession, mailbox: str, label: str, *, strict: bool
) -> FolderTree:
    """Breadth first. `strict` (erasure look-ups): any failure but a vanished folder raises;
    otherwise failures become problems of the folder concerned (pull)."""
    tree = FolderTree(folders=[rq.DEFAULT_FOLDER])
    try:
        level = await session.read_all(mailbox, rq.folders(mailbox), "listing contact folders")
    except PermanentError as exc:
        if strict:
            raise
        tree.problems.append(StreamProblem(stream=contact_stream(mailbox, "*"), message=str(exc)))
        tree.complete = False
        return tree
    seen: set[str] = set()
    while level:
        ids = [f["id"] for f in level if f["id"] not in seen]
        seen.update(ids)
        tree.folders += ids
        children = await gather_or_cancel(*(_children(session, mailbox, f) for f in ids))
        level = []
        for folder, found in zip(ids, children, strict=True):
            if isinstance(found, NotFound):
                tree.vanished.add(folder)
                tree.folders.remove(folder)
            elif isinstance(found, PermanentError):
                if strict:
                    raise found
                message = f"listing its child folders: {found}"
                tree.problems.append(
                    StreamProblem(stream=contact_stream(mailbox, folder), message=message)
                )
                tree.complete = False
            else:
                level += found
    log.info("msgraph.folders", mailbox=label, folders=len(tree.folders))
    return tree


async def _children(
    session: GraphSession, mailbox: str, folder: str
) -> list[dict[str, Any]] | PermanentError:
    try:
        return await session.read_all(
            mailbox, rq.child_folders(mailbox, folder), "listing child contact folders"
        )
    except PermanentError as exc:
        return exc


class ContactsGate:
    """Opens when every mailbox of the pull has read its contacts (or failed to)."""

    def __init__(self, mailboxes: int) -> None:
        self._left = mailboxes
        self._open = asyncio.Event()
        if mailboxes <= 0:
            self._open.set()

    def passed(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._open.set()

    async def wait(self) -> None:
        await self._open.wait()


class Puller:
    """Reads every stream of a mailbox into a queue of pages (lists of Changes)."""

    def __init__(self, session: GraphSession, labels: Mapping[str, str]) -> None:
        self._session = session
        self._labels = labels

    async def mailbox(
        self,
        mailbox: str,
        cursors: Mapping[str, str],
        full: bool,
        window: Window,
        out: asyncio.Queue[Any],
        *,
        gate: ContactsGate,
    ) -> None:
        """Contacts first, the calendar after every mailbox's contacts (`gate`): a calendar
        entry that names a person only in its subject is matched against names the index
        already holds, so the contacts must be written before the entries are read."""
        calendar = Stream(
            name=calendar_stream(mailbox), mailbox=mailbox, folder=None, window=window
        )
        try:
            tree = await folder_tree(self._session, mailbox, self._labels[mailbox], strict=False)
            for problem in tree.problems:
                await out.put([problem])
            contacts = [
                Stream(name=contact_stream(mailbox, f), mailbox=mailbox, folder=f)
                for f in tree.folders
            ]
            await self._forget_gone_folders(mailbox, tree, cursors, out)
            await gather_or_cancel(
                *(self._pull_stream(s, cursors.get(s.name), full, out) for s in contacts)
            )
        finally:
            gate.passed()
        await gate.wait()
        await self._pull_stream(calendar, cursors.get(calendar.name), full, out)

    async def _forget_gone_folders(
        self,
        mailbox: str,
        tree: FolderTree,
        cursors: Mapping[str, str],
        out: asyncio.Queue[Any],
    ) -> None:
        """A folder deleted in Outlook: an empty complete round marks its records removed."""
        prefix = contact_stream(mailbox, "")
        for stream, cursor in cursors.items():
            folder = stream[len(prefix) :]
            if not stream.startswith(prefix) or folder == rq.DEFAULT_FOLDER or '"gone"' in cursor:
                continue
            if folder in tree.vanished or (tree.complete and folder not in tree.folders):
                await out.put(_gone(stream))

    async def _pull_stream(
        self, stream: Stream, cursor: str | None, full: bool, out: asyncio.Queue[Any]
    ) -> None:
        try:
            await self._read_stream(stream, cursor, full, out)
        except NotFound as exc:
            if await self._folder_vanished(stream, exc):
                log.info("msgraph.folder_gone", mailbox=self._labels[stream.mailbox])
                await out.put(_gone(stream.name))
            else:
                await out.put([StreamProblem(stream=stream.name, message=str(exc))])
        except PermanentError as exc:
            await out.put([StreamProblem(stream=stream.name, message=str(exc))])

    async def _folder_vanished(self, stream: Stream, exc: NotFound) -> bool:
        """A 404 on a child folder's contacts: gone only if the folder itself is gone too."""
        if stream.folder in (None, rq.DEFAULT_FOLDER) or exc.code.lower() != "erroritemnotfound":
            return False
        probe = rq.child_folders(stream.mailbox, stream.folder, top=1)
        try:
            await self._session.read(stream.mailbox, probe, "checking a contact folder")
        except NotFound:
            return True
        except PermanentError:
            return False
        return False

    async def _read_stream(
        self, stream: Stream, cursor: str | None, full: bool, out: asyncio.Queue[Any]
    ) -> None:
        state = _decode(cursor)
        now = _Round(link=None, full=True, announce=True)
        usable = not full and state is not None and not state.get("gone")
        if state and usable and (stream.window is None or not stream.window.drifted(state)):
            now.link = state.get("next") or state.get("delta")
            now.full = bool(state.get("next") and state.get("full"))
            now.pending = set(state.get("pending") or ()) if state.get("next") else set()
        # a resumed full round was announced by the run that began it
        now.announce = now.link is None
        seen: set[str] = set()
        while True:
            try:
                build = stream.initial() if now.link is None else stream.follow(now.link)
                page = await self._session.read(stream.mailbox, build, stream.what)
            except SyncStateGone as gone:
                self._reset(stream, now, gone)
                continue
            changes: list[Change] = [RoundStart(stream=stream.name)] if now.announce else []
            now.announce = False
            values = page.get("value") or ()
            changes += stream.changes(values)
            if stream.folder is None:
                present, pointed = series_seen(values)
                now.masters |= present
                now.pending = (now.pending | pointed) - now.masters
            next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
            # a decoded page is ~10 MiB of objects: let it go before waiting for room in the
            # queue, so one page at a time is alive, not one per stream of every mailbox
            del page, values
            if next_link:
                if next_link in seen:
                    raise PermanentError(
                        f"Microsoft Graph repeated a page link while {stream.what}"
                    )
                seen.add(next_link)
                extra = {"pending": sorted(now.pending)} if now.pending else {}
                cursor_text = stream.cursor(next=next_link, full=now.full, **extra)
                changes.append(Checkpoint(stream=stream.name, cursor=cursor_text))
                await out.put(changes)
                now.link = next_link
                continue
            if not delta_link:
                raise PermanentError(
                    f"Microsoft Graph sent a page without next or delta link while {stream.what}"
                )
            changes += await self._read_masters(stream, now.pending)
            changes.append(
                Checkpoint(
                    stream=stream.name,
                    cursor=stream.cursor(delta=delta_link),
                    round_complete=now.full,
                )
            )
            await out.put(changes)
            return

    def _reset(self, stream: Stream, now: _Round, gone: SyncStateGone) -> None:
        """Graph forgot the sync state: read the stream from the start, once."""
        if now.link is None or now.reset:
            again = " again after a full round began" if now.reset else " to a new round"
            raise PermanentError(
                f"Microsoft Graph answered {gone.status} {gone.code}{again} while {stream.what}",
                next_step="Run `syncaudit sync --full` later; if it keeps failing, report it.",
            ) from None
        log.info(
            "msgraph.sync_state_expired",
            mailbox=self._labels[stream.mailbox],
            collection="calendar" if stream.folder is None else "contacts",
            status=gone.status,
            code=gone.code,
        )
        now.link, now.full, now.announce, now.reset = None, True, True, True
        now.pending.clear()
        now.masters.clear()

    async def _read_masters(self, stream: Stream, masters: set[str]) -> list[Change]:
        """Series whose master the delta did not send: one read per series."""
        if not masters:
            return []

        async def read(master: str) -> dict[str, Any] | None:
            try:
                return await self._session.read(
                    stream.mailbox, rq.event(stream.mailbox, master), "reading a series"
                )
            except NotFound:
                return None  # deleted meanwhile: its removal comes with the next round

        found = await gather_or_cancel(*(read(m) for m in sorted(masters)))
        log.info("msgraph.series_read", mailbox=self._labels[stream.mailbox], series=len(found))
        return stream.changes([m for m in found if m is not None])


def _gone(stream: str) -> list[Change]:
    return [
        RoundStart(stream=stream),
        Checkpoint(stream=stream, cursor=GONE, round_complete=True),
    ]


def _decode(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except json.JSONDecodeError:
        return {"delta": cursor} if cursor.startswith("http") else None
    return state if isinstance(state, dict) else None
