"""Graph JSON -> contract values, and the pure rules of erasure (who is in an item, redaction).

Pages are parsed from raw bytes with `json`, never into SDK models (those cost ~3 ms an item).
Nothing here does I/O.

Delta items may be partial: "updated instances are represented by their id with *at least* the
properties that have been updated". An absent property means unchanged, so an upsert built from
such an item says which record kinds it is complete for (`ItemUpsert.covers`) and the index keeps
the rest. Recurring series: the series master is the record (its id, its people); an occurrence
is the master in another slot and maps onto it; an exception (an occurrence with properties of
its own) is a record of its own, as Graph gives it its own id and its own `@removed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncaudit.contract import (
    Change,
    ErasureTarget,
    ItemRemoved,
    ItemUpsert,
    MailMessage,
    Observation,
    RecordKind,
)
from syncaudit.identity import try_normalize_email

REDACTED = "[redacted]"
_FRACTION = re.compile(r"\.(\d+)")

Json = Mapping[str, Any]


def contact_stream(mailbox: str, folder: str) -> str:
    return f"contacts:{mailbox}:{folder}"


def calendar_stream(mailbox: str) -> str:
    return f"calendar:{mailbox}"


def contact_locator(mailbox: str, folder: str) -> dict[str, str]:
    return {"mailbox": mailbox, "folder": folder, "item": "contact"}


def event_locator(mailbox: str) -> dict[str, str]:
    return {"mailbox": mailbox, "folder": "calendar", "item": "event"}


# ---------------------------------------------------------------------------------------------
# Pull


def contact_changes(stream: str, mailbox: str, folder: str, values: Sequence[Json]) -> list[Change]:
    """One ItemUpsert per contact (one CONTACT observation per distinct address), or removal.
    Complete when the item carries both its addresses and its name."""
    out: list[Change] = []
    locator = contact_locator(mailbox, folder)
    details = {"mailbox": mailbox}
    for item in values:
        item_id = str(item["id"])
        if "@removed" in item:
            out.append(ItemRemoved(stream=stream, external_id=item_id))
            continue
        name = item.get("displayName") or None
        observations = tuple(
            Observation(kind=RecordKind.CONTACT, email=address, name=name, details=details)
            for address in distinct_addresses(item.get("emailAddresses"))
        )
        has_addresses = "emailAddresses" in item
        covers = None
        if not (has_addresses and "displayName" in item):
            covers = frozenset({RecordKind.CONTACT} if has_addresses else ())
        out.append(
            ItemUpsert(
                stream=stream,
                external_id=item_id,
                observations=observations,
                locator=locator,
                covers=covers,
            )
        )
    return out


def event_changes(stream: str, mailbox: str, values: Sequence[Json]) -> list[Change]:
    """One ItemUpsert per event or series: organiser and attendees; subject + location as free
    text. Occurrences map onto their master: a stub (id, type, seriesMasterId, start, end: what
    calendarView delta is reported to send) adds nothing; a whole occurrence speaks for its
    master once a page, without its slot's date."""
    out: list[Change] = []
    locator = event_locator(mailbox)
    details = {"mailbox": mailbox}
    masters = {str(i["id"]) for i in values if i.get("type") == "seriesMaster"}
    for item in values:
        item_id = str(item["id"])
        if "@removed" in item:
            out.append(ItemRemoved(stream=stream, external_id=item_id))
            continue
        if item.get("type") != "occurrence":
            out.append(_event_upsert(stream, item_id, item, locator, details))
            continue
        master = str(item.get("seriesMasterId") or "")
        if master and master not in masters and _names_people(item):
            masters.add(master)
            slotless = {k: v for k, v in item.items() if k not in ("start", "end")}
            out.append(_event_upsert(stream, master, slotless, locator, details))
    return out


def series_seen(values: Sequence[Json]) -> tuple[set[str], set[str]]:
    """(masters this page speaks for, masters only occurrence stubs point at)."""
    present: set[str] = set()
    pointed: set[str] = set()
    for item in values:
        if item.get("type") == "seriesMaster":
            present.add(str(item["id"]))
        elif item.get("type") == "occurrence" and item.get("seriesMasterId"):
            master = str(item["seriesMasterId"])
            (present if _names_people(item) else pointed).add(master)
    return present, pointed - present


def _names_people(item: Json) -> bool:
    return any(key in item for key in ("organizer", "attendees", "subject", "location"))


def _event_upsert(
    stream: str, item_id: str, item: Json, locator: Mapping[str, str], details: Mapping[str, str]
) -> ItemUpsert:
    when = graph_datetime(item.get("start"))
    observations: list[Observation] = []
    organizer = (item.get("organizer") or {}).get("emailAddress") or {}
    if organizer.get("address"):
        observations.append(
            Observation(
                kind=RecordKind.EVENT_ORGANIZER,
                email=organizer["address"],
                name=organizer.get("name") or None,
                role="organizer",
                when=when,
                details=details,
            )
        )
    for attendee in item.get("attendees") or ():
        person = attendee.get("emailAddress") or {}
        if person.get("address"):
            observations.append(
                Observation(
                    kind=RecordKind.EVENT_ATTENDEE,
                    email=person["address"],
                    name=person.get("name") or None,
                    role=attendee.get("type") or "required",
                    when=when,
                    details=details,
                )
            )
    covers: set[RecordKind] = set()
    if "organizer" in item:
        covers.add(RecordKind.EVENT_ORGANIZER)
    if "attendees" in item:
        covers.add(RecordKind.EVENT_ATTENDEE)
    if "subject" in item and "location" in item:
        covers.add(RecordKind.EVENT_MENTION)
    whole = len(covers) == 3 and "start" in item
    has_text = "subject" in item or "location" in item
    return ItemUpsert(
        stream=stream,
        external_id=item_id,
        observations=tuple(observations),
        free_text=event_free_text(item) if has_text else None,
        locator=locator,
        covers=None if whole else frozenset(covers),
    )


def event_free_text(item: Json) -> str:
    subject = item.get("subject") or ""
    location = (item.get("location") or {}).get("displayName") or ""
    return f"{subject} {location}".strip()


def distinct_addresses(entries: Any) -> list[str]:
    """The raw addresses of an `emailAddresses` list, first spelling of each, blanks dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for entry in entries or ():
        address = (entry or {}).get("address")
        if not address:
            continue
        key = try_normalize_email(address) or address.strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(address)
    return out


def graph_datetime(value: Any) -> datetime | None:
    """A Graph `dateTimeTimeZone` ({dateTime, timeZone}) as an aware datetime (UTC if unknown)."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], str(value["dateTime"]).replace("Z", ""))
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    zone_name = str(value.get("timeZone") or "UTC")
    try:
        zone = UTC if zone_name.upper() in {"UTC", "Z"} else ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC  # Windows zone names: the connector asks for UTC, so this is a fallback
    return naive.replace(tzinfo=zone).astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Series


def is_master(event: Json) -> bool:
    return event.get("type") == "seriesMaster"


def series_span(master: Json, now: datetime, horizon_days: int) -> tuple[str, str]:
    """The window GET /events/{id}/instances needs to list every occurrence and exception of a
    series: from its first day to its end, or `horizon_days` past today when it has none."""
    span = (master.get("recurrence") or {}).get("range") or {}
    first = _day(span.get("startDate")) or (graph_datetime(master.get("start")) or now).date()
    last = _day(span.get("endDate")) if span.get("type") == "endDate" else None
    horizon = now.date() + timedelta(days=horizon_days)
    if span.get("type") == "numbered":
        pattern = (master.get("recurrence") or {}).get("pattern") or {}
        step = {"daily": 1, "weekly": 7, "absoluteYearly": 366, "relativeYearly": 366}.get(
            str(pattern.get("type")), 31
        )
        count = int(span.get("numberOfOccurrences") or 0)
        last = first + timedelta(days=step * max(int(pattern.get("interval") or 1), 1) * count)
    end = max(last or horizon, first) + timedelta(days=2)
    start = first - timedelta(days=1)
    return f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z"


def _day(text: Any) -> date | None:
    if not text or str(text).startswith("0001-01-01"):
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Who is in an item


def same_address(raw: str | None, target: ErasureTarget) -> bool:
    return target.is_address(raw)


def contact_holds(contact: Json, target: ErasureTarget) -> bool:
    return any(same_address(a, target) for a in distinct_addresses(contact.get("emailAddresses")))


# Address-shaped words in free text; each is compared through `ErasureTarget.is_address`, so the
# person's address is found even when only its pseudonym is known.
_WORD_CHAR = r"[^\s<>()\[\],;:\"'/\\]"
_ADDRESS_WORD = re.compile(rf"{_WORD_CHAR}+@{_WORD_CHAR}*[^\s<>()\[\],;:\"'/\\.]")


def _name_pattern(target: ErasureTarget) -> re.Pattern[str] | None:
    words = [r"\b" + re.escape(n.strip()) + r"\b" for n in target.names if len(n.strip()) >= 3]
    return re.compile("|".join(words), re.IGNORECASE) if words else None


def text_mentions(text: str | None, target: ErasureTarget) -> bool:
    if not text:
        return False
    if any(target.is_address(word) for word in _ADDRESS_WORD.findall(text)):
        return True
    pattern = _name_pattern(target)
    return pattern is not None and pattern.search(text) is not None


def redact_text(text: str, target: ErasureTarget) -> str:
    text = _ADDRESS_WORD.sub(
        lambda m: REDACTED if target.is_address(m.group(0)) else m.group(0), text
    )
    pattern = _name_pattern(target)
    return pattern.sub(REDACTED, text) if pattern is not None else text


@dataclass(frozen=True, kw_only=True)
class EventView:
    """What an event holds of one person, and what redacting it would change."""

    is_organizer: bool  # the mailbox organised the meeting (Graph's isOrganizer)
    organizer_is_target: bool
    attendee_is_target: bool
    text_mentions_target: bool  # subject, body or location
    other_attendees: tuple[str, ...]  # normalised addresses of the attendees that stay
    start: datetime | None
    subject: str

    @property
    def holds_target(self) -> bool:
        return self.organizer_is_target or self.attendee_is_target or self.text_mentions_target

    @property
    def role(self) -> str:
        if self.organizer_is_target:
            return "organizer"
        if self.attendee_is_target:
            return "attendee"
        return "mentioned"


def view_event(event: Json, target: ErasureTarget) -> EventView:
    organizer = ((event.get("organizer") or {}).get("emailAddress") or {}).get("address")
    attendees = [
        (a.get("emailAddress") or {}).get("address") or "" for a in event.get("attendees") or ()
    ]
    others = tuple(
        try_normalize_email(a) or a.lower() for a in attendees if a and not same_address(a, target)
    )
    texts = (
        event.get("subject"),
        (event.get("body") or {}).get("content"),
        (event.get("location") or {}).get("displayName"),
        *((loc or {}).get("displayName") for loc in event.get("locations") or ()),
    )
    return EventView(
        is_organizer=bool(event.get("isOrganizer")),
        organizer_is_target=same_address(organizer, target),
        attendee_is_target=any(same_address(a, target) for a in attendees),
        text_mentions_target=any(text_mentions(t, target) for t in texts),
        other_attendees=others,
        start=graph_datetime(event.get("start")),
        subject=str(event.get("subject") or ""),
    )


def remaining_attendees(event: Json, target: ErasureTarget) -> list[Json]:
    return [
        a
        for a in event.get("attendees") or ()
        if not same_address((a.get("emailAddress") or {}).get("address"), target)
    ]


def redacted_fields(event: Json, target: ErasureTarget) -> dict[str, Any]:
    """subject / body / location(s) with the person's address and names replaced; only changed
    fields are returned."""
    out: dict[str, Any] = {}
    subject = event.get("subject") or ""
    if text_mentions(subject, target):
        out["subject"] = redact_text(subject, target)
    body = event.get("body") or {}
    if text_mentions(body.get("content"), target):
        out["body"] = {
            "contentType": body.get("contentType") or "html",
            "content": redact_text(body.get("content") or "", target),
        }
    location = event.get("location") or {}
    if text_mentions(location.get("displayName"), target):
        out["location"] = redact_text(location.get("displayName") or "", target)
    locations = event.get("locations") or ()
    if any(text_mentions((loc or {}).get("displayName"), target) for loc in locations):
        out["locations"] = [
            redact_text((loc or {}).get("displayName") or "", target) for loc in locations
        ]
    return out


# ---------------------------------------------------------------------------------------------
# Mail (retention of coaching summaries)


def mail_message(mailbox: str, folder: str, item: Json) -> MailMessage:
    """Ids, the date and the addresses of a message; subject and body are not kept."""
    when = None
    for key in ("sentDateTime", "receivedDateTime", "createdDateTime"):
        when = graph_datetime({"dateTime": item.get(key), "timeZone": "UTC"})
        if when is not None:
            break
    sender = ((item.get("from") or {}).get("emailAddress") or {}).get("address") or None
    recipients = tuple(
        address
        for key in ("toRecipients", "ccRecipients")
        for entry in item.get(key) or ()
        if (address := ((entry or {}).get("emailAddress") or {}).get("address"))
    )
    return MailMessage(
        mailbox=mailbox,
        folder=folder,
        id=str(item["id"]),
        when=when,
        sender=sender,
        recipients=recipients,
    )


def subject_starts_with(item: Json, prefixes: Sequence[str]) -> bool:
    subject = str(item.get("subject") or "").strip().casefold()
    return any(subject.startswith(p.strip().casefold()) for p in prefixes if p.strip())
