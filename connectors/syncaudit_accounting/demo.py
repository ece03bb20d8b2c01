"""`syncaudit demo`: an export folder with Finvoice files and a Finnish CSV export."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from syncaudit.contract import DemoPerson, DemoSystem
from syncaudit_accounting.corpus import InvoicePlan, PartyPlan, csv_export, finvoice_file
from syncaudit_accounting.model import BUYER

TOWNS = (("00100", "Helsinki"), ("33100", "Tampere"), ("02150", "Espoo"), ("20100", "Turku"))


def start(name: str, workdir: Path, people: Sequence[DemoPerson]) -> DemoSystem:
    rng = random.Random(5)
    folder = Path(workdir) / "accounting-export"
    folder.mkdir(parents=True, exist_ok=True)
    plans: list[InvoicePlan] = []
    first_day = date.today() - timedelta(days=700)
    for index, person in enumerate(p for p in people if "invoices" in p.appears_in):
        postcode, town = rng.choice(TOWNS)
        buyer = PartyPlan(
            role=BUYER,
            email=person.email,
            organisation=person.name,
            street=f"Esimerkkikatu {rng.randint(1, 80)}",
            postcode=postcode,
            town=town,
        )
        plans.append(
            InvoicePlan(
                number=str(20001 + index),
                date=first_day + timedelta(days=(index * 7) % 690),
                buyer=buyer,
                rows=(("Valmennus 60 min", "120,00"),),
            )
        )
    finvoice, spreadsheet = plans[: len(plans) // 2], plans[len(plans) // 2 :]
    for plan in finvoice:
        version = "3.0" if int(plan.number) % 3 else "2.01"
        (folder / f"finvoice-{plan.number}.xml").write_bytes(finvoice_file(plan, version))
    (folder / "laskut-2025.csv").write_bytes(csv_export(spreadsheet))
    table = {
        "name": name,
        "type": "accounting_export",
        "path": str(folder),
        "patterns": ["*.xml", "*.csv"],
        "country": "FI",
    }
    return DemoSystem(table=table, env={}, stop=lambda: None)
