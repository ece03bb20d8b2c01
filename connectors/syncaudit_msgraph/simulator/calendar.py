"""Calendar events: the out-of-band state tests set up, and the HTTP endpoints."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from ._common import (
    EVENTS_DELTA_MAX_PAGE,
    _addr,
    _bump,
    _DeltaState,
    _etag,
    _graph_dt,
    _HttpError,
    _iso,
    _location,
    _Mailbox,
    _name,
    _new_id,
    _now,
    _parse_dt,
)
from ._core import SimCore
from ._delta import DeltaRoutes

_EVENT_PATCHABLE = {
    "subject",
    "body",
    "location",
    "locations",
    "attendees",
    "start",
    "end",
    "categories",
    "showAs",
    "importance",
    "sensitivity",
    "isReminderOn",
    "reminderMinutesBeforeStart",
}
_EVENT_CONTENT = {"subject", "body", "location", "locations", "start", "end"}


class CalendarState(SimCore):
    """Out-of-band changes to events (what a user or another organiser does)."""

    def add_event(
        self,
        upn: str,
        *,
        subject: str,
        start: datetime,
        minutes: int = 60,
        attendees: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
        organizer: tuple[str, str] | None = None,
        location: str = "",
        body: str = "",
        transaction_id: str | None = None,
    ) -> str:
        """`organizer=None`: the mailbox organises it. Attendees are (name, address[, type])."""
        with self._lock:
            mb = self.mailbox(upn)
            event = _event_json(
                mb, subject, start, minutes, attendees, organizer, location, body, transaction_id
            )
            self._store_event(mb, event)
            return str(event["id"])

    def event(self, upn: str, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.mailbox(upn).events.get(event_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def update_event(self, upn: str, event_id: str, **fields: Any) -> None:
        """Out-of-band edit (no notifications). `start=datetime` moves the slot."""
        with self._lock:
            mb = self.mailbox(upn)
            event = mb.events[event_id]
            if "start" in fields:
                start = fields.pop("start")
                length = mb.event_times[event_id][1] - mb.event_times[event_id][0]
                event["start"] = {"dateTime": _graph_dt(start), "timeZone": "UTC"}
                event["end"] = {"dateTime": _graph_dt(start + length), "timeZone": "UTC"}
            event.update(fields)
            _bump(event)
            self._store_event(mb, event)

    def delete_event(self, upn: str, event_id: str, *, purge: bool = False) -> None:
        with self._lock:
            self._delete_item(self.mailbox(upn), "event", event_id, purge=purge)

    def event_ids(self, upn: str) -> list[str]:
        with self._lock:
            return list(self.mailbox(upn).events)

    def _store_event(self, mb: _Mailbox, event: dict[str, Any]) -> None:
        mb.events[event["id"]] = event
        start = _parse_dt(event["start"]["dateTime"])
        end = _parse_dt(event["end"]["dateTime"])
        mb.event_times[event["id"]] = (start, end)
        if event.get("transactionId"):
            mb.transactions[event["transactionId"]] = event["id"]
        self._touch(mb, "calendar", event["id"])


class CalendarRoutes(DeltaRoutes):
    """/users/{u}/calendarView[/delta], /users/{u}/events..."""

    @property
    def calendar_state(self) -> CalendarState:
        return cast(CalendarState, self.server.sim)

    def _window(self, query: dict[str, str]) -> tuple[datetime, datetime]:
        if "startdatetime" not in query or "enddatetime" not in query:
            raise _HttpError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        return _parse_dt(query["startdatetime"]), _parse_dt(query["enddatetime"])

    def _event_in(self, mb: _Mailbox, state: _DeltaState, item_id: str) -> dict[str, Any] | None:
        event = mb.events.get(item_id)
        if event is None or state.window is None:
            return None
        start, end = mb.event_times[item_id]
        return event if start < state.window[1] and end > state.window[0] else None

    def _events_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if "$select" in query or "$filter" in query or "$orderby" in query:
            raise _HttpError(400, "ErrorInvalidUrlQuery", "The query is not supported on delta.")
        window = None
        if "$skiptoken" not in query and "$deltatoken" not in query:
            window = self._window(query)
        with self.calendar_state._lock:
            return self._delta(
                mb,
                "calendar",
                window,
                query,
                f"/users/{mb.upn}/calendarView/delta",
                EVENTS_DELTA_MAX_PAGE,
                self._event_in,
            )

    def _events_calendarView(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        start, end = self._window(query)
        with self.calendar_state._lock:
            items = [
                mb.events[eid]
                for eid, (s, e) in sorted(mb.event_times.items(), key=lambda kv: kv[1][0])
                if s < end and e > start
            ]
        return self._list(
            mb, items, query, f"users('{mb.upn}')/calendarView", f"/users/{mb.upn}/calendarView"
        )

    def _find_event(self, mb: _Mailbox, event_id: str) -> dict[str, Any]:
        event = mb.events.get(event_id)
        if event is None and event_id in mb.deleted and mb.deleted[event_id][0] == "event":
            event = mb.deleted[event_id][1]
        if event is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return event

    def _events_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.calendar_state._lock:
            return 200, dict(self._find_event(mb, args[0])), {}

    def _events_create(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        data = json.loads(body or b"{}")
        with self.calendar_state._lock:
            tx = data.get("transactionId")
            if tx and tx in mb.transactions and mb.transactions[tx] in mb.events:
                return 201, dict(mb.events[mb.transactions[tx]]), {}
            start = _parse_dt(data["start"]["dateTime"])
            end = _parse_dt(data["end"]["dateTime"])
            attendees = [
                (_name(a), _addr(a), a.get("type", "required")) for a in data.get("attendees", [])
            ]
            event = _event_json(
                mb,
                data.get("subject", ""),
                start,
                max(int((end - start).total_seconds() // 60), 0),
                attendees,
                None,
                (data.get("location") or {}).get("displayName", ""),
                (data.get("body") or {}).get("content", ""),
                tx,
            )
            for key in ("showAs", "categories", "sensitivity", "isReminderOn"):
                if key in data:
                    event[key] = data[key]
            self.calendar_state._store_event(mb, event)
            self.calendar_state._effect(mb, "event.create", event["id"])
            self.calendar_state._notify(
                mb, event, "request", [_addr(a) for a in event["attendees"]]
            )
            return 201, dict(event), {}

    def _events_patch(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        patch = json.loads(body or b"{}")
        with self.calendar_state._lock:
            event = self._find_event(mb, args[0])
            before = {_addr(a) for a in event["attendees"]}
            content_changed = False
            for key, raw in patch.items():
                if key not in _EVENT_PATCHABLE:
                    continue
                value = raw
                if key == "attendees":
                    value = [
                        {
                            "type": a.get("type") or "required",
                            "status": a.get("status")
                            or {"response": "none", "time": "0001-01-01T00:00:00Z"},
                            "emailAddress": {"name": _name(a), "address": _addr(a)},
                        }
                        for a in raw or []
                    ]
                elif key == "location":
                    value = {**_location(""), **{k: v for k, v in raw.items() if v is not None}}
                elif key == "body":
                    value = {
                        "contentType": str(raw.get("contentType", "html")).lower(),
                        "content": raw.get("content", ""),
                    }
                if key in _EVENT_CONTENT and event.get(key) != value:
                    content_changed = True
                event[key] = value
            after = {_addr(a) for a in event["attendees"]}
            _bump(event)
            if args[0] in mb.events:
                self.calendar_state._store_event(mb, event)
            fields = ",".join(sorted(k for k in patch if k in _EVENT_PATCHABLE))
            self.calendar_state._effect(mb, "event.patch:" + fields, event["id"])
            if event.get("isOrganizer") and not event.get("isCancelled"):
                self.calendar_state._notify(mb, event, "cancellation", before - after)
                self.calendar_state._notify(mb, event, "request", after - before)
                if content_changed:
                    self.calendar_state._notify(mb, event, "update", after & before)
            return 200, dict(event), {}

    def _events_delete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        return self._remove_event(mb, args[0], purge=False)

    def _events_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        return self._remove_event(mb, args[0], purge=True)

    def _remove_event(
        self, mb: _Mailbox, event_id: str, *, purge: bool
    ) -> tuple[int, Any, dict[str, str]]:
        with self.calendar_state._lock:
            event = self._find_event(mb, event_id)
            live = event_id in mb.events
            if live and event.get("isOrganizer") and not event.get("isCancelled"):
                self.calendar_state._notify(
                    mb, event, "cancellation", [_addr(a) for a in event["attendees"]]
                )
            self.calendar_state._delete_item(mb, "event", event_id, purge=purge or not live)
            self.calendar_state._effect(mb, "event.purge" if purge else "event.delete", event_id)
        return 204, None, {}

    def _events_cancel(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.calendar_state._lock:
            event = self._find_event(mb, args[0])
            if not event.get("isOrganizer"):
                raise _HttpError(
                    400, "ErrorAccessDenied", "You need to be an organizer to cancel a meeting."
                )
            self.calendar_state._notify(
                mb, event, "cancellation", [_addr(a) for a in event["attendees"]]
            )
            self.calendar_state._delete_item(mb, "event", event["id"], purge=False)
            self.calendar_state._effect(mb, "event.cancel", event["id"])
        return 202, None, {}


def _event_json(  # noqa: PLR0917
    mb: _Mailbox,
    subject: str,
    start: datetime,
    minutes: int,
    attendees: Iterable[tuple[str, ...]],
    organizer: tuple[str, str] | None,
    location: str,
    body: str,
    transaction_id: str | None,
) -> dict[str, Any]:
    stamp = _iso(_now())
    org_name, org_addr = organizer or (mb.display_name, mb.upn)
    return {
        "@odata.etag": _etag(),
        "id": _new_id(),
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": secrets.token_hex(8),
        "categories": [],
        "transactionId": transaction_id,
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": "040000008200E00074C5B7101A82E008" + secrets.token_hex(16),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": subject,
        "bodyPreview": re.sub(r"<[^>]+>", "", body)[:255],
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": organizer is None,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": "https://outlook.office365.com/owa/?itemid=x",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": "organizer" if organizer is None else "accepted",
            "time": "0001-01-01T00:00:00Z",
        },
        "body": {"contentType": "html", "content": body},
        "start": {"dateTime": _graph_dt(start), "timeZone": "UTC"},
        "end": {"dateTime": _graph_dt(start + timedelta(minutes=minutes)), "timeZone": "UTC"},
        "location": _location(location),
        "locations": [_location(location)] if location else [],
        "recurrence": None,
        "attendees": [
            {
                "type": a[2] if len(a) > 2 else "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a[0], "address": a[1]},
            }
            for a in attendees
        ],
        "organizer": {"emailAddress": {"name": org_name, "address": org_addr}},
        "onlineMeeting": None,
    }


ROUTES = [
    ("GET", r"^/users/([^/]+)/calendarView/delta(?:\(\))?$", "events.delta"),
    ("GET", r"^/users/([^/]+)/calendarView$", "events.calendarView"),
    ("POST", r"^/users/([^/]+)/events$", "events.create"),
    ("POST", r"^/users/([^/]+)/events/([^/]+)/permanentDelete$", "events.permanentDelete"),
    ("POST", r"^/users/([^/]+)/events/([^/]+)/cancel$", "events.cancel"),
    ("GET", r"^/users/([^/]+)/events/([^/]+)$", "events.get"),
    ("PATCH", r"^/users/([^/]+)/events/([^/]+)$", "events.patch"),
    ("DELETE", r"^/users/([^/]+)/events/([^/]+)$", "events.delete"),
]
