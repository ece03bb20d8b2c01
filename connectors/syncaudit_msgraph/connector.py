"""MsGraphConnector: pull, locate, preview, erase, verify and export for Outlook mailboxes, and
messages / delete_message on a mail folder (capability MAIL, for retention rules).

Streams (one cursor each):
- `contacts:{mailbox}:{folder}` for the default Contacts folder (`folder` = "default") and every
  child folder, recursively (`folder` = the folder's Graph id);
- `calendar:{mailbox}`: calendarView delta over [now - calendar_past_days, now +
  calendar_future_days], re-based (a new full round) once the window has drifted by a week or
  the configured length changed.

Cursor: JSON `{"delta": link}` after a round, `{"next": link, "full": bool}` mid-round, plus the
calendar window. A checkpoint follows every page. An expired token (410) starts a full round of
that stream only. A crash mid-round resumes from the stored next link; a resumed *full* round
yields no second RoundStart (the sync runner keeps the round open across runs) and still ends
with `round_complete=True`.

Calendar erasure and notifications (what Graph sends; see `_plan_event`):
- removing an attendee from a meeting the mailbox organised notifies that attendee only;
- editing subject/body/location of such a meeting notifies every attendee left on it, so the
  default `redact` edits the text only when no other attendee remains; otherwise it removes the
  person from the attendees and answers AWAITING_MANUAL (the operator redacts in Outlook with
  "don't send update", or chooses calendar_policy = "delete");
- the mailbox's copy of someone else's meeting is edited or deleted locally (nobody is told;
  `cancel` is never used). When the person *organised* it, the organiser cannot be edited: the
  copy is replaced by a "[redacted]" placeholder in the same time slot (created with a
  transactionId, so a repeat creates no second one) and then permanently deleted;
- `delete` permanently deletes; for a meeting the mailbox organised, Graph sends a cancellation
  to every attendee - `preview` says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog

from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Change,
    Checkpoint,
    ErasureTarget,
    MailMessage,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    RoundStart,
    StreamProblem,
    SystemProfile,
)
from syncaudit.errors import PermanentError
from syncaudit.retry import DEFAULT_POLICY, RetryPolicy

from . import _requests as rq
from ._graph import GraphSession, NotFound, SyncStateGone, gather_or_cancel
from ._parse import (
    REDACTED,
    calendar_stream,
    contact_changes,
    contact_holds,
    contact_locator,
    contact_stream,
    event_changes,
    event_locator,
    mail_message,
    redacted_fields,
    remaining_attendees,
    same_address,
    subject_starts_with,
    view_event,
)
from .settings import CAPABILITIES, MsGraphSettings

log = structlog.get_logger(__name__)

REBASE_AFTER = timedelta(days=7)
QUEUE_PAGES = 16
_DONE = object()
PERSON = "the person erased"


@dataclass
class _Pull:
    queue: asyncio.Queue[Any]
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True, kw_only=True)
class _Window:
    start: str
    end: str

    @classmethod
    def around(cls, now: datetime, past_days: int, future_days: int) -> _Window:
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
class _Stream:
    name: str
    mailbox: str
    folder: str | None  # None: the calendar
    window: _Window | None = None

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


@dataclass(frozen=True, kw_only=True)
class _EventPlan:
    action: Action
    explanation: str
    steps: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # ("patch"|"purge"|"create", fields)
    notifies: tuple[str, ...] = ()
    manual: bool = False


@dataclass
class _Found:
    item: dict[str, Any] | None
    folder: str = rq.DEFAULT_FOLDER  # the folder path that answered
    extra: dict[str, Any] = field(default_factory=dict)


class MsGraphConnector:
    """One configured Microsoft 365 tenant; see the module docstring."""

    kind = "msgraph"

    def __init__(
        self,
        name: str,
        settings: MsGraphSettings,
        profile: SystemProfile,
        *,
        clock: Clock,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.name = name
        self.settings = settings
        self.profile = profile
        self.clock = clock
        self.capabilities = CAPABILITIES
        self._session = GraphSession(settings, clock, retry)
        self._labels = {m: f"mailboxes[{i}]" for i, m in enumerate(settings.mailboxes)}

    # -- check ------------------------------------------------------------------------------------

    def check(self) -> str:
        async def probe() -> int:
            await gather_or_cancel(
                *(
                    self._session.read(m, rq.folders(m, top=1), "checking a mailbox")
                    for m in self.settings.mailboxes
                )
            )
            return len(self.settings.mailboxes)

        count = self._session.run(probe())
        host = urlsplit(self.settings.base_url).netloc
        return f"Microsoft Graph at {host}: {count} mailbox(es) reachable"

    # -- pull -------------------------------------------------------------------------------------

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        window = _Window.around(
            self.clock.now(), self.settings.calendar_past_days, self.settings.calendar_future_days
        )
        run = self._session.run
        pull = run(self._start_pull(dict(cursors), full, window))
        try:
            while True:
                item = run(pull.queue.get())
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            run(self._stop_pull(pull))

    async def _start_pull(self, cursors: dict[str, str], full: bool, window: _Window) -> _Pull:
        pull = _Pull(queue=asyncio.Queue(maxsize=QUEUE_PAGES))

        async def supervise() -> None:
            try:
                await gather_or_cancel(
                    *(
                        self._pull_mailbox(m, cursors, full, window, pull.queue)
                        for m in self.settings.mailboxes
                    )
                )
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                await pull.queue.put(exc)
                return
            await pull.queue.put(_DONE)

        pull.task = asyncio.ensure_future(supervise())
        return pull

    async def _stop_pull(self, pull: _Pull) -> None:
        if pull.task is not None and not pull.task.done():
            pull.task.cancel()
            await asyncio.gather(pull.task, return_exceptions=True)

    async def _pull_mailbox(
        self,
        mailbox: str,
        cursors: Mapping[str, str],
        full: bool,
        window: _Window,
        out: asyncio.Queue[Any],
    ) -> None:
        streams = [
            _Stream(name=calendar_stream(mailbox), mailbox=mailbox, folder=None, window=window)
        ]
        try:
            folders = await self._folders(mailbox)
        except PermanentError as exc:
            await out.put([StreamProblem(stream=contact_stream(mailbox, "*"), message=str(exc))])
        else:
            streams += [
                _Stream(name=contact_stream(mailbox, f), mailbox=mailbox, folder=f) for f in folders
            ]
            await self._forget_gone_folders(mailbox, folders, cursors, out)
        await gather_or_cancel(
            *(self._pull_stream(s, cursors.get(s.name), full, out) for s in streams)
        )

    async def _forget_gone_folders(
        self,
        mailbox: str,
        folders: Sequence[str],
        cursors: Mapping[str, str],
        out: asyncio.Queue[Any],
    ) -> None:
        """A folder deleted in Outlook: an empty complete round marks its records removed."""
        prefix = contact_stream(mailbox, "")
        for stream, cursor in cursors.items():
            folder = stream[len(prefix) :]
            if stream.startswith(prefix) and folder not in folders and '"gone"' not in cursor:
                gone = json.dumps({"gone": True})
                await out.put(
                    [
                        RoundStart(stream=stream),
                        Checkpoint(stream=stream, cursor=gone, round_complete=True),
                    ]
                )

    async def _folders(self, mailbox: str) -> list[str]:
        """The default folder and every contact folder below it, breadth first."""
        label = self._labels[mailbox]
        found = [rq.DEFAULT_FOLDER]
        level = await self._session.read_all(
            mailbox, rq.folders(mailbox), "listing contact folders"
        )
        seen: set[str] = set()
        while level:
            ids = [f["id"] for f in level if f["id"] not in seen]
            seen.update(ids)
            found += ids
            children = await gather_or_cancel(
                *(
                    self._session.read_all(
                        mailbox, rq.child_folders(mailbox, f), "listing child contact folders"
                    )
                    for f in ids
                )
            )
            level = [c for group in children for c in group]
        log.info("msgraph.folders", mailbox=label, folders=len(found))
        return found

    async def _pull_stream(
        self, stream: _Stream, cursor: str | None, full: bool, out: asyncio.Queue[Any]
    ) -> None:
        try:
            await self._read_stream(stream, cursor, full, out)
        except PermanentError as exc:
            await out.put([StreamProblem(stream=stream.name, message=str(exc))])

    async def _read_stream(
        self, stream: _Stream, cursor: str | None, full: bool, out: asyncio.Queue[Any]
    ) -> None:
        state = _decode(cursor)
        link: str | None = None
        round_full = True  # this round reads the stream from the start
        usable = not full and state is not None and not state.get("gone")
        if state and usable and (stream.window is None or not stream.window.drifted(state)):
            link = state.get("next") or state.get("delta")
            round_full = bool(state.get("next") and state.get("full"))
        announce = link is None  # a resumed full round was announced by the run that began it
        seen: set[str] = set()
        what = "reading the calendar" if stream.folder is None else "reading contacts"
        while True:
            try:
                build = stream.initial() if link is None else stream.follow(link)
                page = await self._session.read(stream.mailbox, build, what)
            except SyncStateGone:
                if link is None:
                    raise PermanentError(
                        f"Microsoft Graph answered 410 to a new round while {what}"
                    ) from None
                log.info("msgraph.sync_state_expired", mailbox=self._labels[stream.mailbox])
                link, round_full, announce = None, True, True
                continue
            changes: list[Change] = [RoundStart(stream=stream.name)] if announce else []
            announce = False
            changes += stream.changes(page.get("value") or ())
            next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
            if next_link:
                if next_link in seen:
                    raise PermanentError(f"Microsoft Graph repeated a page link while {what}")
                seen.add(next_link)
                cursor_text = stream.cursor(next=next_link, full=round_full)
                changes.append(Checkpoint(stream=stream.name, cursor=cursor_text))
                await out.put(changes)
                link = next_link
                continue
            if not delta_link:
                raise PermanentError(
                    f"Microsoft Graph sent a page without next or delta link while {what}"
                )
            changes.append(
                Checkpoint(
                    stream=stream.name,
                    cursor=stream.cursor(delta=delta_link),
                    round_complete=round_full,
                )
            )
            await out.put(changes)
            return

    # -- locate -----------------------------------------------------------------------------------

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        return self._session.run(self._locate(target))

    async def _locate(self, target: ErasureTarget) -> list[RecordRef]:
        groups = await gather_or_cancel(
            *(self._locate_in(m, target) for m in self.settings.mailboxes)
        )
        refs = [ref for group in groups for ref in group]
        return sorted(refs, key=lambda r: (r.stream, r.external_id))

    async def _locate_in(self, mailbox: str, target: ErasureTarget) -> list[RecordRef]:
        # Without the address (a re-erasure by pseudonym) contacts cannot be searched by it:
        # the records come from the pull; the calendar scan still compares every address.
        folders = await self._folders(mailbox) if target.email else []
        found = await gather_or_cancel(
            *(
                self._session.read_all(
                    mailbox,
                    rq.contacts_with_address(mailbox, f, target.email),
                    "looking up contacts by address",
                )
                for f in folders
            )
        )
        refs = [
            self._contact_ref(mailbox, folder, item)
            for folder, items in zip(folders, found, strict=True)
            for item in items
            if contact_holds(item, target)
        ]
        if self.settings.locate_scans_calendar:
            window = _Window.around(
                self.clock.now(),
                self.settings.calendar_past_days,
                self.settings.calendar_future_days,
            )
            events = await self._session.read_all(
                mailbox,
                rq.calendar_view(mailbox, window.start, window.end),
                "scanning the calendar",
            )
            for event in events:
                view = view_event(event, target)
                if view.holds_target:
                    refs.append(self._event_ref(mailbox, event["id"], view.role, view.start))
        return refs

    def _contact_ref(self, mailbox: str, folder: str, item: Mapping[str, Any]) -> RecordRef:
        return RecordRef(
            system=self.name,
            kind=RecordKind.CONTACT,
            external_id=str(item["id"]),
            stream=contact_stream(mailbox, folder),
            locator=contact_locator(mailbox, folder),
            label=f"contact in {self._labels[mailbox]}",
        )

    def _event_ref(
        self, mailbox: str, event_id: str, role: str, start: datetime | None
    ) -> RecordRef:
        kind = {
            "organizer": RecordKind.EVENT_ORGANIZER,
            "attendee": RecordKind.EVENT_ATTENDEE,
        }.get(role, RecordKind.EVENT_MENTION)
        day = start.date().isoformat() if start else "undated"
        return RecordRef(
            system=self.name,
            kind=kind,
            external_id=event_id,
            stream=calendar_stream(mailbox),
            locator=event_locator(mailbox),
            label=f"event {day} in {self._labels[mailbox]}",
        )

    # -- reading one item -------------------------------------------------------------------------

    def _where(self, ref: RecordRef) -> tuple[str, str]:
        mailbox = ref.locator.get("mailbox") or ref.stream.split(":")[1]
        if mailbox not in self._labels:
            raise PermanentError(
                "the record belongs to a mailbox that is not configured",
                next_step="Add the mailbox back to [[systems]].mailboxes, or erase it by hand.",
            )
        folder = ref.locator.get("folder") or rq.DEFAULT_FOLDER
        return mailbox, folder

    async def _read_contact(self, mailbox: str, folder: str, contact_id: str) -> _Found:
        """By its folder's path; failing that by id alone (finds it in Deleted Items too)."""
        for where in dict.fromkeys((folder, rq.DEFAULT_FOLDER)):
            try:
                item = await self._session.read(
                    mailbox, rq.contact(mailbox, where, contact_id), "reading a contact"
                )
                return _Found(item=item, folder=where)
            except NotFound:
                continue
        return _Found(item=None)

    async def _read_event(self, mailbox: str, event_id: str) -> dict[str, Any] | None:
        try:
            return await self._session.read(
                mailbox, rq.event(mailbox, event_id), "reading an event"
            )
        except NotFound:
            return None

    # -- preview / erase --------------------------------------------------------------------------

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        return self._session.run(self._preview(ref, target))

    async def _preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            found = await self._read_contact(mailbox, folder, ref.external_id)
            if found.item is None or not contact_holds(found.item, target):
                return PlannedAction(ref=ref, action=Action.NONE, explanation="already absent")
            if _other_addresses(found.item, target):
                return PlannedAction(
                    ref=ref,
                    action=Action.REDACT,
                    explanation="remove the address from the contact; its other addresses stay",
                )
            return PlannedAction(
                ref=ref,
                action=Action.DELETE,
                explanation="permanently delete the contact (Purges folder); nobody is notified",
            )
        event = await self._read_event(mailbox, ref.external_id)
        plan = _plan_event(event, target, self.settings.calendar_policy, mailbox, ref.external_id)
        return PlannedAction(
            ref=ref, action=plan.action, explanation=plan.explanation, notifies=plan.notifies
        )

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        return self._session.run(self._erase(ref, target))

    async def _erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            return await self._erase_contact(ref, mailbox, folder, target)
        return await self._erase_event(ref, mailbox, target)

    async def _erase_contact(
        self, ref: RecordRef, mailbox: str, folder: str, target: ErasureTarget
    ) -> Outcome:
        found = await self._read_contact(mailbox, folder, ref.external_id)
        if found.item is None or not contact_holds(found.item, target):
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        others = _other_addresses(found.item, target)
        try:
            if others:
                build = rq.contact_patch_addresses(mailbox, found.folder, ref.external_id, others)
                await self._session.write(mailbox, build, "removing an address from a contact")
                detail = f"address removed; {len(others)} other address(es) kept"
            else:
                build = rq.contact_purge(mailbox, found.folder, ref.external_id)
                await self._session.write(mailbox, build, "permanently deleting a contact")
                detail = "contact permanently deleted (a mailbox hold may still retain it)"
        except NotFound:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        log.info("msgraph.erased", item="contact", mailbox=self._labels[mailbox], kept=len(others))
        return Outcome(status=OutcomeStatus.ERASED, ref=ref, detail=detail)

    async def _erase_event(self, ref: RecordRef, mailbox: str, target: ErasureTarget) -> Outcome:
        event = await self._read_event(mailbox, ref.external_id)
        plan = _plan_event(event, target, self.settings.calendar_policy, mailbox, ref.external_id)
        if plan.action is Action.NONE:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        try:
            for step, fields in plan.steps:
                await self._event_step(mailbox, ref.external_id, step, fields)
        except NotFound:
            if plan.steps and plan.steps[-1][0] == "purge":
                return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
            raise PermanentError("the event disappeared while it was being redacted") from None
        log.info(
            "msgraph.erased",
            item="event",
            mailbox=self._labels[mailbox],
            action=str(plan.action),
            steps=len(plan.steps),
            manual=plan.manual,
        )
        if plan.manual:
            return Outcome(status=OutcomeStatus.AWAITING_MANUAL, ref=ref, detail=plan.explanation)
        return Outcome(status=OutcomeStatus.ERASED, ref=ref, detail=plan.explanation)

    async def _event_step(
        self, mailbox: str, event_id: str, step: str, fields: Mapping[str, Any]
    ) -> None:
        if step == "patch":
            await self._session.write(
                mailbox, rq.event_patch(mailbox, event_id, fields), "redacting an event"
            )
        elif step == "create":
            await self._session.write(
                mailbox, rq.event_create(mailbox, fields), "creating a placeholder", body=True
            )
        else:
            await self._session.write(
                mailbox, rq.event_purge(mailbox, event_id), "permanently deleting an event"
            )

    # -- verify / export --------------------------------------------------------------------------

    def verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        return self._session.run(self._verify(target, refs))

    async def _verify(self, target: ErasureTarget, refs: Sequence[RecordRef]) -> list[RecordRef]:
        held = await gather_or_cancel(*(self._still_holds(ref, target) for ref in refs))
        left: dict[tuple[str, str], RecordRef] = {}
        for ref, holds in zip(refs, held, strict=True):
            if holds:
                left.setdefault((ref.stream, ref.external_id), ref)
        for ref in await self._locate(target):
            left.setdefault((ref.stream, ref.external_id), ref)
        if left:
            log.info("msgraph.verify_left", records=len(left))
        return list(left.values())

    async def _still_holds(self, ref: RecordRef, target: ErasureTarget) -> bool:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            found = await self._read_contact(mailbox, folder, ref.external_id)
            return found.item is not None and contact_holds(found.item, target)
        event = await self._read_event(mailbox, ref.external_id)
        return event is not None and view_event(event, target).holds_target

    def export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        return self._session.run(self._export(ref, target))

    async def _export(self, ref: RecordRef, target: ErasureTarget) -> Mapping[str, Any]:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            found = await self._read_contact(mailbox, folder, ref.external_id)
            if found.item is None or not contact_holds(found.item, target):
                return {}
            return {"record": "contact", **{k: found.item.get(k) for k in CONTACT_EXPORT}}
        event = await self._read_event(mailbox, ref.external_id)
        if event is None:
            return {}
        view = view_event(event, target)
        if not view.holds_target:
            return {}
        return {
            "record": "calendar entry",
            "date": view.start.isoformat() if view.start else None,
            "end": (event.get("end") or {}).get("dateTime"),
            "subject": event.get("subject"),
            "role": view.role,
        }

    # -- mail (capability MAIL: retention of coaching summaries; Mail.ReadWrite) --------------

    def messages(
        self, mailbox: str, folder: str, *, subject_prefixes: Sequence[str] = ()
    ) -> list[MailMessage]:
        """The folder's messages (ids, dates, addresses); `folder` is a path of display names
        ("Inbox/Clients") or a well-known name ("sentitems")."""
        self._check_mailbox(mailbox)
        return self._session.run(self._messages(mailbox, folder, tuple(subject_prefixes)))

    async def _messages(
        self, mailbox: str, folder: str, prefixes: tuple[str, ...]
    ) -> list[MailMessage]:
        folder_id = await self._mail_folder(mailbox, folder)
        items = await self._session.read_all(
            mailbox, rq.folder_messages(mailbox, folder_id), "listing messages"
        )
        kept = [i for i in items if not prefixes or subject_starts_with(i, prefixes)]
        log.info("msgraph.messages", mailbox=self._labels[mailbox], messages=len(kept))
        return [mail_message(mailbox, folder, item) for item in kept]

    async def _mail_folder(self, mailbox: str, path: str) -> str:
        parts = [p.strip() for p in path.split("/") if p.strip()]
        folder_id = ""
        for depth, part in enumerate(parts):
            build = (
                rq.mail_folders(mailbox)
                if depth == 0
                else rq.mail_child_folders(mailbox, folder_id)
            )
            level = await self._session.read_all(mailbox, build, "listing mail folders")
            found = [
                f for f in level if str(f.get("displayName", "")).casefold() == part.casefold()
            ]
            if found:
                folder_id = str(found[0]["id"])
            elif depth == 0 and part.lower() in WELL_KNOWN_FOLDERS:
                folder_id = part.lower()
            else:
                raise PermanentError(
                    f"mail folder {path!r} not found in {self._labels[mailbox]}",
                    next_step="Check [retention.summaries].folders: display names joined by /.",
                )
        if not folder_id:
            raise PermanentError("an empty mail folder path", next_step="Name a mail folder.")
        return folder_id

    def delete_message(self, mailbox: str, message_id: str) -> bool:
        """permanentDelete (to the Purges folder, like erasure); False if already gone."""
        self._check_mailbox(mailbox)

        async def purge() -> bool:
            try:
                await self._session.write(
                    mailbox, rq.message_purge(mailbox, message_id), "permanently deleting a message"
                )
            except NotFound:
                return False
            return True

        deleted = self._session.run(purge())
        log.info("msgraph.message_deleted", mailbox=self._labels[mailbox], deleted=deleted)
        return deleted

    def _check_mailbox(self, mailbox: str) -> None:
        if mailbox not in self._labels:
            raise PermanentError(
                "the mailbox is not configured for this system",
                next_step="Add it to [[systems]].mailboxes of the msgraph system.",
            )

    # -- notifications (the service's email channel; needs the Mail.Send permission) --------------

    def send_mail(self, to: Sequence[str], subject: str, body: str) -> None:
        """Send a plain-text message from the first configured mailbox."""
        mailbox = self.settings.mailboxes[0]
        build = rq.send_mail(mailbox, to, subject, body)
        self._session.run(self._session.write(mailbox, build, "sending a notification"))

    def close(self) -> None:
        self._session.close()


# Graph's well-known mail folder names, usable where a display name is expected.
WELL_KNOWN_FOLDERS = frozenset(
    {"inbox", "sentitems", "drafts", "deleteditems", "archive", "junkemail", "outbox"}
)

CONTACT_EXPORT = (
    "displayName",
    "givenName",
    "surname",
    "emailAddresses",
    "companyName",
    "jobTitle",
    "department",
    "businessPhones",
    "homePhones",
    "mobilePhone",
    "homeAddress",
    "businessAddress",
    "otherAddress",
    "birthday",
    "personalNotes",
    "categories",
    "createdDateTime",
    "lastModifiedDateTime",
)


def _decode(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except json.JSONDecodeError:
        return {"delta": cursor} if cursor.startswith("http") else None
    return state if isinstance(state, dict) else None


def _other_addresses(contact: Mapping[str, Any], target: ErasureTarget) -> list[dict[str, Any]]:
    return [
        {"name": e.get("name"), "address": e.get("address")}
        for e in contact.get("emailAddresses") or ()
        if e and e.get("address") and not same_address(e.get("address"), target)
    ]


def _plan_event(
    event: Mapping[str, Any] | None,
    target: ErasureTarget,
    policy: str,
    mailbox: str,
    event_id: str,
) -> _EventPlan:
    """What erasing the person from this event does, and who Graph will notify."""
    if event is None:
        return _EventPlan(action=Action.NONE, explanation="already absent")
    view = view_event(event, target)
    if not view.holds_target:
        return _EventPlan(action=Action.NONE, explanation="the person is no longer in the event")
    others = len(view.other_attendees)
    if policy == "delete":
        notifies: tuple[str, ...] = ()
        told = ""
        if view.is_organizer and (others or view.attendee_is_target):
            notifies = ((PERSON,) if view.attendee_is_target else ()) + (
                (f"{others} other attendee(s)",) if others else ()
            )
            told = "; Graph sends a cancellation to " + " and ".join(notifies)
        return _EventPlan(
            action=Action.DELETE,
            explanation="permanently delete the event" + told,
            steps=(("purge", {}),),
            notifies=notifies,
        )
    if view.organizer_is_target and not view.is_organizer:
        placeholder = {
            "subject": REDACTED,
            "start": event.get("start") or {},
            "end": event.get("end") or {},
            "showAs": event.get("showAs") or "busy",
            "isReminderOn": False,
            "transactionId": "syncaudit-"
            + hashlib.sha256(f"{mailbox}/{event_id}".encode()).hexdigest()[:32],
        }
        return _EventPlan(
            action=Action.REDACT,
            explanation=(
                "the person organised this meeting and an organiser cannot be edited: the "
                "mailbox's copy is replaced by a placeholder in the same slot; nobody is notified"
            ),
            steps=(("create", placeholder), ("purge", {})),
        )
    if view.organizer_is_target:
        return _EventPlan(
            action=Action.MANUAL,
            explanation="the mailbox owner is the person erased; handle this mailbox by hand",
            manual=True,
        )
    steps: list[tuple[str, Mapping[str, Any]]] = []
    notifies = ()
    if view.attendee_is_target:
        steps.append(("patch", {"attendees": remaining_attendees(event, target)}))
        if view.is_organizer:
            notifies = (PERSON,)
    text = redacted_fields(event, target)
    if text and view.is_organizer and others:
        return _EventPlan(
            action=Action.MANUAL,
            explanation=(
                ("removed from the attendees (only they are told); " if steps else "")
                + f"the subject, body or location still names the person and editing them would "
                f"send an update to {others} other attendee(s): redact them in Outlook without "
                'sending an update, or use calendar_policy = "delete"'
            ),
            steps=tuple(steps),
            notifies=notifies,
            manual=True,
        )
    if text:
        steps.append(("patch", text))
    told = "; Graph notifies only the person erased" if notifies else "; nobody is notified"
    return _EventPlan(
        action=Action.REDACT,
        explanation="remove the person from the event and redact its text, keeping the slot" + told,
        steps=tuple(steps),
        notifies=notifies,
    )
