"""Intake and review against the Graph simulator: duplicates join, replies verify only from the
right address, reject and extend send their letters, a delta reset makes nothing twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure.worker import worker_slot
from syncaudit.errors import ConfigError, UsageError
from syncaudit.models import AuditEntry, IntakeLetter, IntakeRequest
from syncaudit.requester import review
from syncaudit.requester.intake import run_intake
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import DESK, NOW, make_app

AINO = ("Aino Virtanen", "aino.virtanen@example.com")


def _ask(
    graph: GraphSimulator, body: str, *, sender: tuple[str, str] = AINO, hours: int = 1
) -> str:
    return graph.add_message(
        DESK,
        "inbox",
        subject="Pyyntö",
        body=body,
        sent=NOW - timedelta(hours=hours),
        sender=sender,
        content_type="text",
    )


def test_a_second_message_for_the_same_kind_joins_the_open_request(
    app: App, graph: GraphSimulator
) -> None:
    _ask(graph, "Poistakaa tietoni.", hours=3)
    first = run_intake(app)
    _ask(graph, "Hei uudelleen, poistakaa tietoni!", hours=2)
    _ask(graph, "Ja lähettäkää kopio tiedoistani.", hours=1)  # another kind: its own request
    second = run_intake(app)
    assert second.joined == first.created
    assert len(second.created) == 1
    rows = review.pending(app)
    erasure = next(r for r in rows if r["kind"] == "erasure")
    assert erasure["messages"] == 2
    assert erasure["received_at"] == (NOW - timedelta(hours=3)).isoformat()
    # one receipt and one verification per request, not per message
    assert len(graph.mail_to(AINO[1])) == 4


def test_a_reply_verifies_only_from_the_requesters_address(app: App, graph: GraphSimulator) -> None:
    _ask(graph, "Please send me a copy of my data.")
    (request_id,) = run_intake(app).created
    (verification,) = [m for m in graph.mail_to(AINO[1]) if "[V" in m["subject"]]
    graph.reply_to(DESK, verification, sender=("X", "mallory@example.net"), text="yes", when=NOW)
    assert run_intake(app).verified == []
    assert graph.mail_to("mallory@example.net") == []
    graph.reply_to(DESK, verification, sender=AINO, text="yes it is me", when=NOW)
    assert run_intake(app).verified == [request_id]
    with app.db.session() as s:
        events = list(
            s.scalars(select(AuditEntry.event).where(AuditEntry.request_id == request_id))
        )
    assert "intake.verification_mismatch" in events and "intake.verified" in events


def test_reject_sends_the_refusal_and_closes_without_the_address(
    app: App, graph: GraphSimulator
) -> None:
    _ask(graph, "Poistakaa tietoni.")
    (request_id,) = run_intake(app).created
    review.reject(app, request_id, "Emme tunnista osoitetta asiakkaaksemme.")
    (refusal,) = [m for m in graph.mail_to(AINO[1]) if "Vastaus" in m["subject"]]
    body = refusal["body"]["content"]
    assert "Emme tunnista osoitetta asiakkaaksemme." in body and "tietosuoja.fi" in body
    with app.db.session() as s:
        row = s.get(IntakeRequest, request_id)
        assert row is not None
        assert (row.state, row.outcome, row.email) == ("closed", "rejected", None)
        reasons = [letter.reason for letter in s.scalars(select(IntakeLetter))]
    assert reasons == [None, None, None]  # the operator's words are not kept after sending
    with pytest.raises(UsageError):
        review.reject(app, request_id, "again")


def test_extend_once_within_the_first_month_with_a_letter(app: App, graph: GraphSimulator) -> None:
    _ask(graph, "Ta bort mig, tack. Hej")
    (request_id,) = run_intake(app).created
    before = review.pending(app)[0]["statutory_deadline"]
    deadline = review.extend(app, request_id, "Många förfrågningar just nu.")
    assert deadline.isoformat() > before
    (letter,) = [m for m in graph.mail_to(AINO[1]) if "längre tid" in m["subject"]]
    assert "Många förfrågningar just nu." in letter["body"]["content"]
    assert deadline.astimezone().date().isoformat()[:7] in letter["body"]["content"]
    assert review.pending(app)[0]["extended"] is True
    with pytest.raises(UsageError, match="extended already"):
        review.extend(app, request_id, "again")


def test_the_extension_must_be_told_within_the_first_month(
    graph: GraphSimulator, tmp_path: Path
) -> None:
    clock = ManualClock(NOW)
    with make_app(graph, tmp_path, clock) as application:
        _ask(graph, "Poistakaa tietoni.")
        (request_id,) = run_intake(application).created
        clock.advance(timedelta(days=40))
        with pytest.raises(UsageError, match="first month"):
            review.extend(application, request_id, "late")


def test_operator_verification_releases_an_access_request(app: App, graph: GraphSimulator) -> None:
    _ask(graph, "Subject access request, please.")
    (request_id,) = run_intake(app).created
    with pytest.raises(UsageError, match="verified"):
        review.approve(app, request_id)
    review.verify_by_operator(app, request_id, "called the customer back on the known number")
    assert review.pending(app)[0]["verification"] == "verified"


def test_a_delta_reset_makes_nothing_twice(app: App, graph: GraphSimulator) -> None:
    _ask(graph, "Poistakaa tietoni.")
    run_intake(app)
    sent = len(graph.sent_mail)
    graph.expire_delta_tokens(DESK)
    again = run_intake(app)
    assert again.reset and again.created == [] and again.joined == []
    assert len(graph.sent_mail) == sent


def test_verify_none_sends_no_verification(graph: GraphSimulator, tmp_path: Path) -> None:
    with make_app(graph, tmp_path, ManualClock(NOW), verify="none", receipt=False) as application:
        _ask(graph, "Poistakaa tietoni.")
        run_intake(application)
        assert graph.sent_mail == []
        assert review.pending(application)[0]["verification"] == "not_required"


def test_intake_settings_are_validated_at_load(graph: GraphSimulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        make_app(
            graph, tmp_path, ManualClock(NOW), verify="id-card", languages=["de"], mailbox="x@y.z"
        )
    text = "\n".join(err.value.problems)
    assert "intake.verify" in text and "intake.languages[0]" in text and "intake.mailbox" in text


def test_access_left_for_the_operator_sends_no_attachment(
    graph: GraphSimulator, tmp_path: Path
) -> None:
    clock = ManualClock(NOW)
    with make_app(graph, tmp_path, clock, access_delivery="operator") as application:
        _ask(graph, "Please send me a copy of my data.")
        (request_id,) = run_intake(application).created
        (verification,) = [m for m in graph.mail_to(AINO[1]) if "[V" in m["subject"]]
        graph.reply_to(DESK, verification, sender=AINO, text="yes", when=NOW)
        run_intake(application)
        review.approve(application, request_id)
        run_intake(application)
        (completion,) = [m for m in graph.mail_to(AINO[1]) if "completed" in m["subject"]]
        assert not completion.get("attachments")
        assert "separately" in completion["body"]["content"]
        assert list((tmp_path / "access").glob("access-*.html"))  # written for the operator
        with application.db.session() as s:
            events = list(s.scalars(select(AuditEntry.event)))
        assert events.count("intake.access_left_for_operator") == 1
        assert events.count("letter.sent") == 3


def test_old_mail_is_not_taken_as_a_new_request(app: App, graph: GraphSimulator) -> None:
    _ask(graph, "Poistakaa tietoni.", hours=24 * 40)
    report = run_intake(app)
    assert report.created == [] and report.too_old == 1
    assert graph.sent_mail == []


def test_a_reset_after_closing_does_not_revive_a_joined_message(
    app: App, graph: GraphSimulator
) -> None:
    _ask(graph, "Poistakaa tietoni.", hours=3)
    (request_id,) = run_intake(app).created
    _ask(graph, "Poistakaa tietoni, pyysin jo!", hours=2)
    assert run_intake(app).joined == [request_id]
    review.reject(app, request_id, "Ei asiakkuutta.")
    graph.expire_delta_tokens(DESK)
    again = run_intake(app)
    assert again.reset and again.created == [] and again.joined == []


def test_the_monthly_report_shows_the_extended_statutory_month(
    app: App, graph: GraphSimulator
) -> None:
    from syncaudit.reports.monthly import build_monthly

    _ask(graph, "Poistakaa tietoni.")
    (intake_id,) = run_intake(app).created
    extended = review.extend(app, intake_id, "Paljon pyyntöjä.")
    request_id = review.approve(app, intake_id)["request_id"]
    report = build_monthly(app, "2026-11", lang="en")
    (line,) = [x for x in report["request_lines"] if x["id"] == request_id]
    assert line["statutory_extended"] is True
    assert line["statutory_deadline"] == extended.isoformat()
    assert line["deadline"] < line["statutory_deadline"]


def test_a_rectification_by_mail_corrects_the_name_and_answers(
    app: App, graph: GraphSimulator
) -> None:
    contact = graph.add_contact(DESK, name="Aino Virtanen", emails=[AINO])
    app.sync(full=True)
    _ask(graph, "Nimeni on muuttunut, korjatkaa se: Aino Korhonen.")
    (request_id,) = run_intake(app).created
    assert review.pending(app)[0]["kind"] == "rectification"
    with pytest.raises(UsageError, match="what to correct"):
        review.approve(app, request_id)
    started = review.approve(app, request_id, name="Aino Korhonen")
    assert started["request_id"].startswith("R-")
    with worker_slot(app) as worker:
        worker.run_until_idle()
    review.finish(app)
    stored = graph.contact(DESK, contact)
    assert stored is not None and stored["displayName"] == "Aino Korhonen"
    (completion,) = [m for m in graph.mail_to(AINO[1]) if "käsitelty" in m["subject"]]
    body = completion["body"]["content"]
    assert "outlook: tiedot korjattu" in body and "tietosuoja.fi" in body
    assert "tositteita" in body  # invoices are vouchers: not rewritten (Art. 19 told the firm)
