"""Capability MAILBOX of the msgraph connector against the simulator: delta rounds on a folder
(new, removed, reset), letters with attachments to one person, replies, Sent Items markers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from syncaudit.clock import ManualClock
from syncaudit.contract import Capability
from syncaudit.mailbox import Attachment, Letter, SupportsMailbox
from syncaudit.retry import RetryPolicy
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.plugin import PLUGIN
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import DESK

WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def connector(graph: GraphSimulator) -> Iterator[MsGraphConnector]:
    settings = PLUGIN.parse_settings(
        graph.settings([DESK]), path="systems[0]", env={"SIM_GRAPH_SECRET": graph.client_secret}
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


def test_delta_rounds_on_a_folder_list_new_and_removed_messages(
    graph: GraphSimulator, connector: MsGraphConnector
) -> None:
    assert Capability.MAILBOX in connector.capabilities
    assert isinstance(connector, SupportsMailbox)
    first = graph.add_message(
        DESK,
        "inbox",
        subject="Poistakaa tietoni",
        sent=WHEN,
        sender=("Aino", "aino@example.com"),
        body="<p>Hei,</p><p>poistakaa tietoni &amp; kiitos</p>",
    )
    batch = connector.new_messages(DESK, "Inbox", None)
    assert [m.id for m in batch.messages] == [first]
    message = batch.messages[0]
    assert message.sender == "aino@example.com"
    assert message.received == WHEN
    assert "poistakaa tietoni & kiitos" in message.body
    assert message.conversation_id
    assert connector.new_messages(DESK, "inbox", batch.cursor).messages == ()
    second = graph.add_message(DESK, "inbox", subject="x", sent=WHEN, sender=("B", "b@example.com"))
    graph.remove_message(DESK, first)
    later = connector.new_messages(DESK, "inbox", batch.cursor)
    assert {(m.id, m.removed) for m in later.messages} == {(first, True), (second, False)}
    graph.expire_delta_tokens(DESK)
    again = connector.new_messages(DESK, "inbox", later.cursor)
    assert again.reset
    assert [m.id for m in again.messages] == [second]


def test_a_letter_goes_to_one_person_with_its_attachment_and_is_found_in_sent_items(
    graph: GraphSimulator, connector: MsGraphConnector
) -> None:
    letter = Letter(
        to="aino@example.com",
        subject="Pyyntönne [ref L-1]",
        body="Hei",
        attachments=(Attachment(name="a.html", content_type="text/html", data=b"<p>x</p>"),),
    )
    connector.send_letter(DESK, letter)
    (sent,) = graph.mail_to("aino@example.com")
    assert sent["subject"] == "Pyyntönne [ref L-1]"
    assert sent["body"]["content"] == "Hei"
    (attachment,) = sent["attachments"]
    assert attachment["name"] == "a.html"
    assert [m["message"]["toRecipients"] for m in graph.sent_mail] == [
        [{"emailAddress": {"address": "aino@example.com"}}]
    ]
    found = connector.was_sent(DESK, ["[ref L-1]", "[ref L-2]"], WHEN - timedelta(days=1))
    assert found == {"[ref L-1]"}


def test_a_reply_quotes_the_letter_in_the_same_conversation(
    graph: GraphSimulator, connector: MsGraphConnector
) -> None:
    start = connector.new_messages(DESK, "inbox", None)
    connector.send_letter(
        DESK, Letter(to="b@example.com", subject="Vahvistus V-abc", body="Vastaa")
    )
    (sent,) = graph.mail_to("b@example.com")
    graph.reply_to(DESK, sent, sender=("B", "b@example.com"), text="Kyllä", when=WHEN)
    (reply,) = connector.new_messages(DESK, "inbox", start.cursor).messages
    assert reply.subject == "RE: Vahvistus V-abc"
    assert reply.body.startswith("Kyllä")
    assert "> Vastaa" in reply.body
    assert reply.conversation_id == sent["conversationId"]
