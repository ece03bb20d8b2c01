"""Locate / erase / verify, objection and export: the real client against the simulator."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests

from syncaudit.clock import ManualClock
from syncaudit.contract import Action, OutcomeStatus, RecordKind
from syncaudit.errors import TransientError
from syncaudit.testing import target_for
from syncaudit_mailchimp.simulator import MailchimpSimulator, subscriber_hash
from syncaudit_mailchimp.transport import Refused

from .helpers import MiniIndex, make_connector

ANNA = "anna.virtanen@example.fi"


def test_locate_finds_the_person_in_both_audiences_whatever_the_case(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, customers = two_audiences
    refs = make_connector(sim, clock).locate(target_for("ANNA.virtanen@example.FI"))
    assert [(r.locator["list_id"], r.external_id) for r in refs] == [
        (news, subscriber_hash(ANNA)),
        (customers, subscriber_hash(ANNA)),
    ]
    assert all(r.kind is RecordKind.AUDIENCE_MEMBER and r.system == "newsletter" for r in refs)
    assert "Newsletter" in refs[0].label
    assert ANNA not in refs[0].label.lower()


def test_locate_finds_archived_members(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    refs = make_connector(sim, clock).locate(target_for("old.news@example.com"))
    assert len(refs) == 1
    assert "archived" in refs[0].label


def test_erase_and_verify_across_both_audiences(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, customers = two_audiences
    conn = make_connector(sim, clock)
    target = target_for(ANNA, ["Anna Virtanen"])
    refs = conn.locate(target)
    assert [conn.preview(r, target).action for r in refs] == [Action.DELETE, Action.DELETE]
    assert sim.count(method="POST") == 0  # preview changes nothing

    outcomes = [conn.erase(r, target) for r in refs]

    assert [o.status for o in outcomes] == [OutcomeStatus.ERASED, OutcomeStatus.ERASED]
    assert sim.member(news, ANNA) is None and sim.member(customers, ANNA) is None
    assert sim.is_forgotten(news, ANNA) and sim.is_forgotten(customers, ANNA)
    assert conn.verify(target, refs) == []
    assert sim.count(method="GET", path_contains=subscriber_hash(ANNA), status=404) >= 2
    again = [conn.erase(r, target) for r in refs]
    assert [o.status for o in again] == [OutcomeStatus.ALREADY_ABSENT] * 2
    assert sim.count(effect_prefix="delete-permanent") == 2  # once per audience, never twice
    assert conn.locate(target) == []


def test_archiving_is_not_erasure_but_an_archived_member_can_be_erased(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, _ = two_audiences
    conn = make_connector(sim, clock)
    target = target_for("bob@example.com")
    refs = conn.locate(target)
    lists_api = conn._transport.client.lists  # the real client: archive through the API
    lists_api.delete_list_member(news, subscriber_hash("bob@example.com"))
    assert len(conn.verify(target, refs)) == 2  # archived still holds the data
    assert {conn.erase(r, target).status for r in refs} == {OutcomeStatus.ERASED}
    assert conn.verify(target, refs) == []


def test_lost_response_on_delete_is_retried_by_the_engine_without_a_second_delete(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock)
    target = target_for(ANNA)
    ref = conn.locate(target)[0]
    sim.inject(status=503, path_contains="delete-permanent", after=True)
    with pytest.raises(TransientError):
        conn.erase(ref, target)  # applied, but the answer was lost
    assert conn.erase(ref, target).status is OutcomeStatus.ALREADY_ABSENT
    assert sim.count(effect_prefix="delete-permanent") == 1


def test_throttled_erase_raises_transient_with_retry_after(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock)
    target = target_for(ANNA)
    ref = conn.locate(target)[0]
    sim.inject(status=429, retry_after=12, path_contains="delete-permanent")
    with pytest.raises(TransientError) as err:
        conn.erase(ref, target)
    assert err.value.retry_after == 12
    assert sim.count(effect_prefix="delete-permanent") == 0
    assert conn.erase(ref, target).status is OutcomeStatus.ERASED


def test_erase_refuses_a_record_that_holds_someone_else(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock)
    anna_refs = conn.locate(target_for(ANNA))
    outcome = conn.erase(anna_refs[0], target_for("bob@example.com"))
    assert outcome.status is OutcomeStatus.ALREADY_ABSENT
    assert sim.count(effect_prefix="delete-permanent") == 0


def test_forgotten_address_cannot_be_re_added_by_api_but_comes_back_by_sign_up_form(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, _ = two_audiences
    conn = make_connector(sim, clock)
    target = target_for(ANNA)
    index = MiniIndex()
    index.apply(conn.pull({}))
    for ref in conn.locate(target):
        conn.erase(ref, target)
    body = {"email_address": ANNA, "status": "subscribed"}
    with pytest.raises(Refused) as err:
        conn._transport.call("re-add", lambda c: c.lists.add_list_member(news, body))
    assert err.value.title == "Forgotten Email Not Subscribed"
    assert ANNA not in str(err.value)  # the problem's detail quotes the address: never shown
    with pytest.raises(Refused):
        conn._transport.call(
            "re-add", lambda c: c.lists.set_list_member(news, subscriber_hash(ANNA), body)
        )

    clock.advance(timedelta(hours=2))
    form = requests.post(
        sim.form_url, params={"id": news}, data={"EMAIL": ANNA, "FNAME": "Anna"}, timeout=5
    )
    assert form.status_code == 200

    changes = index.apply(conn.pull(index.cursors))  # the resurrection reaches the index
    assert ANNA in index.people(f"audience:{news}")
    assert len(changes) > 0
    assert len(conn.locate(target)) == 1


def test_unsubscribe_deletes_nothing(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    news, customers = two_audiences
    conn = make_connector(sim, clock)
    target = target_for(ANNA)
    refs = conn.locate(target)
    outcomes = [conn.unsubscribe(r, target) for r in refs]
    assert [o.status for o in outcomes] == [OutcomeStatus.ERASED, OutcomeStatus.ERASED]
    for list_id in (news, customers):
        member = sim.member(list_id, ANNA)
        assert member is not None and member["status"] == "unsubscribed"
    assert sim.count(method="PATCH") == 2
    assert {conn.unsubscribe(r, target).status for r in refs} == {OutcomeStatus.ALREADY_ABSENT}
    assert sim.count(method="PATCH") == 2
    assert sim.count(effect_prefix="delete") == 0


def test_export_returns_the_live_fields_of_the_persons_record_only(
    sim: MailchimpSimulator, clock: ManualClock
) -> None:
    news = sim.add_audience("Newsletter")
    sim.add_member(
        news, "Anna.Virtanen@Example.FI", fname="Anna", lname="Virtanen", tags=["vip", "2026"]
    )
    sim.add_member(news, "bob@example.com", fname="Bob")
    conn = make_connector(sim, clock)
    target = target_for(ANNA)
    ref = conn.locate(target)[0]
    data = conn.export(ref, target)
    assert data["email_address"] == "Anna.Virtanen@Example.FI"
    assert data["full_name"] == "Anna Virtanen"
    assert data["status"] == "subscribed"
    assert data["audience"] == {"id": news, "name": "Newsletter"}
    assert data["merge_fields"]["FNAME"] == "Anna"
    assert data["tags"] == ["vip", "2026"]
    assert data["timestamp_signup"]
    assert conn.export(ref, target_for("bob@example.com")) == {}


def test_never_more_requests_in_flight_than_max_connections(
    sim: MailchimpSimulator, clock: ManualClock, two_audiences: tuple[str, str]
) -> None:
    conn = make_connector(sim, clock, max_connections=3)
    sim.latency = 0.03
    errors: list[BaseException] = []

    def work() -> None:
        try:
            conn.locate(target_for(ANNA))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sim.peak_inflight <= 3
    assert sim.count(status=429) == 0
