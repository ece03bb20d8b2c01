"""Error mapping of every client call, with `responses` standing in for Mailchimp."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
import responses

from syncaudit.clock import ManualClock
from syncaudit.contract import Secret
from syncaudit.errors import AuthError, PermanentError, TransientError
from syncaudit_mailchimp.settings import MailchimpSettings
from syncaudit_mailchimp.simulator import MailchimpSimulator
from syncaudit_mailchimp.transport import NotFound, Refused, Transport

from .helpers import make_connector

HOST = "https://us6.api.mailchimp.com/3.0"
MEMBER = f"{HOST}/lists/abc123/members/0123456789abcdef0123456789abcdef"
SECRET_ADDRESS = "someone.private@example.org"


def problem(status: int, title: str, detail: str = "") -> dict[str, Any]:
    return {
        "body": json.dumps(
            {"type": "t", "title": title, "status": status, "detail": detail, "instance": "i"}
        ),
        "status": status,
        "content_type": "application/problem+json; charset=utf-8",
    }


@pytest.fixture
def transport() -> Transport:
    return Transport(MailchimpSettings(api_key=Secret.of("0123abcd-us6"), timeout_seconds=30))


def get_member(t: Transport) -> Any:
    return t.call(
        "get member",
        lambda c: c.lists.get_list_member("abc123", "0123456789abcdef0123456789abcdef"),
    )


@responses.activate
def test_ok_json_is_returned_and_timeouts_are_explicit(transport: Transport) -> None:
    responses.get(MEMBER, json={"id": "x", "status": "subscribed"})
    assert get_member(transport) == {"id": "x", "status": "subscribed"}
    call = responses.calls[0]
    assert call.request.req_kwargs["timeout"] == (10.0, 30)  # type: ignore[attr-defined]
    assert call.request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_429_is_transient_with_retry_after_seconds(transport: Transport) -> None:
    responses.get(MEMBER, headers={"Retry-After": "3"}, **problem(429, "Too Many Requests"))
    with pytest.raises(TransientError) as err:
        get_member(transport)
    assert err.value.retry_after == 3.0
    assert "429" in str(err.value)


@responses.activate
def test_429_with_empty_body_and_http_date_retry_after(transport: Transport) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    responses.get(MEMBER, status=429, body="", headers={"Retry-After": format_datetime(when)})
    with pytest.raises(TransientError) as err:
        get_member(transport)
    assert err.value.retry_after is not None
    assert 20 <= err.value.retry_after <= 31


@responses.activate
def test_empty_body_503_returned_not_raised_by_the_client_is_a_failure(
    transport: Transport,
) -> None:
    responses.get(MEMBER, status=503, body="")
    raw = transport.client.lists.get_list_member("abc123", "0123456789abcdef0123456789abcdef")
    assert isinstance(raw, requests.Response)  # the client's pitfall, pinned here
    with pytest.raises(TransientError, match="503"):
        get_member(transport)


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_transient(transport: Transport, status: int) -> None:
    responses.get(MEMBER, **problem(status, "Server Error"))
    with pytest.raises(TransientError):
        get_member(transport)


@responses.activate
def test_401_is_an_auth_error_without_personal_data(transport: Transport) -> None:
    responses.get(MEMBER, **problem(401, "API Key Invalid", f"key of {SECRET_ADDRESS}"))
    with pytest.raises(AuthError) as err:
        get_member(transport)
    assert "API Key Invalid" in str(err.value)
    assert SECRET_ADDRESS not in str(err.value)


@responses.activate
def test_403_with_problem_is_auth_but_empty_403_is_load_shedding(transport: Transport) -> None:
    responses.get(MEMBER, **problem(403, "User Disabled"))
    with pytest.raises(AuthError):
        get_member(transport)
    responses.replace(responses.GET, MEMBER, status=403, body="")
    with pytest.raises(TransientError):
        get_member(transport)


@responses.activate
def test_404_is_not_found(transport: Transport) -> None:
    responses.get(MEMBER, **problem(404, "Resource Not Found"))
    with pytest.raises(NotFound):
        get_member(transport)


@responses.activate
@pytest.mark.parametrize(
    ("status", "title"),
    [
        (400, "Member Exists"),
        (400, "Forgotten Email Not Subscribed"),
        (400, "Member In Compliance State"),
        (405, "Method Not Allowed"),
    ],
)
def test_other_refusals_are_permanent_with_title_but_never_detail(
    transport: Transport, status: int, title: str
) -> None:
    responses.get(MEMBER, **problem(status, title, f"{SECRET_ADDRESS} is already a member"))
    with pytest.raises(Refused) as err:
        get_member(transport)
    assert isinstance(err.value, PermanentError)
    assert err.value.title == title
    assert err.value.status == status
    assert SECRET_ADDRESS not in str(err.value)


@responses.activate
def test_plain_json_error_body_is_mapped_too(transport: Transport) -> None:
    responses.get(MEMBER, status=400, json={"title": "Invalid Resource", "status": 400})
    with pytest.raises(Refused) as err:
        get_member(transport)
    assert err.value.title == "Invalid Resource"


@responses.activate
@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectTimeout("connect"),
        requests.exceptions.ReadTimeout("read"),
        requests.exceptions.ConnectionError("refused"),
    ],
)
def test_transport_failures_are_transient(transport: Transport, exc: Exception) -> None:
    responses.get(MEMBER, body=exc)
    with pytest.raises(TransientError) as err:
        get_member(transport)
    assert "0123456789abcdef" not in str(err.value)  # no member path in messages


def test_malformed_base_url_is_permanent() -> None:
    t = Transport(MailchimpSettings(api_key=Secret.of("k-us6"), base_url="http://"))
    with pytest.raises(PermanentError):
        t.call("ping", lambda c: c.ping.get())


@responses.activate
def test_ok_with_empty_body_where_data_was_expected_is_transient(transport: Transport) -> None:
    responses.get(MEMBER, status=200, body="")
    with pytest.raises(TransientError, match="empty body"):
        get_member(transport)


@responses.activate
def test_204_of_delete_permanent_is_success(transport: Transport) -> None:
    responses.post(f"{MEMBER}/actions/delete-permanent", status=204)
    result = transport.call(
        "delete",
        lambda c: c.lists.delete_list_member_permanent("abc123", "0123456789abcdef" * 2),
        expect_body=False,
    )
    assert result is None


def test_connection_reuse_opens_one_connection(clock: ManualClock) -> None:
    with MailchimpSimulator(clock=clock.now) as sim:
        sim.add_audience("Newsletter")
        for reuse, opened in ((True, 1), (False, 10)):
            before = sim.connections_opened
            conn = make_connector(sim, clock, reuse_connections=reuse)
            for _ in range(5):
                conn.check()
            assert conn.requests_made == 10
            assert sim.connections_opened - before == opened
            conn.close()
