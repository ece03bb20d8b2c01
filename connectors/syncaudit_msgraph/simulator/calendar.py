"""Calendar events and recurring series: the out-of-band state tests set up, and the endpoints.

A series is its master (`type` seriesMaster, holding `recurrence`) plus what the pattern does not
say (`_Series`): exceptions (occurrences with properties of their own) and cancelled occurrences.
Instances are computed: an occurrence is the master's properties in its own slot; an exception
is that with its overrides on top, so a change to the master reaches every occurrence and the
exceptions' other properties, never what an exception overrides. An instance's id is derived
from the master's id and its original start: the same in every answer, and kept when the
occurrence becomes an exception.

What the endpoints return for a series:
- GET /events/{id}: a single event, a master, or an instance (occurrence or exception);
- calendarView: single events and instances, never masters;
- calendarView/delta: single events and instances (occurrences as stubs: id, type,
  seriesMasterId, start, end), and the masters when `series_master_in_delta`;
- GET /events/{master}/instances: the master's occurrences and exceptions in a window;
- PATCH of a master applies to the series; PATCH of an occurrence makes it an exception;
  DELETE of an instance cancels that occurrence; DELETE of a master removes the series.
Deleted Items: DELETE moves an event or series there; GET /calendars/deleteditems/events lists
them (assumed route, see the package docstring).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, cast

from . import recurrence
from ._common import (
    DELETED_ITEMS,
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
    _Series,
)
from ._core import SimCore
from ._delta import SKIP, DeltaRoutes

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
_MOVES = {"start", "end"}
Result = tuple[int, Any, dict[str, str]]
Json = dict[str, Any]


class CalendarState(SimCore):
    """Out-of-band changes to events and series (what a user or another organiser does)."""

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

    def add_series(
        self,
        upn: str,
        *,
        subject: str,
        start: datetime,
        minutes: int = 60,
        pattern: Mapping[str, Any] | None = None,
        until: date | None = None,
        count: int | None = None,
        attendees: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
        organizer: tuple[str, str] | None = None,
        location: str = "",
        body: str = "",
    ) -> str:
        """A recurring series from `start`: weekly on its weekday unless `pattern` (Graph's
        recurrencePattern) says otherwise; ending on `until` (inclusive), after `count`
        occurrences, or never. Returns the master's id."""
        with self._lock:
            mb = self.mailbox(upn)
            event = _event_json(mb, subject, start, minutes, attendees, organizer, location, body)
            event["type"] = "seriesMaster"
            event["recurrence"] = _recurrence(start, pattern, until, count)
            self._store_event(mb, event)
            return str(event["id"])

    def event(self, upn: str, event_id: str) -> Json | None:
        """A single event, a master or an instance, as GET /events/{id} shows it (live only)."""
        with self._lock:
            mb = self.mailbox(upn)
            found = mb.events.get(event_id)
            if found is None and event_id in mb.instances:
                found = self._instance(mb, *mb.instances[event_id])
            return copy.deepcopy(found) if found is not None else None

    def instances(self, upn: str, master_id: str, start: datetime, end: datetime) -> list[Json]:
        """The series' occurrences and exceptions overlapping [start, end)."""
        with self._lock:
            mb = self.mailbox(upn)
            found = (
                self._instance(mb, master_id, o) for o in self._originals(mb, master_id, start, end)
            )
            return [copy.deepcopy(i) for i in found if i is not None]

    def calendar_view(self, upn: str, start: datetime, end: datetime) -> list[Json]:
        """What GET calendarView answers for [start, end): single events and instances."""
        with self._lock:
            return copy.deepcopy(self._view(self.mailbox(upn), start, end))

    def occurrence_id(self, upn: str, master_id: str, original: datetime) -> str:
        with self._lock:
            return self._instance_id(self.mailbox(upn), master_id, original)

    def modify_occurrence(self, upn: str, master_id: str, original: datetime, **fields: Any) -> str:
        """Out-of-band edit of one occurrence, which becomes an exception (no notifications):
        `subject`, `body`, `location` (text), `attendees` [(name, address)], `start` (moves it).
        Returns the instance's id."""
        with self._lock:
            mb = self.mailbox(upn)
            series = mb.series[master_id]
            if original not in self._originals(mb, master_id, original, original + series.duration):
                raise KeyError(f"no occurrence of the series starts at {original.isoformat()}")
            values: Json = {}
            for key, value in fields.items():
                if key == "start":
                    values["start"] = _dtz(value)
                    values["end"] = _dtz(value + series.duration)
                elif key == "attendees":
                    values["attendees"] = [_attendee(a[0], a[1]) for a in value]
                elif key == "location":
                    values["location"] = _location(value)
                elif key == "body":
                    values["body"] = {"contentType": "html", "content": value}
                else:
                    values[key] = value
            return self._override(mb, master_id, original, values)

    def cancel_occurrence(self, upn: str, master_id: str, original: datetime) -> None:
        with self._lock:
            mb = self.mailbox(upn)
            self._cancel(mb, self._instance_id(mb, master_id, original), purge=False)

    def update_event(self, upn: str, event_id: str, **fields: Any) -> None:
        """Out-of-band edit of a single event or a master (no notifications). `start=datetime`
        moves a single event's slot."""
        with self._lock:
            mb = self.mailbox(upn)
            event = mb.events[event_id]
            changed = set(fields)
            if "start" in fields:
                if event.get("type") == "seriesMaster":
                    raise ValueError("moving a series is not simulated; change it in Outlook")
                start = fields.pop("start")
                length = mb.event_times[event_id][1] - mb.event_times[event_id][0]
                event["start"] = _dtz(start)
                event["end"] = _dtz(start + length)
                changed.add("end")
            event.update(fields)
            _bump(event)
            self._store_event(mb, event, changed)
            self._inherit(mb, event_id, changed)

    def delete_event(self, upn: str, event_id: str, *, purge: bool = False) -> None:
        """A single event or a series to Deleted Items (purge: gone); an instance: cancelled."""
        with self._lock:
            mb = self.mailbox(upn)
            if event_id in mb.instances:
                self._cancel(mb, event_id, purge=purge)
            else:
                self._remove(mb, event_id, purge=purge)

    def event_ids(self, upn: str) -> list[str]:
        """Single events and series masters (not their instances)."""
        with self._lock:
            return list(self.mailbox(upn).events)

    def delta_round_size(self, upn: str, start: datetime, end: datetime) -> int:
        """How many items a full calendarView delta round over [start, end) lists."""
        with self._lock:
            return len(self._delta_ids(self.mailbox(upn), (start, end)))

    # -- internals shared by the handlers ---------------------------------------------------------

    def _store_event(self, mb: _Mailbox, event: Json, fields: Iterable[str] | None = None) -> None:
        mb.events[event["id"]] = event
        start = _parse_dt(event["start"]["dateTime"])
        end = _parse_dt(event["end"]["dateTime"])
        if event.get("type") == "seriesMaster":
            mb.series.setdefault(event["id"], _Series(duration=end - start))
        else:
            mb.event_times[event["id"]] = (start, end)
        if event.get("transactionId"):
            mb.transactions[event["transactionId"]] = event["id"]
        self._touch(mb, "calendar", event["id"], fields)

    def _remove(self, mb: _Mailbox, event_id: str, *, purge: bool) -> None:
        """A single event or a whole series: to Deleted Items, or purged. The series' exceptions
        leave the calendar with it."""
        series = mb.series.get(event_id) if event_id in mb.events else None
        self._delete_item(mb, "event", event_id, purge=purge)
        for original in series.exceptions if series is not None else ():
            self._touch(mb, "calendar", self._instance_id(mb, event_id, original))
        if purge:
            mb.series.pop(event_id, None)

    def _cancel(self, mb: _Mailbox, instance_id: str, *, purge: bool) -> None:
        master_id, original = mb.instances[instance_id]
        series = mb.series[master_id]
        series.cancelled.add(original)
        series.exceptions.pop(original, None)
        self._touch(mb, "calendar", instance_id)
        if purge:
            mb.purged.add(instance_id)

    def _override(self, mb: _Mailbox, master_id: str, original: datetime, values: Json) -> str:
        """Store an occurrence's own properties (it becomes, or stays, an exception)."""
        series = mb.series[master_id]
        new = original not in series.exceptions
        overrides = series.exceptions.setdefault(original, {})
        overrides.update(copy.deepcopy(values))
        _bump(overrides)
        instance_id = self._instance_id(mb, master_id, original)
        self._touch(mb, "calendar", instance_id, None if new else values)
        return instance_id

    def _inherit(self, mb: _Mailbox, master_id: str, fields: Iterable[str]) -> list[str]:
        """A master changed: its exceptions take the change where they do not override it.
        Returns the exceptions changed."""
        series = mb.series.get(master_id)
        changed = set(fields) - _MOVES
        touched = []
        for original, overrides in series.exceptions.items() if series else ():
            inherited = changed - set(overrides)
            if inherited:
                _bump(overrides)
                instance_id = self._instance_id(mb, master_id, original)
                self._touch(mb, "calendar", instance_id, inherited)
                touched.append(instance_id)
        return touched

    def _instance_id(self, mb: _Mailbox, master_id: str, original: datetime) -> str:
        digest = hashlib.sha256(f"{master_id}|{original.isoformat()}".encode()).hexdigest()
        instance_id = "AAMkAD" + digest[:40] + "AAA="
        mb.instances[instance_id] = (master_id, original)
        return instance_id

    def _instance_times(self, series: _Series, original: datetime) -> tuple[datetime, datetime]:
        overrides = series.exceptions.get(original) or {}
        if "start" in overrides and "end" in overrides:
            return _parse_dt(overrides["start"]["dateTime"]), _parse_dt(
                overrides["end"]["dateTime"]
            )
        return original, original + series.duration

    def _originals(
        self, mb: _Mailbox, master_id: str, start: datetime, end: datetime
    ) -> list[datetime]:
        """Original starts of the series' live instances overlapping [start, end)."""
        master, series = mb.events.get(master_id), mb.series.get(master_id)
        if master is None or series is None:
            return []
        first = _parse_dt(master["start"]["dateTime"])
        found = {
            o
            for o in recurrence.starts(master["recurrence"] or {}, first, end)
            if o + series.duration > start
        }
        found |= set(series.exceptions)
        out = []
        for original in sorted(found - series.cancelled):
            s, e = self._instance_times(series, original)
            if s < end and e > start:
                out.append(original)
        return out

    def _instance(self, mb: _Mailbox, master_id: str, original: datetime) -> Json | None:
        master, series = mb.events.get(master_id), mb.series.get(master_id)
        if master is None or series is None or original in series.cancelled:
            return None
        item = copy.deepcopy(master)
        item.update(
            {
                "id": self._instance_id(mb, master_id, original),
                "type": "occurrence",
                "seriesMasterId": master_id,
                "originalStart": _iso(original),
                "recurrence": None,
                "iCalUId": str(master["iCalUId"]) + original.strftime("%Y%m%dT%H%M%S"),
                "start": _dtz(original),
                "end": _dtz(original + series.duration),
            }
        )
        overrides = series.exceptions.get(original)
        if overrides is not None:
            item.update(copy.deepcopy(overrides))
            item["type"] = "exception"
        return item

    def _stub(self, mb: _Mailbox, master_id: str, original: datetime) -> Json:
        """An occurrence as calendarView delta lists it (reported: no other properties)."""
        start, end = self._instance_times(mb.series[master_id], original)
        return {
            "@odata.type": "#microsoft.graph.event",
            "@odata.etag": mb.events[master_id]["@odata.etag"],
            "id": self._instance_id(mb, master_id, original),
            "type": "occurrence",
            "seriesMasterId": master_id,
            "start": _dtz(start),
            "end": _dtz(end),
        }

    def _view(self, mb: _Mailbox, start: datetime, end: datetime) -> list[Json]:
        """calendarView: single events and instances overlapping [start, end), by start."""
        entries = [
            (s, mb.events[eid]) for eid, (s, e) in mb.event_times.items() if s < end and e > start
        ]
        for master_id, series in mb.series.items():
            for original in self._originals(mb, master_id, start, end):
                item = self._instance(mb, master_id, original)
                if item is not None:
                    entries.append((self._instance_times(series, original)[0], item))
        return [item for _, item in sorted(entries, key=lambda entry: entry[0])]

    def _delta_ids(self, mb: _Mailbox, window: tuple[datetime, datetime]) -> list[str]:
        """A full calendarView delta round: single events, instances and (maybe) masters."""
        start, end = window
        entries = [(s, eid) for eid, (s, e) in mb.event_times.items() if s < end and e > start]
        for master_id, series in mb.series.items():
            originals = self._originals(mb, master_id, start, end)
            if not originals:
                continue
            if self.series_master_in_delta:
                entries.append((_parse_dt(mb.events[master_id]["start"]["dateTime"]), master_id))
            entries += [
                (self._instance_times(series, o)[0], self._instance_id(mb, master_id, o))
                for o in originals
            ]
        return [eid for _, eid in sorted(entries, key=lambda entry: entry[0])]


class CalendarRoutes(DeltaRoutes):
    """/users/{u}/calendarView[/delta], /users/{u}/events..., /users/{u}/calendars/.../events"""

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

    def _event_in(self, mb: _Mailbox, state: _DeltaState, item_id: str) -> Json | None:
        """An item of a calendarView delta round as it is now (None: gone from the window)."""
        cal, window = self.calendar_state, state.window
        if window is None:
            return None
        if item_id in mb.instances:
            master_id, original = mb.instances[item_id]
            if original not in cal._originals(mb, master_id, *window):
                return None
            if original in mb.series[master_id].exceptions:
                return cal._instance(mb, master_id, original)
            return cal._stub(mb, master_id, original)
        event = mb.events.get(item_id)
        if event is None:
            return None
        if event.get("type") == "seriesMaster":
            if not cal.series_master_in_delta:
                return SKIP
            return event if cal._originals(mb, item_id, *window) else None
        start, end = mb.event_times[item_id]
        return event if start < window[1] and end > window[0] else None

    def _events_delta(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        if "$select" in query or "$filter" in query or "$orderby" in query:
            raise _HttpError(400, "ErrorInvalidUrlQuery", "The query is not supported on delta.")
        window = None
        if "$skiptoken" not in query and "$deltatoken" not in query:
            window = self._window(query)
        cal = self.calendar_state
        with cal._lock:
            return self._delta(
                mb,
                "calendar",
                window,
                query,
                f"/users/{mb.upn}/calendarView/delta",
                EVENTS_DELTA_MAX_PAGE,
                self._event_in,
                lambda: cal._delta_ids(mb, window) if window else [],
            )

    def _events_calendarView(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        start, end = self._window(query)
        with self.calendar_state._lock:
            items = self.calendar_state._view(mb, start, end)
        return self._list(
            mb, items, query, f"users('{mb.upn}')/calendarView", f"/users/{mb.upn}/calendarView"
        )

    def _events_instances(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        start, end = self._window(query)
        cal = self.calendar_state
        with cal._lock:
            event = self._find_event(mb, args[0])
            items: list[Json] = []
            if event.get("type") == "seriesMaster" and args[0] in mb.events:
                found = (
                    cal._instance(mb, args[0], o) for o in cal._originals(mb, args[0], start, end)
                )
                items = [i for i in found if i is not None]
        path = f"/users/{mb.upn}/events/{args[0]}/instances"
        return self._list(
            mb, items, query, f"users('{mb.upn}')/events('{args[0]}')/instances", path
        )

    def _calendars_events(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        """Only Deleted Items, by its well-known name (assumed: no documented route)."""
        if args[0].lower() != DELETED_ITEMS:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        with self.calendar_state._lock:
            items = [item for kind, item in mb.deleted.values() if kind == "event"]
        path = f"/users/{mb.upn}/calendars/{args[0]}/events"
        return self._list(mb, items, query, f"users('{mb.upn}')/calendars/events", path)

    def _find_event(self, mb: _Mailbox, event_id: str) -> Json:
        """A single event or master, live or in Deleted Items, or a live instance."""
        event = mb.events.get(event_id)
        if event is None and event_id in mb.deleted and mb.deleted[event_id][0] == "event":
            event = mb.deleted[event_id][1]
        if event is None and event_id in mb.instances:
            event = self.calendar_state._instance(mb, *mb.instances[event_id])
        if event is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        return event

    def _events_get(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        with self.calendar_state._lock:
            return 200, dict(self._find_event(mb, args[0])), {}

    def _events_create(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        data = json.loads(body or b"{}")
        cal = self.calendar_state
        with cal._lock:
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
            if data.get("recurrence"):
                event["type"] = "seriesMaster"
                event["recurrence"] = _normalised_recurrence(data["recurrence"], start)
                # an unknown pattern type raises ValueError here: a 400, as Graph answers
                next(recurrence.starts(event["recurrence"], start, end + timedelta(days=1)), None)
            cal._store_event(mb, event)
            cal._effect(mb, "event.create", event["id"])
            cal._notify(mb, event, "request", [_addr(a) for a in event["attendees"]])
            return 201, dict(event), {}

    def _events_patch(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        values = _patch_values(json.loads(body or b"{}"))
        cal = self.calendar_state
        with cal._lock:
            if args[0] in mb.instances:
                return self._patch_instance(mb, args[0], values)
            event = self._find_event(mb, args[0])
            master = event.get("type") == "seriesMaster"
            if master and values.keys() & _MOVES:
                raise _HttpError(400, "ErrorInvalidRequest", "Moving a series is not simulated.")
            live = args[0] in mb.events
            series = mb.series.get(args[0]) if master and live else None
            exceptions = {
                original: cal._instance(mb, args[0], original)
                for original in (series.exceptions if series else ())
            }
            before = {_addr(a) for a in event["attendees"]}
            content_changed = any(
                key in _EVENT_CONTENT and event.get(key) != value for key, value in values.items()
            )
            event.update(values)
            after = {_addr(a) for a in event["attendees"]}
            _bump(event)
            if live:
                cal._store_event(mb, event, values)
                cal._inherit(mb, args[0], values)
            fields = ",".join(sorted(values))
            cal._effect(mb, "event.patch:" + fields, event["id"])
            if event.get("isOrganizer") and not event.get("isCancelled"):
                self._tell(mb, event, before, after, content_changed)
                for original, old in exceptions.items():  # one message per exception (Q&A)
                    new = cal._instance(mb, args[0], original)
                    if old is not None and new is not None:
                        moved = any(old.get(k) != new.get(k) for k in _EVENT_CONTENT)
                        self._tell(mb, new, _attendees(old), _attendees(new), moved)
            return 200, dict(event), {}

    def _patch_instance(self, mb: _Mailbox, instance_id: str, values: Json) -> Result:
        """PATCH of an occurrence makes it an exception (Microsoft Q&A 499823)."""
        cal = self.calendar_state
        master_id, original = mb.instances[instance_id]
        old = cal._instance(mb, master_id, original)
        if old is None:
            raise _HttpError(404, "ErrorItemNotFound", "The specified object was not found.")
        changed = any(k in _EVENT_CONTENT and old.get(k) != v for k, v in values.items())
        cal._override(mb, master_id, original, values)
        new = cal._instance(mb, master_id, original)
        assert new is not None
        cal._effect(mb, "event.patch:" + ",".join(sorted(values)), instance_id)
        if new.get("isOrganizer") and not new.get("isCancelled"):
            self._tell(mb, new, _attendees(old), _attendees(new), changed)
        return 200, new, {}

    def _tell(
        self, mb: _Mailbox, event: Json, before: set[str], after: set[str], content: bool
    ) -> None:
        """What Exchange mails after an organiser's edit: removed attendees a cancellation,
        added ones a request, and, when the content changed, an update to those who stay."""
        self.calendar_state._notify(mb, event, "cancellation", before - after)
        self.calendar_state._notify(mb, event, "request", after - before)
        if content:
            self.calendar_state._notify(mb, event, "update", after & before)

    def _events_delete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        return self._remove_event(mb, args[0], purge=False)

    def _events_permanentDelete(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        return self._remove_event(mb, args[0], purge=True)

    def _remove_event(self, mb: _Mailbox, event_id: str, *, purge: bool) -> Result:
        cal = self.calendar_state
        with cal._lock:
            event = self._find_event(mb, event_id)
            live = event_id in mb.events or event_id in mb.instances
            if live and event.get("isOrganizer") and not event.get("isCancelled"):
                cal._notify(mb, event, "cancellation", _attendees(event))
            if event_id in mb.instances:
                cal._cancel(mb, event_id, purge=purge)
            else:
                cal._remove(mb, event_id, purge=purge or not live)
            cal._effect(mb, "event.purge" if purge else "event.delete", event_id)
        return 204, None, {}

    def _events_cancel(
        self, mb: _Mailbox, args: tuple[str, ...], query: dict[str, str], body: bytes
    ) -> Result:
        cal = self.calendar_state
        with cal._lock:
            event = self._find_event(mb, args[0])
            if not event.get("isOrganizer"):
                raise _HttpError(
                    400, "ErrorAccessDenied", "You need to be an organizer to cancel a meeting."
                )
            cal._notify(mb, event, "cancellation", _attendees(event))
            if args[0] in mb.instances:
                cal._cancel(mb, args[0], purge=False)
            else:
                cal._remove(mb, event["id"], purge=False)
            cal._effect(mb, "event.cancel", event["id"])
        return 202, None, {}


def _attendees(event: Mapping[str, Any]) -> set[str]:
    return {_addr(a) for a in event.get("attendees") or ()}


def _attendee(name: str, address: str, kind: str = "required") -> Json:
    return {
        "type": kind,
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
        "emailAddress": {"name": name, "address": address},
    }


def _dtz(when: datetime) -> Json:
    return {"dateTime": _graph_dt(when), "timeZone": "UTC"}


def _patch_values(patch: Mapping[str, Any]) -> Json:
    """The patchable properties of a PATCH body, in the shapes Graph stores them."""
    out: Json = {}
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
            out["bodyPreview"] = re.sub(r"<[^>]+>", "", value["content"])[:255]  # derived
        out[key] = value
    return out


def _recurrence(
    start: datetime, pattern: Mapping[str, Any] | None, until: date | None, count: int | None
) -> Json:
    span: Json = {"startDate": start.date().isoformat(), "recurrenceTimeZone": "UTC"}
    if until is not None:
        span.update(type="endDate", endDate=until.isoformat(), numberOfOccurrences=0)
    elif count:
        span.update(type="numbered", endDate="0001-01-01", numberOfOccurrences=count)
    else:
        span.update(type="noEnd", endDate="0001-01-01", numberOfOccurrences=0)
    return _normalised_recurrence({"pattern": dict(pattern or {}), "range": span}, start)


def _normalised_recurrence(raw: Mapping[str, Any], start: datetime) -> Json:
    """A patternedRecurrence with Graph's defaults for what the request left out."""
    pattern: Json = {
        "type": "weekly",
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "daysOfWeek": [recurrence.WEEKDAYS[start.weekday()]],
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    pattern.update({k: v for k, v in (raw.get("pattern") or {}).items() if v is not None})
    span: Json = {
        "type": "noEnd",
        "startDate": start.date().isoformat(),
        "endDate": "0001-01-01",
        "recurrenceTimeZone": "UTC",
        "numberOfOccurrences": 0,
    }
    span.update({k: v for k, v in (raw.get("range") or {}).items() if v is not None})
    return {"pattern": pattern, "range": span}


def _event_json(  # noqa: PLR0917
    mb: _Mailbox,
    subject: str,
    start: datetime,
    minutes: int,
    attendees: Iterable[tuple[str, ...]],
    organizer: tuple[str, str] | None,
    location: str,
    body: str,
    transaction_id: str | None = None,
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
    ("GET", r"^/users/([^/]+)/calendars/([^/]+)/events$", "calendars.events"),
    ("POST", r"^/users/([^/]+)/events$", "events.create"),
    ("POST", r"^/users/([^/]+)/events/([^/]+)/permanentDelete$", "events.permanentDelete"),
    ("POST", r"^/users/([^/]+)/events/([^/]+)/cancel$", "events.cancel"),
    ("GET", r"^/users/([^/]+)/events/([^/]+)/instances$", "events.instances"),
    ("GET", r"^/users/([^/]+)/events/([^/]+)$", "events.get"),
    ("PATCH", r"^/users/([^/]+)/events/([^/]+)$", "events.patch"),
    ("DELETE", r"^/users/([^/]+)/events/([^/]+)$", "events.delete"),
]
