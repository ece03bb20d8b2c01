"""A Microsoft Graph simulator on loopback: Outlook contacts and calendars, plus a token endpoint.

Standard library only, except `cryptography`, imported when the server starts, to make the
self-signed certificate of the token endpoint (so the real `azure-identity` credentials can talk
to it over TLS: MSAL refuses an `http://` authority).

Two servers, each a `ThreadingHTTPServer` on 127.0.0.1 with a free port, in daemon threads:

- Graph, plain HTTP (kiota accepts `http://` for loopback): `graph_url` ends in `/v1.0`.
- Login, HTTPS with a self-signed certificate made at start: `authority`; trust it with
  `ca_file` (the certificate itself is its own CA).

Served endpoints (paths under /v1.0; `{u}` is a mailbox's address):

    GET  /users/{u}/contactFolders                 top-level child folders of the default folder
    GET  /users/{u}/contactFolders/{f}/childFolders
    GET  /users/{u}/contacts                       default folder ($filter, $select, $top, $skip)
    GET  /users/{u}/contactFolders/{f}/contacts    same for folder f (`deleteditems` too)
    GET  /users/{u}[/contactFolders/{f}]/contacts/delta     delta rounds, Prefer odata.maxpagesize
    GET|PATCH|DELETE /users/{u}[/contactFolders/{f}]/contacts/{id}
    POST /users/{u}[/contactFolders/{f}]/contacts/{id}/permanentDelete
    GET  /users/{u}/calendarView?startDateTime=&endDateTime=
    GET  /users/{u}/calendarView/delta?startDateTime=&endDateTime=
    GET  /users/{u}/calendars/deleteditems/events  events and series in Deleted Items
    POST /users/{u}/events                         create (transactionId de-duplicates; with
                                                   `recurrence`: a series)
    GET|PATCH|DELETE /users/{u}/events/{id};  POST .../permanentDelete, .../cancel
    GET  /users/{u}/events/{id}/instances?startDateTime=&endDateTime=
    POST /users/{u}/sendMail                       recorded in `sent_mail` (+ a Sent Items copy)
    GET  /users/{u}/mailFolders/{f}/messages/delta delta rounds of a mail folder ($select)
    GET  /users/{u}/mailFolders                    top-level mail folders (Inbox, Sent Items...)
    GET  /users/{u}/mailFolders/{f}/childFolders   `f`: an id or a well-known name (sentitems)
    GET  /users/{u}/mailFolders/{f}/messages       $select, $top, $skip, next links
    GET  /users/{u}/messages/{id};  POST .../permanentDelete

Documented behaviour it models (Graph v1.0 reference, microsoft-graph-docs-contrib):
- delta rounds: next links, then a delta link; `@removed` for deleted items; a 410, or "a
  40X-series error with error codes such as syncStateNotFound", for an expired sync state
  (concepts/delta-query-overview.md; errors.md: resyncRequired) - `expire_delta_tokens(status=,
  code=)` chooses the answer;
- updated delta items carry "at least the properties that have been updated": here exactly
  those, plus id, @odata.etag, changeKey, lastModifiedDateTime (`partial_delta`, on);
- series: `type` singleInstance / occurrence / exception / seriesMaster, `seriesMasterId`,
  `originalStart`, `recurrence` (pattern + range, all six pattern types: `recurrence`);
  calendarView returns occurrences and exceptions, never the master; `/instances` lists a
  master's occurrences and exceptions (event.md, user-list-calendarview.md, event-list-instances);
- contact-delta pages of at most 200 (Microsoft Q&A); `$top` on contact delta is a 400;
  calendarView needs its window (400 ErrorInvalidParameter); 4 concurrent requests per mailbox;
- DELETE moves a contact or event to Deleted Items, permanentDelete purges it; `cancel` is for
  organisers only; error bodies `{"error": {"code", "message", "innerError"}}`.

Assumed where the reference is silent (also in `ASSUMPTIONS`, for tests and reports):
- calendarView/delta honours Prefer: odata.maxpagesize up to 1000 (no documented cap)
- list endpoints ($top) cap at 1000 items per page; default page size is 10
- Prefer: odata.maxpagesize must be sent on every request of a delta round (not kept in the token)
- contact delta on the default folder is /users/{u}/contacts/delta (in Microsoft's OpenAPI
  description, not in the reference pages)
- a nested contact folder is addressable as /users/{u}/contactFolders/{id} at top level
- /users/{u}/contacts/{id} resolves a contact in any folder, including Deleted Items
- a delta token never issued answers 410 SyncStateNotFound; an expired one what
  expire_delta_tokens() was told (410 by default)
- the first page of a delta round may already carry the deltaLink; a round never ends with an extra
  empty page
- a partial delta item carries exactly the changed properties; a new item, or one moved into the
  folder, comes whole
- calendarView delta sends each series master beside its occurrences (reported: docs issue #5602,
  keeper.sh PR #409; series_master_in_delta=False leaves them out, for full rounds)
- calendarView delta sends an occurrence as a stub: @odata.type, @odata.etag, id, type,
  seriesMasterId, start, end (reported, same sources)
- an exception keeps the properties it overrides when its master changes; the others follow the
  master (MS-OXOCAL override flags; unverified)
- a changed master puts each exception that inherits the change into the next delta, partial;
  deleting a master puts the master and its exceptions in as @removed
- an instance id is derived from its master and original start; PATCH of an occurrence makes it an
  exception with the same id
- DELETE of an occurrence cancels it: no Deleted Items entry, GET answers 404
- moving a series (PATCH of a master's start or end) is refused with 400: not simulated
- PATCH of an organised master sends its attendee changes once, plus one message per exception
  (Microsoft Q&A 499823)
- recurrence times are UTC; a day of month the month lacks is skipped
- Deleted Items is addressable by its well-known name as a contact folder
  (/contactFolders/deleteditems) and as a calendar (/calendars/deleteditems/events): no documented
  v1.0 route lists the contacts or events there
- over 4 concurrent requests to one mailbox answer 429 ApplicationThrottled, Retry-After: 1
- permanentDelete of an organiser's meeting sends cancellations like DELETE does
- PATCH or permanentDelete of an attendee's copy of a meeting notifies nobody
- PATCH of attendees on an attendee's copy changes that copy only
- PATCH of attendees on an organised meeting notifies only the attendees added or removed; PATCH of
  subject/body/location/start/end notifies every attendee left on the meeting
- POST /events with a transactionId already used returns the existing event (201)
- a DELETEd contact or event stays readable by id (Deleted Items) until permanentDelete
- item ids never change when an item moves (Graph changes them unless Prefer: IdType="ImmutableId")
- $filter on contacts matches addresses case-insensitively
- a person's reply (`reply_to`) has the subject "RE: " + the original's, the same
  conversationId, and quotes the original body below its own text
- the Sent Items copy of a sendMail is listed at once; mail-folder delta pages honour Prefer:
  odata.maxpagesize up to 1000 (default 10)

Modules, one per resource so each can grow alone: `contacts`, `calendar`, `mail` (each with the
out-of-band state tests set up and its HTTP endpoints), `_delta` (delta rounds), `recurrence`
(pattern expansion), `_login` (the token endpoint), `_http` / `_handler` (routing and plumbing),
`_core` (shared state and hooks).

Test hooks: `requests` (the request log), `count()`, `inject()` (faults, optionally running an
`action` first), `notifications` (what Exchange would e-mail to attendees), `side_effects`
(every write that changed state), `sent_mail`, `expire_delta_tokens()`, `revoke_tokens()`
(401), out-of-band mutators (`add_contact`, `update_contact`, `delete_contact`, `add_event`,
`add_series`, `modify_occurrence`, `cancel_occurrence`, `add_mail_folder`, `add_message`,
`remove_message`, `reply_to`, ...), `mail_to(address)` (what one person was sent),
views (`event`, `instances`, `calendar_view`), and `populate()` for bulk data.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from ._common import (
    CONTACTS_DELTA_MAX_PAGE,
    DEFAULT_PAGE,
    DELETED_ITEMS,
    EVENTS_DELTA_MAX_PAGE,
    LIST_MAX_TOP,
    MAILBOX_CONCURRENCY,
    Fault,
    Notification,
    RequestRecord,
    SideEffect,
)
from ._sim import GraphSimulator

__all__ = [
    "ASSUMPTIONS",
    "CONTACTS_DELTA_MAX_PAGE",
    "DEFAULT_PAGE",
    "DELETED_ITEMS",
    "EVENTS_DELTA_MAX_PAGE",
    "LIST_MAX_TOP",
    "MAILBOX_CONCURRENCY",
    "Fault",
    "GraphSimulator",
    "Notification",
    "RequestRecord",
    "SideEffect",
    "main",
    "running",
]


def _assumed(doc: str) -> tuple[str, ...]:
    """The docstring's "Assumed" list, one entry per bullet (one source for both)."""
    section = doc.split("Assumed where the reference is silent", 1)[1].split("\n\n", 1)[0]
    bullets = section.split("\n- ")[1:]
    return tuple(" ".join(b.split()) for b in bullets)


ASSUMPTIONS = _assumed(__doc__ or "")


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[GraphSimulator]:
    sim = GraphSimulator(**kwargs).start()
    try:
        yield sim
    finally:
        sim.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m syncaudit_msgraph.simulator`: serve demo data until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--mailbox", action="append", default=[])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args(argv)
    mailboxes = args.mailbox or ["coach@example.fi"]
    with running() as sim:
        sim.populate(mailboxes, contacts=args.contacts, events=args.events)
        table = sim.settings(mailboxes)
        print("# export SIM_GRAPH_SECRET=" + sim.client_secret)
        print("[[systems]]")
        for key, value in table.items():
            print(f"{key} = {json.dumps(value)}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
