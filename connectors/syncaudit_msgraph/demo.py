"""`syncaudit demo`: a Graph simulator holding a coach's address book and calendar."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncaudit.contract import DemoPerson, DemoSystem
from syncaudit_msgraph.simulator import GraphSimulator

COACH = "coach@valmennus.example"
PLACES = ("Helsinki, Kamppi", "Teams", "Tampere", "Espoo, Otaniemi", "Zoom")


def start(name: str, workdir: Path, people: Sequence[DemoPerson]) -> DemoSystem:
    rng = random.Random(11)
    sim = GraphSimulator().start()
    sim.add_mailbox(COACH, "Coach")
    clients = sim.add_folder(COACH, "Asiakkaat")
    start_day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for index, person in enumerate(people):
        when = start_day - timedelta(days=3 + index % 400, hours=-(index % 7))
        if "contacts" in person.appears_in:
            emails = [(person.name, person.email)] + [(person.name, e) for e in person.other_emails]
            folder = clients if index % 3 else None
            sim.add_contact(
                COACH,
                name=person.name,
                emails=emails,
                folder=folder,
                givenName=person.first,
                surname=person.last,
                mobilePhone=f"+358 40 {rng.randint(1000000, 9999999)}",
            )
        if "calendar" in person.appears_in:
            sim.add_event(
                COACH,
                subject="Valmennussessio",
                start=when,
                attendees=[(person.name, person.email)],
                location=rng.choice(PLACES),
                body="Agenda: tavoitteet.",
            )
        if "mention" in person.appears_in:  # typed by hand: nobody invited
            sim.add_event(
                COACH,
                subject=f"Coaching: {person.name}",
                start=when + timedelta(days=1),
                location=rng.choice(PLACES),
            )
        if index % 50 == 0 and "calendar" in person.appears_in:  # organised by someone else
            sim.add_event(
                COACH,
                subject="Verkostotapaaminen",
                start=when + timedelta(days=2),
                organizer=("Verkosto Oy", "events@verkosto.example"),
                attendees=[("Coach", COACH), (person.name, person.email)],
            )
    table = sim.settings([COACH], name=name, calendar_past_days=800, calendar_future_days=60)
    return DemoSystem(
        table=table,
        env={"SIM_GRAPH_SECRET": sim.client_secret},
        stop=sim.stop,
        mail=DemoMail(sim),
    )


class DemoMail:
    """The requester's side of the coach's mailbox, for the demo's request by mail."""

    def __init__(self, sim: GraphSimulator) -> None:
        self.sim = sim

    def write(self, person: DemoPerson, subject: str, body: str) -> str:
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        return self.sim.add_message(
            COACH,
            "inbox",
            subject=subject,
            body=body,
            sent=when,
            sender=(person.name, person.email),
            content_type="text",
        )

    def reply(self, person: DemoPerson, text: str) -> bool:
        asked = [m for m in self.sim.mail_to(person.email) if "[V" in str(m.get("subject"))]
        if not asked:
            return False
        sender = (person.name, person.email)
        self.sim.reply_to(COACH, asked[-1], sender=sender, text=text, when=datetime.now(UTC))
        return True

    def letters(self, person: DemoPerson) -> list[tuple[str, str]]:
        return [
            (str(m.get("subject") or ""), str((m.get("body") or {}).get("content") or ""))
            for m in self.sim.mail_to(person.email)
        ]
