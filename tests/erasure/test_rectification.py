"""Rectification (Art. 16/19) from the command line against the simulators.

The person is in both mailboxes' contacts (in the second one on a contact that holds another
address too), in a calendar entry, in two Mailchimp audiences and on an invoice. `rectify
--name` corrects every contact and both audiences and leaves the invoice with a task for the
accounting firm; `rectify --new-email` moves the address in contacts and Mailchimp and the
index follows; the dry run changes nothing; Mailchimp's refusal is a failed task with the next
step.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from syncaudit import audit
from syncaudit.app import App
from syncaudit.cli import app as cli
from syncaudit.config import load_config
from syncaudit.models import AuditEntry, RectifiedAddress
from syncaudit.reports.monthly import build_monthly

from .world import BOB, COACH, ILONA, SDK_WARNINGS, World, table_hits

pytestmark = SDK_WARNINGS
OFFICE = "office@example.fi"
OTHER = "ilona.work@example.org"  # the second mailbox's contact holds this address too
NEW = "ilona.virtanen@example.fi"
runner = CliRunner()


@pytest.fixture
def configured(
    world: World, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[World, Path]:
    world.graph.add_mailbox(OFFICE, "Office")
    world.mailboxes = (COACH, OFFICE)
    config = tmp_path / "syncaudit.toml"
    for key, value in world.write_config(config, db_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(config))
    return world, config


def invoke(*args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def as_json(*args: str) -> Any:
    return json.loads(invoke(*args, "--json").stdout)


def plant(world: World) -> dict[str, str]:
    email, name = ILONA
    planted = world.plant(email, name, event=True)
    office = world.graph.add_contact(OFFICE, name=name, emails=[(name, email), ("Work", OTHER)])
    world.plant(*BOB, invoice=False)
    return {"coach": planted.contact_id or "", "office": office, "invoice": planted.invoice or ""}


def members(world: World, email: str) -> list[dict[str, Any] | None]:
    return [world.mailchimp.member(a, email) for a in world.audiences]


def test_rectify_name_and_then_address_everywhere(configured: tuple[World, Path]) -> None:
    world, config = configured
    ids = plant(world)
    old, _ = ILONA
    invoke("sync")
    world.graph.clear_log()
    world.mailchimp.clear_log()

    # the dry run: says what it would do, and that the calendar is history; changes nothing
    dry = invoke("rectify", old, "--name", "Ilona Virtanen", "--dry-run").stdout
    assert "calendar entry: history, not rewritten" in dry
    assert "invoices are accounting vouchers and are not rewritten" in dry
    assert world.graph.side_effects == []
    assert not [r for r in world.mailchimp.requests if r.method != "GET"]

    view = as_json("rectify", old, "--name", "Ilona Virtanen", "--yes")
    tasks = {t["system"]: t for t in view["tasks"]}
    assert {s: t["state"] for s, t in tasks.items()} == {
        "outlook": "verified",
        "newsletter": "verified",
        "books": "awaiting_manual",
        "paper": "awaiting_manual",
    }
    assert tasks["outlook"]["result"] == tasks["newsletter"]["result"] == "rectified"
    notice = tasks["books"]["instructions"]
    assert ids["invoice"] in notice and "19 artiklan" in notice and "Art. 19" in notice
    for mailbox, contact_id in ((COACH, ids["coach"]), (OFFICE, ids["office"])):
        contact = world.graph.contact(mailbox, contact_id)
        assert contact is not None
        assert (contact["displayName"], contact["givenName"], contact["surname"]) == (
            "Ilona Virtanen",
            "Ilona",
            "Virtanen",
        )
    for member in members(world, old):
        assert member is not None
        assert (member["merge_fields"]["FNAME"], member["merge_fields"]["LNAME"]) == (
            "Ilona",
            "Virtanen",
        )
    assert world.mailchimp.member(world.audiences[0], BOB[0])["merge_fields"]["LNAME"] == "Berg"
    for system in ("books", "paper"):
        invoke("erasure", "confirm", view["id"], system, "--note", "sent to the firm")
    assert as_json("erasure", "show", view["id"])["state"] == "completed"
    assert as_json("subject", old)["display_name"] == "Ilona Virtanen"

    # a new address: contacts and Mailchimp move, the index follows
    world.graph.clear_log()
    invoke("rectify", old, "--new-email", NEW, "--dry-run")
    assert world.graph.side_effects == []
    assert members(world, NEW) == [None, None]
    view = as_json("rectify", old, "--new-email", NEW, "--yes")
    assert {t["system"]: t["state"] for t in view["tasks"]}["newsletter"] == "verified"
    for system in ("books", "paper"):
        invoke("erasure", "confirm", view["id"], system)
    assert as_json("erasure", "show", view["id"])["state"] == "completed"

    coach = world.graph.contact(COACH, ids["coach"])
    office = world.graph.contact(OFFICE, ids["office"])
    assert coach is not None and office is not None
    assert [e["address"] for e in coach["emailAddresses"]] == [NEW]
    assert [e["address"] for e in office["emailAddresses"]] == [NEW, OTHER]  # the other stays
    assert members(world, old) == [None, None]
    assert all(m is not None and m["email_address"] == NEW for m in members(world, NEW))
    assert world.graph.duplicated_side_effects() == []

    new_view = as_json("subject", NEW)
    assert {(r["system"], r["kind"]) for r in new_view["records"]} >= {
        ("outlook", "contact"),
        ("outlook", "event_attendee"),
        ("newsletter", "audience_member"),
        ("books", "invoice_buyer"),
    }
    assert len([r for r in new_view["records"] if r["kind"] == "contact"]) == 2
    assert len([r for r in new_view["records"] if r["system"] == "newsletter"]) == 2
    gone = as_json("subject", old)
    assert gone["found"] is False and gone["records"] == []

    app = App(load_config(config))
    try:
        assert table_hits(app, [old]) == []  # only the keyed hash of the old address is left
        with app.db.session() as s:
            assert len(list(s.scalars(select(RectifiedAddress)))) == 1
            assert audit.verify(s).ok
        month = datetime.now(ZoneInfo(app.settings.reports.timezone)).strftime("%Y-%m")
        counted = build_monthly(app, month, lang="en")["requests"]["rectification"]
        assert (counted["received"], counted["completed"]) == (2, 2)
        # a full sync reads the invoice again, which holds the old address (vouchers are not
        # rewritten): noticed once, not erased
        app.sync(full=True)
        app.sync(full=True)
        with app.db.session() as s:
            seen = list(
                s.scalars(
                    select(AuditEntry).where(AuditEntry.event == "rectification.old_address_seen")
                )
            )
        assert len(seen) == 1
        # the same records as a fresh index would hold: nothing duplicated by the sync
        again = app.subject(NEW)
        assert len([r for r in again["records"] if r["system"] == "newsletter"]) == 2
    finally:
        app.close()


def test_mailchimp_refuses_an_address_that_is_a_member_already(
    configured: tuple[World, Path],
) -> None:
    world, _ = configured
    plant(world)
    old, _ = ILONA
    world.mailchimp.add_member(world.audiences[1], NEW, fname="Ilona", lname="V")
    invoke("sync")
    dry = invoke("rectify", old, "--new-email", NEW, "--dry-run").stdout
    assert "REFUSED: the new address is a member of this audience already" in dry
    view = as_json("rectify", old, "--new-email", NEW, "--yes")
    task = {t["system"]: t for t in view["tasks"]}["newsletter"]
    assert task["state"] == "failed"
    assert "a member already" in task["last_error"]
    assert "merge the two members by hand" in task["last_error"]
    assert view["state"] != "completed"

    # the operator merges by hand (the old member goes), then retries: the task completes
    world.mailchimp.delete_permanent(world.audiences[1], old)
    invoke("erasure", "retry", view["id"], "newsletter")
    invoke("work")
    task = {t["system"]: t for t in as_json("erasure", "show", view["id"])["tasks"]}["newsletter"]
    assert task["state"] == "verified", task
    assert all(m is not None and m["email_address"] == NEW for m in members(world, NEW))


def test_mailchimp_refuses_an_address_that_was_permanently_deleted(
    configured: tuple[World, Path],
) -> None:
    world, _ = configured
    plant(world)
    old, _ = ILONA
    world.mailchimp.add_member(world.audiences[0], NEW)
    world.mailchimp.delete_permanent(world.audiences[0], NEW)
    invoke("sync")
    view = as_json("rectify", old, "--new-email", NEW, "--yes")
    task = {t["system"]: t for t in view["tasks"]}["newsletter"]
    assert task["state"] == "failed"
    assert "permanently deleted there" in task["last_error"]
    assert "signing up again" in task["last_error"]
    assert members(world, old)[0] is not None  # nothing was changed in that audience
