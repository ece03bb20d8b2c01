"""`syncaudit demo`: a Procountor simulator with the customers who have invoices.

Every person who appears in "invoices" becomes a customer in the partner register with one to
three sales invoices from the last two years (so all are under the legal hold), some with an
identity code in the identifier, as private customers' entries often have.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from syncaudit.contract import DemoPerson, DemoSystem
from syncaudit_procountor.simulator import ProcountorSimulator, make_hetu

SECRET_ENV = "SYNCAUDIT_DEMO_PROCOUNTOR_SECRET"  # noqa: S105 - a variable name, not a secret
API_KEY_ENV = "SYNCAUDIT_DEMO_PROCOUNTOR_API_KEY"


def start(name: str, workdir: Path, people: Sequence[DemoPerson]) -> DemoSystem:
    rng = random.Random(11)
    sim = ProcountorSimulator().start()
    today = sim.now().date()
    for index, person in enumerate(p for p in people if "invoices" in p.appears_in):
        code = make_hetu(rng) if index % 3 == 0 else None
        partner = sim.add_partner(person.name, email=person.email, identifier=code, type="CUSTOMER")
        for _ in range(rng.randint(1, 3)):
            sim.add_invoice(
                email=person.email,
                name=person.name,
                day=today - timedelta(days=rng.randrange(700)),
                partner_id=partner,
                identifier=code,
                status=rng.choice(("SENT", "PAID", "PAID")),
            )
    table = {
        "name": name,
        "type": "procountor",
        "client_id": sim.client_id,
        "client_secret_env": SECRET_ENV,
        "api_key_env": API_KEY_ENV,
        "base_url": sim.url,
        "country": "FI",
    }
    env = {SECRET_ENV: sim.client_secret, API_KEY_ENV: sim.api_key}
    return DemoSystem(table=table, env=env, stop=sim.stop)
