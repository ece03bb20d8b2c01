"""GraphSimulator: every resource's state, the two servers, bulk data for benchmarks."""

from __future__ import annotations

import random
import shutil
import ssl
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ._common import DOMAINS, FIRST_NAMES, LAST_NAMES, _ascii, _now
from ._handler import _Server
from ._http import _GraphHandler
from ._login import _LoginHandler, _self_signed_certificate
from .calendar import CalendarState, _event_json
from .contacts import ContactsState, _contact_json
from .mail import MailState


class GraphSimulator(ContactsState, CalendarState, MailState):
    """Start with `start()` or `with GraphSimulator() as sim:`; stop with `stop()`."""

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> GraphSimulator:
        self._tmp = tempfile.mkdtemp(prefix="graphsim-")
        cert, key = _self_signed_certificate(self._tmp)
        self.ca_file = cert
        self._graph = _Server(("127.0.0.1", 0), _GraphHandler, self)
        self._login = _Server(("127.0.0.1", 0), _LoginHandler, self)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._login.socket = context.wrap_socket(self._login.socket, server_side=True)
        for server in (self._graph, self._login):
            thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._graph, self._login):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self, mailboxes: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
        """A `[[systems]]` table for this simulator (the secret is in env var SIM_GRAPH_SECRET)."""
        table: dict[str, Any] = {
            "name": "outlook",
            "type": "msgraph",
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret_env": "SIM_GRAPH_SECRET",
            "mailboxes": list(mailboxes or self._mailboxes),
            "authority": self.authority,
            "base_url": self.graph_url,
            "ca_file": self.ca_file,
        }
        table.update(extra)
        return table

    # -- bulk data ---------------------------------------------------------------------------------

    def stats(self, upn: str) -> dict[str, Any]:
        """Counts per contact folder (default first) and of events, e.g. for minimum requests."""
        with self._lock:
            mb = self.mailbox(upn)
            folders = {mb.default_folder_id: 0, **{f: 0 for f in mb.folders}}
            for contact in mb.contacts.values():
                folders[contact["parentFolderId"]] += 1
            return {
                "contacts_per_folder": list(folders.values()),
                "events": len(mb.events),  # single events and series masters
                "series": sum(1 for e in mb.events.values() if e.get("type") == "seriesMaster"),
            }

    def populate(
        self,
        mailboxes: Sequence[str],
        *,
        contacts: int,
        events: int,
        child_folders: int = 2,
        nested_folders: int = 1,
        seed: int = 7,
        now: datetime | None = None,
        past_days: int = 2000,
        future_days: int = 300,
        series: int = 0,
    ) -> dict[str, list[tuple[str, str]]]:
        """Bulk data, split evenly over the mailboxes. Returns each mailbox's (name, address)s.

        Contacts: half in the default folder, the rest over child folders (and one nested folder
        each); one to three addresses. Events: in [now - past_days, now + future_days]; most are
        organised by the mailbox with one to three contacts invited, a fifth by someone else.
        Series: weekly coaching with one contact, 10 to 52 sessions, every fifth with one
        session renamed (an exception).
        """
        rng = random.Random(seed)
        now = now or _now()
        people_by_mailbox: dict[str, list[tuple[str, str]]] = {}
        with self._lock:
            for index, upn in enumerate(mailboxes):
                self.add_mailbox(upn)
                mb = self.mailbox(upn)
                folders = [mb.default_folder_id]
                for i in range(child_folders):
                    fid = self.add_folder(upn, f"Clients {i + 1}")
                    folders.append(fid)
                    for j in range(nested_folders):
                        folders.append(self.add_folder(upn, f"Archive {i + 1}.{j + 1}", fid))
                share = contacts // len(mailboxes) + (index < contacts % len(mailboxes))
                people: list[tuple[str, str]] = []
                for n in range(share):
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    # A middle name drawn from the position (not from rng: every other value
                    # stays as it was): 30 x 30 x 45 full names, so a register of 40,000 has
                    # about one holder per name, as a real one does; with first x last alone each
                    # name had ~30 holders and every "Coaching: <name>" linked all of them.
                    middle = FIRST_NAMES[(n * 7 + index * 3 + 11) % len(FIRST_NAMES)]
                    name = f"{first} {middle} {last}"
                    addresses = [f"{_ascii(first)}.{_ascii(last)}{index}x{n}@{rng.choice(DOMAINS)}"]
                    for k in range(rng.choice((0, 0, 0, 1, 2))):
                        addresses.append(f"{_ascii(first)}{k}.{n}m{index}@{rng.choice(DOMAINS)}")
                    folder = folders[0] if rng.random() < 0.5 else rng.choice(folders)
                    contact = _contact_json(name, addresses, folder, {"_rng": rng})
                    mb.contacts[contact["id"]] = contact
                    self._touch(mb, "folder:" + folder, contact["id"])
                    people.append((name, addresses[0]))
                people_by_mailbox[upn] = people
                pool = people or [("Guest Person", "guest@example.com")]
                ev_share = events // len(mailboxes) + (index < events % len(mailboxes))
                span = (past_days + future_days) * 86400
                for _ in range(ev_share):
                    start = now - timedelta(days=past_days) + timedelta(seconds=rng.randrange(span))
                    start = start.replace(minute=0, second=0, microsecond=0)
                    invited = [
                        (*rng.choice(pool), "required") for _ in range(rng.choice((1, 1, 2, 3)))
                    ]
                    organizer = None
                    if rng.random() < 0.2:
                        organizer = rng.choice(pool)
                        invited = [(mb.display_name, mb.upn, "required")]
                    who = invited[0][0] if organizer is None else organizer[0]
                    subject = rng.choice(("Coaching: ", "Session with ", "Follow-up ")) + who
                    event = _event_json(
                        mb,
                        subject,
                        start,
                        rng.choice((45, 60, 90)),
                        invited,
                        organizer,
                        rng.choice(("Room 1", "Teams", "Helsinki office", "")),
                        "<p>Agenda: goals, progress, next steps.</p>",
                        None,
                    )
                    self._store_event(mb, event)
                share = series // len(mailboxes) + (index < series % len(mailboxes))
                for n in range(share):
                    person = rng.choice(pool)
                    start = now - timedelta(days=rng.randrange(past_days // 2))
                    start = start.replace(hour=9 + n % 8, minute=0, second=0, microsecond=0)
                    master = self.add_series(
                        upn,
                        subject=f"Coaching series: {person[0]}",
                        start=start,
                        count=rng.choice((10, 26, 52)),
                        attendees=[person],
                        location="Teams",
                    )
                    if n % 5 == 0:
                        self.modify_occurrence(
                            upn, master, start + timedelta(weeks=1), subject=f"Moved: {person[0]}"
                        )
        return people_by_mailbox
