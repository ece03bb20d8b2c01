"""What erasing a person from a calendar item does, and who Graph tells (no I/O here).

Calendar erasure and notifications (what Graph sends):
- removing an attendee from a meeting the mailbox organised notifies that attendee only;
- editing subject/body/location of such a meeting notifies every attendee left on it, so the
  default `redact` edits the text only when no other attendee remains; otherwise it removes the
  person from the attendees and answers AWAITING_MANUAL (the operator redacts in Outlook with
  "don't send update", or chooses calendar_policy = "delete");
- the mailbox's copy of someone else's meeting is edited or deleted locally (nobody is told;
  `cancel` is never used). When the person *organised* it, the organiser cannot be edited: the
  copy is replaced by a "[redacted]" placeholder in the same time slot (created with a
  transactionId, so a repeat creates no second one; a series gets a placeholder series with the
  same recurrence) and then permanently deleted;
- `delete` permanently deletes; for a meeting the mailbox organised, Graph sends a cancellation
  to every attendee - `preview` says so.

Series: the rules apply to the master (a change there reaches every occurrence) and then to each
exception that still names the person, since an exception keeps the properties it overrides.
Deleting the master deletes the series. An item found in Deleted Items is permanently deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncaudit.contract import Action, ErasureTarget

from ._parse import REDACTED, is_master, redacted_fields, remaining_attendees, view_event

PERSON = "the person erased"


@dataclass(frozen=True, kw_only=True)
class EventPlan:
    action: Action
    explanation: str
    steps: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # ("patch"|"purge"|"create", fields)
    notifies: tuple[str, ...] = ()
    manual: bool = False

    @property
    def removes_item(self) -> bool:
        """The item itself is permanently deleted (a series: with all its instances)."""
        return bool(self.steps) and self.steps[-1][0] == "purge"


def plan_deleted(event: Mapping[str, Any] | None, target: ErasureTarget) -> EventPlan:
    """An event in Deleted Items: out of the calendar already, so permanently deleted."""
    if event is None or not view_event(event, target).holds_target:
        return EventPlan(action=Action.NONE, explanation="already absent")
    return EventPlan(
        action=Action.DELETE,
        explanation="permanently delete it from Deleted Items; nobody is notified",
        steps=(("purge", {}),),
    )


def series_explanation(
    master: EventPlan, exceptions: Sequence[EventPlan], occurrences: int
) -> EventPlan:
    """One plan for a series: its master's, and what its exceptions need on top."""
    named = [p for p in exceptions if p.action is not Action.NONE]
    if master.action is Action.NONE and not named:
        return master
    text = master.explanation if master.action is not Action.NONE else "the series is clean"
    if named and not master.removes_item:
        text += f"; {len(named)} changed occurrence(s) still name the person and are redacted too"
    manual = master.manual or (not master.removes_item and any(p.manual for p in named))
    notifies = tuple(dict.fromkeys(n for p in (master, *named) for n in p.notifies))
    action = master.action if master.action is not Action.NONE else Action.REDACT
    return EventPlan(
        action=Action.MANUAL if manual else action,
        explanation=f"series ({occurrences} occurrences): {text}",
        steps=master.steps,
        notifies=notifies,
        manual=manual,
    )


def plan_event(
    event: Mapping[str, Any] | None,
    target: ErasureTarget,
    policy: str,
    mailbox: str,
    event_id: str,
) -> EventPlan:
    """What erasing the person from this event does, and who Graph will notify."""
    if event is None:
        return EventPlan(action=Action.NONE, explanation="already absent")
    view = view_event(event, target)
    if not view.holds_target:
        return EventPlan(action=Action.NONE, explanation="the person is no longer in the event")
    others = len(view.other_attendees)
    if policy == "delete":
        notifies: tuple[str, ...] = ()
        told = ""
        if view.is_organizer and (others or view.attendee_is_target):
            notifies = ((PERSON,) if view.attendee_is_target else ()) + (
                (f"{others} other attendee(s)",) if others else ()
            )
            told = "; Graph sends a cancellation to " + " and ".join(notifies)
        return EventPlan(
            action=Action.DELETE,
            explanation=f"permanently delete the {_item(event)}" + told,
            steps=(("purge", {}),),
            notifies=notifies,
        )
    if view.organizer_is_target and not view.is_organizer and event.get("type") == "exception":
        return EventPlan(
            action=Action.REDACT,
            explanation=(
                "a changed occurrence of a series the person organised: removed from the "
                "mailbox's copy (the series gets a placeholder series); nobody is notified"
            ),
            steps=(("purge", {}),),
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
        slot = "the same slot"
        if is_master(event):
            placeholder["recurrence"] = event.get("recurrence") or {}
            slot = "a placeholder series in the same slots"
        return EventPlan(
            action=Action.REDACT,
            explanation=(
                "the person organised this meeting and an organiser cannot be edited: the "
                f"mailbox's copy is replaced by a placeholder in {slot}; nobody is notified"
            ),
            steps=(("create", placeholder), ("purge", {})),
        )
    if view.organizer_is_target:
        return EventPlan(
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
        return EventPlan(
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
    slots = "slots" if is_master(event) else "slot"
    return EventPlan(
        action=Action.REDACT,
        explanation=f"remove the person from the {_item(event)} and redact its text, keeping the "
        f"{slots}" + told,
        steps=tuple(steps),
        notifies=notifies,
    )


def _item(event: Mapping[str, Any]) -> str:
    return "series" if is_master(event) else "event"
