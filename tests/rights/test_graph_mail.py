"""The msgraph connector's capability MAIL against the Graph simulator: folder paths, paging,
the Sent Items prefix filter, permanent deletion, and clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import Capability, SupportsMail
from syncaudit.errors import PermanentError
from syncaudit.retry import RetryPolicy
from syncaudit_msgraph import _requests
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.plugin import PLUGIN
from syncaudit_msgraph.simulator import GraphSimulator

COACH = "coach@example.fi"
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator() as simulator:
        simulator.add_mailbox(COACH, "Coach")
        yield simulator


@pytest.fixture
def connector(sim: GraphSimulator) -> Iterator[MsGraphConnector]:
    settings = PLUGIN.parse_settings(
        sim.settings([COACH]), path="systems[0]", env={"SIM_GRAPH_SECRET": sim.client_secret}
    )
    conn = MsGraphConnector(
        "outlook",
        settings,
        PLUGIN.default_profile(settings),
        clock=ManualClock(WHEN),
        retry=RetryPolicy(max_attempts=2, base_seconds=0.1),
    )
    yield conn
    conn.close()


def test_messages_of_a_nested_folder_page_by_page(
    sim: GraphSimulator, connector: MsGraphConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Capability.MAIL in connector.capabilities
    assert isinstance(connector, SupportsMail)
    clients = sim.add_mail_folder(COACH, "Clients", parent="inbox")
    made = {
        sim.add_message(
            COACH, clients, subject=f"Summary {n}", sent=WHEN, to=[(f"P{n}", f"p{n}@example.com")]
        )
        for n in range(7)
    }
    sim.add_message(COACH, "inbox", subject="Not this folder", sent=WHEN, to=[("X", "x@y.example")])
    monkeypatch.setattr(_requests, "LIST_PAGE", 3)

    found = connector.messages(COACH, "inbox/CLIENTS")

    assert {m.id for m in found} == made
    assert sim.count("messages.list") == 3  # 3 + 3 + 1, following next links
    first = next(m for m in found if m.recipients == ("p0@example.com",))
    assert first.when == WHEN
    assert first.sender == COACH
    assert first.folder == "inbox/CLIENTS"
    listing = sim.select("messages.list")[0]
    assert "body" not in listing.query.get("$select", "")  # bodies never leave Outlook


def test_sent_items_by_subject_prefix_and_permanent_delete(
    sim: GraphSimulator, connector: MsGraphConnector
) -> None:
    keep = sim.add_message(COACH, "sentitems", subject="Invoice", sent=WHEN, to=[("A", "a@b.fi")])
    summary = sim.add_message(
        COACH, "sentitems", subject="coaching SUMMARY: week 3", sent=WHEN, to=[("A", "a@b.fi")]
    )
    found = connector.messages(COACH, "sentitems", subject_prefixes=["Coaching summary"])
    assert [m.id for m in found] == [summary]

    assert connector.delete_message(COACH, summary) is True
    assert sim.is_purged(COACH, summary)
    assert sim.message_ids(COACH) == [keep]
    assert connector.delete_message(COACH, summary) is False  # already gone: idempotent


def test_a_missing_folder_or_an_unknown_mailbox_is_a_clear_error(
    connector: MsGraphConnector,
) -> None:
    with pytest.raises(PermanentError) as missing:
        connector.messages(COACH, "No such folder")
    assert "[retention.summaries].folders" in missing.value.next_step
    with pytest.raises(PermanentError) as unknown:
        connector.messages("other@example.fi", "inbox")
    assert "mailboxes" in unknown.value.next_step
