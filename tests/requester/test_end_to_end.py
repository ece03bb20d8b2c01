"""The Done-when of issue 17, from the command line against the simulators: four messages in
the intake folder -> three pending requests -> verification by reply -> approve -> erasure,
access and objection complete -> one completion letter each, to the requester only; no
subject or body text in the database, no plaintext address of the erased person left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from erasure.world import COACH, SDK_WARNINGS, World, file_hits, open_world, table_hits
from typer.testing import CliRunner

from syncaudit.app import App
from syncaudit.cli import app as cli
from syncaudit.config import load_config

pytestmark = SDK_WARNINGS
runner = CliRunner()

ILONA = ("ilona.kallio@esimerkki.fi", "Ilona Kallio")  # Finnish erasure
TOM = ("tom.hughes@example.co.uk", "Tom Hughes")  # English access
SARA = ("sara.lindqvist@example.se", "Sara Lindqvist")  # Swedish objection
BOB = ("bob.berg@example.com", "Bob Berg")  # an ordinary coaching mail

MESSAGES = {
    ILONA: ("Tietojeni poistaminen", "Hei,\n\npoistakaa tietoni rekisteristänne, kiitos.\nIlona"),
    TOM: ("Subject access request", "Hello,\nplease send me a copy of my data.\nRegards, Tom"),
    SARA: (
        "Angående era utskick",
        "Hej,\njag vill inte ha nyhetsbrev längre.\nVänliga hälsningar, Sara",
    ),
    BOB: ("Ensi tiistain valmennus", "Hei, sopiiko tiistai klo 10 tapaamiselle? Bob"),
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path, now=lambda: datetime.now(UTC), background_invoices=4) as w:
        yield w


def run(*args: str) -> Any:
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_requests_by_mail_from_intake_to_completion_letters(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_file = tmp_path / "db.sqlite"
    config = tmp_path / "syncaudit.toml"
    env = world.write_config(config, f"sqlite:///{db_file}", paper=False)
    with config.open("a", encoding="utf-8") as out:
        out.write(f'[intake]\nsystem = "outlook"\naccess_dir = "{tmp_path / "access"}"\n')
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(config))
    planted = world.plant(*ILONA)
    world.plant(*TOM, invoice=False)
    world.plant(*SARA, invoice=False, outlook=False)
    run("sync")

    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    for (address, name), (subject, body) in MESSAGES.items():
        world.graph.add_message(
            COACH,
            "inbox",
            subject=subject,
            body=body,
            sent=received,
            sender=(name, address),
            content_type="text",
        )

    text = runner.invoke(cli, ["intake"])
    assert text.exit_code == 0, text.output
    assert "3 new request(s)" in text.output and "1 not a request" in text.output
    listing = runner.invoke(cli, ["requests", "--pending"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.count("unverified") == 3 and "statutory" in listing.output
    report = run("intake")
    assert report["created"] == []  # nothing new on a second run
    with App(load_config(config)) as application:
        report["created"] = [r["id"] for r in _pending(application)]
    assert len(report["created"]) == 3
    pending = run("requests", "--pending")
    kinds = {(r["kind"], r["language"]) for r in pending}
    assert kinds == {("erasure", "fi"), ("access", "en"), ("objection", "sv")}
    assert all(r["verification"] == "unverified" for r in pending)
    assert all(r["received_at"] == received.isoformat() for r in pending)
    assert all(0 < r["promise_hours_left"] <= 48 and r["statutory_days_left"] > 27 for r in pending)
    by_kind = {r["kind"]: r["id"] for r in pending}

    # Verification (and receipt) letters went to the three requesters, nobody else.
    recipients = {a for m in world.graph.sent_mail for a in _to(m["message"])}
    assert recipients == {ILONA[0], TOM[0], SARA[0]}
    for address, _ in (ILONA, TOM, SARA):
        verification = [m for m in world.graph.mail_to(address) if "[V" in m["subject"]]
        assert len(verification) == 1
    sv = world.graph.mail_to(SARA[0])
    assert any("Bekräfta" in m["subject"] for m in sv)

    # An access request waits for the reply.
    result = runner.invoke(cli, ["request", "approve", by_kind["access"]])
    assert result.exit_code == 2
    assert "verified" in result.output

    later = received + timedelta(minutes=30)
    for address, name in (ILONA, TOM, SARA):
        (verification,) = [m for m in world.graph.mail_to(address) if "[V" in m["subject"]]
        world.graph.reply_to(
            COACH, verification, sender=(name, address), text="Kyllä, se olin minä.", when=later
        )
    report = run("intake")
    assert sorted(report["verified"]) == sorted(by_kind.values())
    assert report["created"] == []
    assert {r["verification"] for r in run("requests", "--pending")} == {"verified"}

    run("request", "approve", by_kind["erasure"])
    run("work")
    run("intake")  # the completion letter goes out once the erasure has completed
    letters = world.graph.mail_to(ILONA[0])
    (completion,) = [m for m in letters if "käsitelty" in m["subject"]]
    body = completion["body"]["content"]
    assert planted.invoice and planted.invoice in body
    assert "1336/1997" in body and "17 artiklan 3 kohdan" in body
    assert "säilytetään" in body and "tietosuoja.fi" in body
    until = _retained_until(tmp_path, config)
    assert until in body

    run("request", "approve", by_kind["access"])
    (access_letter,) = [m for m in world.graph.mail_to(TOM[0]) if "completed" in m["subject"]]
    names = sorted(a["name"] for a in access_letter["attachments"])
    assert names[0].startswith("access-") and names[0].endswith(".html")
    assert "tietosuoja.fi" in access_letter["body"]["content"]

    run("request", "approve", by_kind["objection"])
    (objection_letter,) = [m for m in world.graph.mail_to(SARA[0]) if "behandlats" in m["subject"]]
    assert "marknadsföringen stoppad" in objection_letter["body"]["content"]

    # Each requester: receipt, verification, completion; nobody else got anything.
    for address, _ in (ILONA, TOM, SARA):
        assert len(world.graph.mail_to(address)) == 3
    assert world.graph.mail_to(BOB[0]) == []
    assert {a for m in world.graph.sent_mail for a in _to(m["message"])} == {
        ILONA[0],
        TOM[0],
        SARA[0],
    }
    assert run("requests", "--pending") == []

    with App(load_config(config)) as application:
        texts = [t for pair in MESSAGES.values() for t in pair] + ["Kyllä, se olin minä."]
        assert file_hits(application, texts) == []
        assert table_hits(application, texts) == []
        assert table_hits(application, [ILONA[0], ILONA[1]]) == []
        assert file_hits(application, [ILONA[0]]) == []
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def _pending(application: App) -> list[dict[str, Any]]:
    from syncaudit.requester.review import pending

    return pending(application)


def _to(message: dict[str, Any]) -> list[str]:
    return [r["emailAddress"]["address"] for r in message.get("toRecipients") or ()]


def _retained_until(tmp_path: Path, config: Path) -> str:
    with App(load_config(config)) as application:
        rows = application.db.engine.connect().exec_driver_sql(
            "SELECT outcomes FROM erasure_tasks WHERE system = 'books'"
        )
        outcomes = [o for (raw,) in rows for o in json.loads(raw)]
    (retained,) = [o for o in outcomes if o["status"] == "retained"]
    return str(retained["retained_until"])
