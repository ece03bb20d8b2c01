"""MsGraphConnector: pull, locate, preview, erase, verify and export for Outlook mailboxes, and
messages / delete_message on a mail folder (capability MAIL, for retention rules).

Pulling (streams, cursors, sync-state resets, folder failures): see `_pull`. Who is in an item
and how partial delta items become partial upserts: `_parse`. What erasing a calendar item does
and who Graph tells: `_plan`.

Recurring series: the index record of a series is its master. Erasing it edits (or, under
`delete`, deletes) the master, then re-lists the series' instances and redacts every exception
that still names the person; verify re-reads the master and the exceptions. Locate maps the
occurrences a calendar scan returns onto their master, so a weekly series is one record, not
hundreds. Exceptions are records of their own (their own id, their own properties).

Deleted Items: what someone deleted by hand is still there, and still personal data. Locate and
verify search it for the person's contacts (`/contactFolders/deleteditems/contacts`, with the
address filter) and events (`/calendars/deleteditems/events`); what is found there is
permanently deleted. Neither route is in the v1.0 reference: a 4xx there is logged as
`msgraph.deleted_items_unsearchable` and reported by `check()`, and the look-up goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import structlog

from syncaudit.clock import Clock
from syncaudit.contract import (
    Action,
    Change,
    Correction,
    ErasureTarget,
    MailMessage,
    Outcome,
    OutcomeStatus,
    PlannedAction,
    RecordKind,
    RecordRef,
    SystemProfile,
)
from syncaudit.errors import PermanentError
from syncaudit.mailbox import Letter, MailBatch
from syncaudit.retry import DEFAULT_POLICY, RetryPolicy

from . import _mailbox as mx
from . import _requests as rq
from ._graph import GraphSession, NotFound, gather_or_cancel
from ._parse import (
    calendar_stream,
    contact_holds,
    contact_locator,
    contact_stream,
    event_locator,
    is_master,
    mail_message,
    same_address,
    series_span,
    subject_starts_with,
    view_event,
)
from ._plan import EventPlan, plan_deleted, plan_event, series_explanation
from ._pull import ContactsGate, Puller, Window, folder_tree
from ._rectify import holds_either, wanted_patch
from .settings import CAPABILITIES, MsGraphSettings

log = structlog.get_logger(__name__)

# Pages handed from the mailboxes' readers to the sync; the sync reads a few batches ahead of
# its writer already. Counted in pages, and a calendar page holds up to 1,000 events: 16 held
# every event of the benchmark's two mailboxes at once (12-16 MiB of peak RSS, measured).
QUEUE_PAGES = 2
SERIES_HORIZON_DAYS = 3660  # a series without an end: its exceptions are looked for this far ahead
_DONE = object()


@dataclass
class _Pull:
    queue: asyncio.Queue[Any]
    task: asyncio.Task[None] | None = None


@dataclass
class _Found:
    item: dict[str, Any] | None
    folder: str = rq.DEFAULT_FOLDER  # the folder path that answered
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class _EventState:
    """An event as erasure sees it: the item, and for a series its instances."""

    event: dict[str, Any] | None
    instances: tuple[dict[str, Any], ...] = ()

    def exceptions(self, target: ErasureTarget) -> list[dict[str, Any]]:
        return [
            i
            for i in self.instances
            if i.get("type") == "exception" and view_event(i, target).holds_target
        ]


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
        self._puller = Puller(self._session, self._labels)

    # -- check ------------------------------------------------------------------------------------

    def check(self) -> str:
        async def probe() -> list[str]:
            await gather_or_cancel(
                *(
                    self._session.read(m, rq.folders(m, top=1), "checking a mailbox")
                    for m in self.settings.mailboxes
                )
            )
            found = await gather_or_cancel(
                *(self._deleted_items_refused(m) for m in self.settings.mailboxes)
            )
            return [problem for problem in found if problem]

        refused = self._session.run(probe())
        host = urlsplit(self.settings.base_url).netloc
        line = f"Microsoft Graph at {host}: {len(self.settings.mailboxes)} mailbox(es) reachable"
        if refused:
            line += "; Deleted Items cannot be searched (" + "; ".join(refused) + ")"
        return line

    async def _deleted_items_refused(self, mailbox: str) -> str:
        build = rq.contacts_with_address(mailbox, rq.DELETED_ITEMS, "probe@invalid", top=1)
        try:
            await self._session.read(mailbox, build, "checking Deleted Items")
        except PermanentError as exc:
            return f"{self._labels[mailbox]}: {exc}"
        return ""

    # -- pull -------------------------------------------------------------------------------------

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Change]:
        window = self._window()
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

    def _window(self) -> Window:
        return Window.around(
            self.clock.now(), self.settings.calendar_past_days, self.settings.calendar_future_days
        )

    async def _start_pull(self, cursors: dict[str, str], full: bool, window: Window) -> _Pull:
        pull = _Pull(queue=asyncio.Queue(maxsize=QUEUE_PAGES))

        async def supervise() -> None:
            gate = ContactsGate(len(self.settings.mailboxes))
            try:
                await gather_or_cancel(
                    *(
                        self._puller.mailbox(m, cursors, full, window, pull.queue, gate=gate)
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

    # -- locate -----------------------------------------------------------------------------------

    def locate(self, target: ErasureTarget) -> list[RecordRef]:
        return self._session.run(self._locate(target))

    async def _locate(self, target: ErasureTarget) -> list[RecordRef]:
        groups = await gather_or_cancel(
            *(self._locate_in(m, target) for m in self.settings.mailboxes)
        )
        refs = {(r.kind, r.stream, r.external_id): r for group in groups for r in group}
        return sorted(refs.values(), key=lambda r: (r.stream, r.external_id, r.kind))

    async def _locate_in(self, mailbox: str, target: ErasureTarget) -> list[RecordRef]:
        refs: list[RecordRef] = []
        # Without the address (a re-erasure by pseudonym) contacts cannot be searched by it:
        # the records come from the pull; the calendar scans still compare every address.
        if target.email:
            tree = await folder_tree(self._session, mailbox, self._labels[mailbox], strict=True)
            found = await gather_or_cancel(
                *(self._contacts_in(mailbox, f, target) for f in tree.folders),
                self._deleted_contacts(mailbox, target),
            )
            refs += [ref for group in found for ref in group]
        if self.settings.locate_scans_calendar:
            window = self._window()
            events = await self._session.read_all(
                mailbox,
                rq.calendar_view(mailbox, window.start, window.end),
                "scanning the calendar",
            )
            refs += self._event_refs(mailbox, events, target)
        refs += await self._deleted_events(mailbox, target)
        return refs

    async def _contacts_in(
        self, mailbox: str, folder: str, target: ErasureTarget
    ) -> list[RecordRef]:
        build = rq.contacts_with_address(mailbox, folder, target.email)
        try:
            items = await self._session.read_all(mailbox, build, "looking up contacts by address")
        except NotFound:
            return []  # the folder vanished since it was listed
        return [self._contact_ref(mailbox, folder, i) for i in items if contact_holds(i, target)]

    async def _deleted_contacts(self, mailbox: str, target: ErasureTarget) -> list[RecordRef]:
        build = rq.contacts_with_address(mailbox, rq.DELETED_ITEMS, target.email)
        try:
            items = await self._session.read_all(mailbox, build, "searching Deleted Items")
        except PermanentError as exc:
            self._unsearchable(mailbox, "contacts", exc)
            return []
        return [
            self._contact_ref(mailbox, rq.DELETED_ITEMS, i)
            for i in items
            if contact_holds(i, target)
        ]

    async def _deleted_events(self, mailbox: str, target: ErasureTarget) -> list[RecordRef]:
        try:
            items = await self._session.read_all(
                mailbox, rq.deleted_events(mailbox), "searching Deleted Items"
            )
        except PermanentError as exc:
            self._unsearchable(mailbox, "events", exc)
            return []
        return self._event_refs(mailbox, items, target, deleted=True)

    def _unsearchable(self, mailbox: str, items: str, exc: PermanentError) -> None:
        log.warning(
            "msgraph.deleted_items_unsearchable",
            mailbox=self._labels[mailbox],
            items=items,
            error=str(exc),
        )

    def _event_refs(
        self,
        mailbox: str,
        events: Sequence[Mapping[str, Any]],
        target: ErasureTarget,
        *,
        deleted: bool = False,
    ) -> list[RecordRef]:
        """Events naming the person as refs; an occurrence is its series' master."""
        refs: list[RecordRef] = []
        for event in events:
            view = view_event(event, target)
            if not view.holds_target:
                continue
            series = event.get("type") == "occurrence" and bool(event.get("seriesMasterId"))
            event_id = str(event["seriesMasterId"] if series else event["id"])
            refs.append(
                self._event_ref(
                    mailbox,
                    event_id,
                    view.role,
                    None if series else view.start,
                    series=series or is_master(event),
                    deleted=deleted,
                )
            )
        return refs

    def _contact_ref(self, mailbox: str, folder: str, item: Mapping[str, Any]) -> RecordRef:
        where = "Deleted Items of " if folder == rq.DELETED_ITEMS else ""
        return RecordRef(
            system=self.name,
            kind=RecordKind.CONTACT,
            external_id=str(item["id"]),
            stream=contact_stream(mailbox, folder),
            locator=contact_locator(mailbox, folder),
            label=f"contact in {where}{self._labels[mailbox]}",
        )

    def _event_ref(  # noqa: PLR0917
        self,
        mailbox: str,
        event_id: str,
        role: str,
        start: datetime | None,
        series: bool = False,
        deleted: bool = False,
    ) -> RecordRef:
        kind = {
            "organizer": RecordKind.EVENT_ORGANIZER,
            "attendee": RecordKind.EVENT_ATTENDEE,
        }.get(role, RecordKind.EVENT_MENTION)
        what = (
            "event series"
            if series
            else "event " + (start.date().isoformat() if start else "undated")
        )
        where = "Deleted Items of " if deleted else ""
        locator = event_locator(mailbox)
        if deleted:
            locator = {**locator, "folder": rq.DELETED_ITEMS}
        return RecordRef(
            system=self.name,
            kind=kind,
            external_id=event_id,
            stream=calendar_stream(mailbox),
            locator=locator,
            label=f"{what} in {where}{self._labels[mailbox]}",
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

    async def _read_event_state(self, mailbox: str, event_id: str) -> _EventState:
        event = await self._read_event(mailbox, event_id)
        if event is None or not is_master(event):
            return _EventState(event=event)
        return _EventState(event=event, instances=await self._read_instances(mailbox, event))

    async def _read_instances(
        self, mailbox: str, master: Mapping[str, Any]
    ) -> tuple[dict[str, Any], ...]:
        """Every occurrence and exception of a series (pages of 1,000, not one per occurrence)."""
        horizon = max(self.settings.calendar_future_days, SERIES_HORIZON_DAYS)
        start, end = series_span(master, self.clock.now(), horizon)
        build = rq.event_instances(mailbox, str(master["id"]), start, end)
        try:
            return tuple(await self._session.read_all(mailbox, build, "listing a series"))
        except NotFound:
            return ()

    # -- preview / erase --------------------------------------------------------------------------

    def preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        return self._session.run(self._preview(ref, target))

    async def _preview(self, ref: RecordRef, target: ErasureTarget) -> PlannedAction:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            found = await self._read_contact(mailbox, folder, ref.external_id)
            if found.item is None or not contact_holds(found.item, target):
                return PlannedAction(ref=ref, action=Action.NONE, explanation="already absent")
            if folder == rq.DELETED_ITEMS:
                return PlannedAction(
                    ref=ref,
                    action=Action.DELETE,
                    explanation="permanently delete the contact from Deleted Items",
                )
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
        plan = await self._event_plan(mailbox, folder, ref.external_id, target)
        return PlannedAction(
            ref=ref, action=plan.action, explanation=plan.explanation, notifies=plan.notifies
        )

    async def _event_plan(
        self, mailbox: str, folder: str, event_id: str, target: ErasureTarget
    ) -> EventPlan:
        """The dry run: for a series, its master's plan and its exceptions' on top."""
        if folder == rq.DELETED_ITEMS:
            return plan_deleted(await self._read_event(mailbox, event_id), target)
        state = await self._read_event_state(mailbox, event_id)
        policy = self.settings.calendar_policy
        plan = plan_event(state.event, target, policy, mailbox, event_id)
        if state.event is None or not is_master(state.event):
            return plan
        exceptions = [
            plan_event(e, target, policy, mailbox, str(e["id"])) for e in state.exceptions(target)
        ]
        return series_explanation(plan, exceptions, len(state.instances))

    def erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        return self._session.run(self._erase(ref, target))

    async def _erase(self, ref: RecordRef, target: ErasureTarget) -> Outcome:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            return await self._erase_contact(ref, mailbox, folder, target)
        return await self._erase_event(ref, mailbox, folder, target)

    async def _erase_contact(
        self, ref: RecordRef, mailbox: str, folder: str, target: ErasureTarget
    ) -> Outcome:
        found = await self._read_contact(mailbox, folder, ref.external_id)
        if found.item is None or not contact_holds(found.item, target):
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        # in Deleted Items the owner has deleted the contact already: it goes for good
        others = [] if folder == rq.DELETED_ITEMS else _other_addresses(found.item, target)
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

    async def _erase_event(
        self, ref: RecordRef, mailbox: str, folder: str, target: ErasureTarget
    ) -> Outcome:
        """The item's own plan; for a series then every exception still naming the person,
        read again after the master's edit (an exception follows the master where it does not
        override it)."""
        policy = self.settings.calendar_policy
        event = await self._read_event(mailbox, ref.external_id)
        if folder == rq.DELETED_ITEMS:
            plans = [plan_deleted(event, target)]
        else:
            plans = [plan_event(event, target, policy, mailbox, ref.external_id)]
        done = [await self._apply(mailbox, ref.external_id, plans[0])]
        if event is not None and is_master(event) and not plans[0].removes_item:
            for exception in _EventState(
                event=event, instances=await self._read_instances(mailbox, event)
            ).exceptions(target):
                plan = plan_event(exception, target, policy, mailbox, str(exception["id"]))
                plans.append(plan)
                done.append(await self._apply(mailbox, str(exception["id"]), plan))
        acted = [p for p, ok in zip(plans, done, strict=True) if ok and p.action is not Action.NONE]
        if not acted:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref)
        summary = acted[0].explanation
        if len(acted) > 1:
            summary += f"; {len(acted) - 1} changed occurrence(s) redacted too"
        manual = [p for p in acted if p.manual]
        log.info(
            "msgraph.erased",
            item="series" if is_master(event or {}) else "event",
            mailbox=self._labels[mailbox],
            action=str(acted[0].action),
            steps=sum(len(p.steps) for p in acted),
            manual=bool(manual),
        )
        if manual:
            return Outcome(
                status=OutcomeStatus.AWAITING_MANUAL,
                ref=ref,
                detail="; ".join(dict.fromkeys(p.explanation for p in manual)),
            )
        return Outcome(status=OutcomeStatus.ERASED, ref=ref, detail=summary)

    async def _apply(self, mailbox: str, event_id: str, plan: EventPlan) -> bool:
        """Run a plan's steps; False when the item had gone already."""
        if plan.action is Action.NONE:
            return True
        try:
            for step, fields in plan.steps:
                await self._event_step(mailbox, event_id, step, fields)
        except NotFound:
            if plan.removes_item:
                return False
            raise PermanentError("the event disappeared while it was being redacted") from None
        return True

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
        left: dict[tuple[str, str], RecordRef] = {}  # (mailbox, item id): one ref per item
        for ref, holds in zip(refs, held, strict=True):
            if holds:
                left.setdefault((self._where(ref)[0], ref.external_id), ref)
        for ref in await self._locate(target):
            left.setdefault((self._where(ref)[0], ref.external_id), ref)
        if left:
            log.info("msgraph.verify_left", records=len(left))
        return list(left.values())

    async def _still_holds(self, ref: RecordRef, target: ErasureTarget) -> bool:
        mailbox, folder = self._where(ref)
        if ref.kind is RecordKind.CONTACT:
            found = await self._read_contact(mailbox, folder, ref.external_id)
            return found.item is not None and contact_holds(found.item, target)
        state = await self._read_event_state(mailbox, ref.external_id)
        if state.event is None:
            return False
        return view_event(state.event, target).holds_target or bool(state.exceptions(target))

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
        entry = {
            "record": "calendar entry",
            "date": view.start.isoformat() if view.start else None,
            "end": (event.get("end") or {}).get("dateTime"),
            "subject": event.get("subject"),
            "role": view.role,
        }
        if is_master(event):
            pattern = ((event.get("recurrence") or {}).get("pattern") or {}).get("type")
            entry.update(record="recurring calendar entry", recurrence=pattern)
        return entry

    # -- rectification (capability RECTIFY: contacts only; calendar entries are history) -----

    def preview_rectification(
        self, ref: RecordRef, target: ErasureTarget, correction: Correction
    ) -> PlannedAction:
        return self._session.run(self._preview_rectification(ref, target, correction))

    async def _preview_rectification(
        self, ref: RecordRef, target: ErasureTarget, fix: Correction
    ) -> PlannedAction:
        mailbox, folder = self._where(ref)
        if ref.kind is not RecordKind.CONTACT:
            return PlannedAction(ref=ref, action=Action.NONE, explanation=HISTORY)
        if folder == rq.DELETED_ITEMS:
            return PlannedAction(ref=ref, action=Action.NONE, explanation=DELETED)
        found = await self._read_contact(mailbox, folder, ref.external_id)
        if found.item is None or not holds_either(found.item, target, fix):
            return PlannedAction(ref=ref, action=Action.NONE, explanation="no longer there")
        patch = wanted_patch(found.item, target, fix)
        if not patch:
            return PlannedAction(ref=ref, action=Action.NONE, explanation="already correct")
        what = dict.fromkeys(w for k, w in _FIELD_WORDS.items() if k in patch)
        return PlannedAction(
            ref=ref,
            action=Action.UPDATE,
            explanation="correct the contact's " + " and ".join(what) + "; nobody is notified",
        )

    def rectify(self, ref: RecordRef, target: ErasureTarget, correction: Correction) -> Outcome:
        return self._session.run(self._rectify(ref, target, correction))

    async def _rectify(self, ref: RecordRef, target: ErasureTarget, fix: Correction) -> Outcome:
        mailbox, folder = self._where(ref)
        if ref.kind is not RecordKind.CONTACT or folder == rq.DELETED_ITEMS:
            detail = HISTORY if ref.kind is not RecordKind.CONTACT else DELETED
            return Outcome(status=OutcomeStatus.ALREADY_CORRECT, ref=ref, detail=detail)
        found = await self._read_contact(mailbox, folder, ref.external_id)
        if found.item is None or not holds_either(found.item, target, fix):
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="contact gone")
        patch = wanted_patch(found.item, target, fix)
        if not patch:
            return Outcome(status=OutcomeStatus.ALREADY_CORRECT, ref=ref)
        build = rq.contact_patch_fields(mailbox, found.folder, ref.external_id, patch)
        try:
            await self._session.write(mailbox, build, "correcting a contact")
        except NotFound:
            return Outcome(status=OutcomeStatus.ALREADY_ABSENT, ref=ref, detail="contact gone")
        log.info("msgraph.rectified", mailbox=self._labels[mailbox], fields=sorted(patch))
        what = dict.fromkeys(w for k, w in _FIELD_WORDS.items() if k in patch)
        return Outcome(status=OutcomeStatus.RECTIFIED, ref=ref, detail=" and ".join(what))

    def verify_rectification(
        self, target: ErasureTarget, correction: Correction, refs: Sequence[RecordRef]
    ) -> list[RecordRef]:
        return self._session.run(self._verify_rectification(target, correction, refs))

    async def _verify_rectification(
        self, target: ErasureTarget, fix: Correction, refs: Sequence[RecordRef]
    ) -> list[RecordRef]:
        """Contacts given that are still not corrected, and any contact that a fresh look-up
        finds still holding the old address (or, for a name, the person's address)."""
        contacts = [r for r in refs if r.kind is RecordKind.CONTACT]
        located = [
            r
            for r in await self._locate(target)
            if r.kind is RecordKind.CONTACT and r.locator.get("folder") != rq.DELETED_ITEMS
        ]
        left: dict[tuple[str, str], RecordRef] = {}
        for ref in [*contacts, *located]:
            mailbox, folder = self._where(ref)
            if folder == rq.DELETED_ITEMS or (mailbox, ref.external_id) in left:
                continue
            found = await self._read_contact(mailbox, folder, ref.external_id)
            if found.item is not None and wanted_patch(found.item, target, fix):
                left[(mailbox, ref.external_id)] = ref
        if left:
            log.info("msgraph.rectify_left", records=len(left))
        return list(left.values())

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

    # -- the intake mailbox (capability MAILBOX: Mail.Read, Mail.Send; see `_mailbox`) -------

    def new_messages(self, mailbox: str, folder: str, cursor: str | None) -> MailBatch:
        self._check_mailbox(mailbox)

        async def read() -> MailBatch:
            folder_id = await self._mail_folder(mailbox, folder)
            return await mx.new_messages(self._session, mailbox, folder_id, cursor)

        batch = self._session.run(read())
        log.info("msgraph.intake_read", mailbox=self._labels[mailbox], items=len(batch.messages))
        return batch

    def send_letter(self, mailbox: str, letter: Letter) -> None:
        self._check_mailbox(mailbox)
        self._session.run(mx.send_letter(self._session, mailbox, letter))

    def was_sent(self, mailbox: str, markers: Sequence[str], since: datetime) -> set[str]:
        self._check_mailbox(mailbox)
        return self._session.run(mx.was_sent(self._session, mailbox, markers, since))

    def close(self) -> None:
        self._session.close()


# Graph's well-known mail folder names, usable where a display name is expected.
WELL_KNOWN_FOLDERS = frozenset(
    {"inbox", "sentitems", "drafts", "deleteditems", "archive", "junkemail", "outbox"}
)

HISTORY = "calendar entry: history, not rewritten (the invitation keeps what it said)"
DELETED = "in Deleted Items: not rewritten (erase it, or leave it to expire)"
_FIELD_WORDS = {"displayName": "name", "givenName": "name", "surname": "name"}
_FIELD_WORDS["emailAddresses"] = "address"

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


def _other_addresses(contact: Mapping[str, Any], target: ErasureTarget) -> list[dict[str, Any]]:
    return [
        {"name": e.get("name"), "address": e.get("address")}
        for e in contact.get("emailAddresses") or ()
        if e and e.get("address") and not same_address(e.get("address"), target)
    ]
