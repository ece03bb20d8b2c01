"""Retention rules with a moved clock: inactive subjects and expired coaching summaries listed
exactly; deletion (after a dry run) removes only summaries past their limit, in the simulator."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from syncaudit.app import App
from syncaudit.models import AuditEntry, CoachingSummary, ErasureRequest
from syncaudit.rights.activity import add_years
from syncaudit.rights.report import coaching_review
from syncaudit.rights.retention import (
    InactiveSubject,
    evaluate,
    expired_summaries,
    inactive_subjects,
    last_review,
    queue_erasures,
)
from syncaudit.rights.summaries import delete_summaries, mark_listed, scan_summaries

from .conftest import ANNA, BOB, CLEO, COACH, DAN, T0, World, at

SUMMARIES = {"system": "outlook", "folders": ["Coaching summaries"]}


def emails(app: App, found: list[InactiveSubject]) -> list[str]:
    by_pseudonym = {app.pseudonym_of(e)[1]: e for e in (ANNA[1], BOB[1], CLEO[1], DAN[1], COACH)}
    return [by_pseudonym[f.pseudonym] for f in found]


def test_inactive_subjects_with_a_moved_clock(world: World) -> None:
    app = world.app()
    app.sync()
    assert emails(app, inactive_subjects(app)) == [ANNA[1]]  # 5 years by default
    anna = inactive_subjects(app)[0]
    assert anna.since == at(2020, 6, 1)  # the session is her newest activity
    assert anna.basis == "last_activity"
    assert anna.systems == ("accounting", "newsletter", "outlook")

    world.clock.set(add_years(T0, 3))
    assert emails(app, inactive_subjects(app)) == [ANNA[1], BOB[1]]  # Bob's invoice: 2023-01-10

    world.clock.set(add_years(T0, 6))
    found = inactive_subjects(app)
    assert emails(app, found) == [ANNA[1], BOB[1], CLEO[1], DAN[1]]  # never the coach's mailbox
    assert found[-1].basis == "first_seen"  # Dan has no dated record: counted from T0
    assert emails(app, inactive_subjects(app, 1)) == [ANNA[1], BOB[1], CLEO[1], DAN[1]]

    world.clock.set(T0)
    ids = queue_erasures(app, inactive_subjects(app), years=5, listed=1)
    assert len(ids) == 1
    with app.db.session() as s:
        request = s.get(ErasureRequest, ids[0])
        reviewed = s.scalar(select(AuditEntry).where(AuditEntry.event == "retention.reviewed"))
    assert request is not None and request.origin == "review" and request.kind == "erasure"
    assert reviewed is not None and ANNA[1] not in reviewed.data
    assert last_review(app) == T0
    assert inactive_subjects(app) == []  # an open erasure is not listed again


def add_summaries(world: World) -> dict[str, str]:
    g = world.graph
    folder = g.add_mail_folder(COACH, "Coaching summaries")
    ids = {
        "folder": folder,
        "anna": g.add_message(COACH, folder, subject="Summary", sent=at(2020, 7, 1), to=[ANNA]),
        "bob": g.add_message(COACH, folder, subject="Summary", sent=at(2021, 1, 15), to=[BOB]),
        "cleo": g.add_message(COACH, folder, subject="Summary", sent=at(2025, 2, 10), to=[CLEO]),
        "unknown": g.add_message(
            COACH,
            folder,
            subject="Notes",
            sent=at(2023, 6, 1),
            sender=("Someone", "someone@elsewhere.example"),
            to=[("Coach", COACH)],
        ),
        "sent_bob": g.add_message(
            COACH, "sentitems", subject="Coaching summary: goals", sent=at(2025, 6, 1), to=[BOB]
        ),
        "sent_other": g.add_message(
            COACH, "sentitems", subject="Invoice reminder", sent=at(2020, 1, 1), to=[ANNA]
        ),
        "inbox": g.add_message(
            COACH, "inbox", subject="Hello", sent=at(2019, 1, 1), sender=ANNA, to=[("C", COACH)]
        ),
    }
    return ids


def listed(app: App) -> dict[str, tuple[str, datetime]]:
    return {e.message_id: (e.reason, e.limit) for e in expired_summaries(app)}


def test_expired_summaries_are_listed_exactly_and_deleted_only_past_their_limit(
    world: World,
) -> None:
    ids = add_summaries(world)
    config = {**SUMMARIES, "sent_subject_prefixes": ["Coaching summary"]}
    app = world.app(retention={"summaries": config})
    app.sync()
    scan = scan_summaries(app)
    assert (scan.messages, scan.new, scan.gone) == (5, 5, 0)  # folder + prefixed sent items
    assert listed(app) == {
        ids["anna"]: ("client_inactive", at(2022, 7, 1)),  # sent after her last activity
        ids["bob"]: (
            "client_inactive",
            datetime(2025, 1, 10, tzinfo=UTC),
        ),  # 2 years after his 2023 invoice
        ids["unknown"]: ("client_unknown", at(2025, 6, 1)),  # not in the index: its own date
    }
    with app.db.session() as s:
        rows = list(s.scalars(select(CoachingSummary)))
    assert {r.counterpart for r in rows} == {
        app.pseudonym_of(e)[1] for e in (ANNA[1], BOB[1], CLEO[1], "someone@elsewhere.example")
    }

    with app.db.session() as s:  # the monthly report's section, inside its transaction
        section = coaching_review(app, T0.date(), s)
        earlier = coaching_review(app, date(2024, 1, 31), s)
    assert section is not None and (section.limit_years, section.past_limit) == (2, 3)
    assert not any("@" in item for item in section.items)
    assert earlier is not None and earlier.past_limit == 1  # only Anna's limit had passed

    shown = expired_summaries(app)
    assert mark_listed(app, shown) == 3
    world.clock.set(datetime(2026, 12, 1, tzinfo=UTC))
    world.graph.add_event(COACH, subject="Check-in", start=at(2026, 11, 20), attendees=[BOB])
    app.sync(["outlook"])  # Bob is active again: his summary is kept after all
    result = delete_summaries(app, [e.id for e in shown])
    assert sorted(result.deleted) == sorted(e.id for e in shown if e.message_id != ids["bob"])
    assert [e.message_id for e in shown if e.id in result.skipped] == [ids["bob"]]
    remaining = set(world.graph.message_ids(COACH))
    assert remaining == set(ids.values()) - {ids["anna"], ids["unknown"], ids["folder"]}
    assert world.graph.is_purged(COACH, ids["anna"])
    with app.db.session() as s:
        evidence = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "summary.deleted")))
    assert len(evidence) == 2
    assert all(ANNA[1] not in e.data and ids["anna"] not in e.data for e in evidence)


def test_the_service_lists_first_and_deletes_on_a_later_run(world: World) -> None:
    ids = add_summaries(world)
    app = world.app(retention={"summaries": {**SUMMARIES, "delete": True}})
    app.sync()

    first = evaluate(app).summaries
    assert first is not None and first.deletion is None  # the dry run
    assert (first.expired, first.newly_listed) == (3, 3)
    assert len(world.graph.message_ids(COACH, ids["folder"])) == 4

    second = evaluate(app).summaries
    assert second is not None and second.deletion is not None
    assert len(second.deletion.deleted) == 3
    assert set(world.graph.message_ids(COACH, ids["folder"])) == {ids["cleo"]}

    world.clock.set(datetime(2027, 3, 1, tzinfo=UTC))  # Cleo's summary passes its limit
    third = evaluate(app).summaries
    assert third is not None and third.deletion is None and third.newly_listed == 1
    assert world.graph.message_ids(COACH, ids["folder"]) == [ids["cleo"]]
    fourth = evaluate(app).summaries
    assert fourth is not None and fourth.deletion is not None
    assert fourth.deletion.deleted and world.graph.message_ids(COACH, ids["folder"]) == []
    assert ids["sent_bob"] in world.graph.message_ids(COACH)  # not a configured source
    assert expired_summaries(app) == []
