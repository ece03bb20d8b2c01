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
    GET  /users/{u}/contactFolders/{f}/contacts    same for folder f
    GET  /users/{u}[/contactFolders/{f}]/contacts/delta     delta rounds, Prefer odata.maxpagesize
    GET|PATCH|DELETE /users/{u}[/contactFolders/{f}]/contacts/{id}
    POST /users/{u}[/contactFolders/{f}]/contacts/{id}/permanentDelete
    GET  /users/{u}/calendarView?startDateTime=&endDateTime=
    GET  /users/{u}/calendarView/delta?startDateTime=&endDateTime=
    POST /users/{u}/events                         create (transactionId de-duplicates)
    GET|PATCH|DELETE /users/{u}/events/{id};  POST .../permanentDelete, .../cancel
    POST /users/{u}/sendMail                       recorded in `sent_mail`
    GET  /users/{u}/mailFolders                    top-level mail folders (Inbox, Sent Items...)
    GET  /users/{u}/mailFolders/{f}/childFolders   `f`: an id or a well-known name (sentitems)
    GET  /users/{u}/mailFolders/{f}/messages       $select, $top, $skip, next links
    GET  /users/{u}/messages/{id};  POST .../permanentDelete

Behaviour follows the Graph v1.0 reference; where the reference is silent the choice is listed in
`ASSUMPTIONS` below (the connector's report repeats it).

Modules, one per resource so each can grow alone: `contacts`, `calendar`, `mail` (each with the
out-of-band state tests set up and its HTTP endpoints), `_delta` (delta rounds), `_login` (the
token endpoint), `_http` / `_handler` (routing and plumbing), `_core` (shared state and hooks).

Test hooks: `requests` (the request log), `count()`, `inject()` (faults), `notifications` (what
Exchange would e-mail to attendees), `side_effects` (every write that changed state),
`sent_mail`, `expire_delta_tokens()` (410), `revoke_tokens()` (401), out-of-band mutators
(`add_contact`, `update_contact`, `delete_contact`, `add_event`, `add_mail_folder`,
`add_message`, ...), and `populate()` for bulk data.
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

ASSUMPTIONS = (
    "calendarView/delta honours Prefer: odata.maxpagesize up to 1000 (no documented cap)",
    "list endpoints ($top) cap at 1000 items per page; default page size is 10",
    "Prefer: odata.maxpagesize must be sent on every request of a delta round (not kept in the "
    "token)",
    "contact delta on the default folder is /users/{u}/contacts/delta (in Microsoft's OpenAPI "
    "description, not in the reference pages)",
    "a nested contact folder is addressable as /users/{u}/contactFolders/{id} at top level",
    "/users/{u}/contacts/{id} resolves a contact in any folder, including Deleted Items",
    "an expired delta or skip token answers 410 with code SyncStateNotFound",
    "the first page of a delta round may already carry the deltaLink; a round never ends with an "
    "extra empty page",
    "over 4 concurrent requests to one mailbox answer 429 ApplicationThrottled, Retry-After: 1",
    "permanentDelete of an organiser's meeting sends cancellations like DELETE does",
    "PATCH or permanentDelete of an attendee's copy of a meeting notifies nobody",
    "PATCH of attendees on an attendee's copy changes that copy only",
    "PATCH of attendees on an organised meeting notifies only the attendees added or removed; "
    "PATCH of subject/body/location/start/end notifies every attendee left on the meeting",
    "POST /events with a transactionId already used returns the existing event (201)",
    "a DELETEd contact or event stays readable by id (Deleted Items) until permanentDelete",
    "$filter on contacts matches addresses case-insensitively",
)


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
