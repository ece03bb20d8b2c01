"""Right of access against the three simulators: everything the index knows about the person,
fetched live, nothing about anyone else, a self-contained HTML file, and repeat requests."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from syncaudit.app import App
from syncaudit.models import AuditEntry, ErasureRequest, Record, Subject
from syncaudit.rights.access import SOMEONE_ELSE, access_export
from syncaudit.rights.requests import list_all

from .conftest import ANNA, BOB, CLEO, DAN, World

OTHERS = ("bob", "berg", "cleo", "koski", "dan@", "dahl")


def index_records(app: App, email: str) -> set[tuple[str, str, str, str]]:
    with app.db.session() as s:
        rows = s.execute(
            select(Record.system, Record.kind, Record.stream, Record.external_id)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.email == email)
        ).all()
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def test_access_export_names_every_record_and_nobody_else(world: World, tmp_path: Path) -> None:
    app = world.app()
    app.sync()
    known = index_records(app, ANNA[1])
    assert {s for s, _, _, _ in known} == {"outlook", "newsletter", "accounting"}

    result = access_export(app, "Anna@Example.fi", tmp_path / "out", lang="en")

    assert result.state == "completed"
    assert not result.repeat_within_year
    text = result.json_path.read_text(encoding="utf-8")
    document = json.loads(text)
    exported = {
        (s["system"], r["kind"], r["stream"], r["id"])
        for s in document["systems"]
        for r in s["records"]
    }
    assert known <= exported  # every record the index knows
    assert exported == known  # and nothing found live that the index missed
    lowered = text.lower()
    for other in OTHERS:
        assert other not in lowered, other
    assert SOMEONE_ELSE in text  # Bob's name was in the shared calendar entry's subject

    by_system = {s["system"]: s for s in document["systems"]}
    contact = next(r for r in by_system["outlook"]["records"] if r["kind"] == "contact")
    assert contact["data"]["mobilePhone"] == "+358 40 111 2222"  # live contact fields
    event = next(r for r in by_system["outlook"]["records"] if r["kind"] == "event_attendee")
    assert event["data"]["date"].startswith("2020-06-01")
    assert event["data"]["role"] == "attendee"
    members = by_system["newsletter"]["records"]
    assert {m["data"]["audience"]["name"] for m in members} == {"Newsletter", "Customers"}
    assert {m["data"]["status"] for m in members} == {"subscribed"}
    assert all(m["data"]["timestamp_signup"].startswith("2019-04-01") for m in members)
    invoices = {r["data"]["invoice"]: r["data"] for r in by_system["accounting"]["records"]}
    assert set(invoices) == {"1001", "1002"}
    assert invoices["1001"]["date"] == "2020-05-06"
    assert [p["role"] for p in invoices["1002"]["parties"]] == ["invoice_recipient"]

    assert {t["system"]: t["countries"] for t in document["transfers"]} == {
        "outlook": ["US"],
        "newsletter": ["US"],
    }
    assert {p["system"] for p in document["processors"]} == {"outlook", "newsletter", "accounting"}

    with app.db.session() as s:
        events = [e.event for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        exported_entry = s.scalar(select(AuditEntry).where(AuditEntry.event == "access.exported"))
    assert [e for e in events if e.startswith(("request.", "access."))] == [
        "request.received",
        "access.exported",
        "request.completed",
    ]
    assert exported_entry is not None
    assert ANNA[1] not in exported_entry.data  # evidence names the person by pseudonym only
    assert result.json_sha256 in exported_entry.data
    assert (result.json_path.stat().st_mode & 0o777) == 0o600


def test_html_is_self_contained_and_readable(world: World, tmp_path: Path) -> None:
    app = world.app()
    app.sync()
    result = access_export(app, ANNA[1], tmp_path, lang="fi")
    html = result.html_path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fi">' in html
    assert "Henkilötietosi rekisterissämme" in html
    for needle in ("http://", "https://", "src=", "href=", "<script", "<link", "url(", "@import"):
        assert needle not in html.lower(), needle
    assert "default-src 'none'" in html
    assert "1002" in html  # the invoice
    assert "Newsletter" in html
    assert "EU:n ja Yhdysvaltojen tietosuojakehys" in html  # the transfer safeguard, in Finnish
    for other in OTHERS:
        assert other not in html.lower(), other


def test_second_request_within_a_year_is_flagged_not_refused(world: World, tmp_path: Path) -> None:
    app = world.app()
    app.sync()
    first = access_export(app, ANNA[1], tmp_path)
    world.clock.advance(timedelta(days=200))
    second = access_export(app, ANNA[1], tmp_path)
    assert second.state == "completed"
    assert second.request_id != first.request_id
    assert second.earlier_within_year == [first.request_id]
    assert second.json_path.exists()
    other = access_export(app, BOB[1], tmp_path)  # someone else's first request: free
    assert not other.repeat_within_year

    world.clock.advance(timedelta(days=400))
    third = access_export(app, ANNA[1], tmp_path)
    assert not third.repeat_within_year  # the earlier ones are more than 12 months back

    rows = {r["id"]: r for r in list_all(app)}
    assert rows[second.request_id]["earlier_within_year"] == [first.request_id]
    assert rows[first.request_id]["earlier_within_year"] == []
    assert rows[second.request_id]["kind"] == "access"
    assert rows[second.request_id]["within_deadline"] is True
    assert {t["result"] for t in rows[second.request_id]["tasks"]} == {"exported 2"}
    with app.db.session() as s:
        flagged = s.scalar(
            select(AuditEntry).where(AuditEntry.event == "access.repeat_within_year")
        )
        requests = list(s.scalars(select(ErasureRequest)))
    assert flagged is not None and flagged.request_id == second.request_id
    assert all(r.email is None for r in requests)  # no plaintext kept for access requests


def test_unreachable_system_keeps_the_request_open_and_a_rerun_resumes(
    world: World, tmp_path: Path
) -> None:
    app = world.app()
    app.sync()
    world.mailchimp.inject(status=500, count=100, path_contains="/lists")
    first = access_export(app, CLEO[1], tmp_path)
    assert first.state == "in_progress"
    assert {s.system: s.status for s in first.systems}["newsletter"] == "error"
    world.mailchimp.clear_faults()
    again = access_export(app, CLEO[1], tmp_path)
    assert again.request_id == first.request_id
    assert again.resumed and not again.repeat_within_year
    assert again.state == "completed"
    document = json.loads(again.json_path.read_text(encoding="utf-8"))
    assert re.search(r"cleo@example\.org", json.dumps(document["systems"]))
    assert DAN[1] not in json.dumps(document)
