"""Web API calls over kept-alive connections (handlers/slack/transport.py), against the fake Slack over
real HTTP/1.1: calls reuse a connection per thread, a connection the server closed is replaced, and every
answer means what it meant with slack-sdk's own urlopen (errors, 429, a server that cannot be reached)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError

from handlers.slack.client import interactive_client, make_client, outbox_client
from tests.support.fake_slack import FakeSlack

TOKEN = "xoxb-test-token"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=TOKEN) as fake:
        fake.add_users(3)
        yield fake


def test_calls_from_one_thread_share_one_connection(fake: FakeSlack) -> None:
    client = make_client(TOKEN, fake.url)
    before = fake.connections
    for _ in range(20):
        assert client.auth_test()["ok"]
        assert client.users_list(limit=2)["ok"]
    assert fake.connections - before == 1
    assert len(fake.calls_to("auth.test")) == 20


def test_each_thread_keeps_its_own_connection(fake: FakeSlack) -> None:
    client = outbox_client(TOKEN, fake.url)
    before = fake.connections
    errors: list[BaseException] = []

    def calls() -> None:
        try:
            for _ in range(10):
                client.auth_test()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fake.connections - before == 4
    assert len(fake.calls_to("auth.test")) == 40


def test_a_connection_the_server_closed_is_replaced_and_the_call_made_once(fake: FakeSlack) -> None:
    client = outbox_client(TOKEN, fake.url)  # no retry handler: the transport alone must cope
    client.auth_test()
    fake.drop_connections()
    time.sleep(0.05)
    sent = len(fake.calls_to("chat.postMessage"))
    client.chat_postMessage(channel="U00000001", text="after the server closed the connection")
    assert len(fake.calls_to("chat.postMessage")) == sent + 1
    client.chat_postMessage(channel="U00000001", text="and again, on the new connection")
    assert len(fake.calls_to("chat.postMessage")) == sent + 2


def test_slacks_answers_mean_what_they_meant(fake: FakeSlack) -> None:
    client = interactive_client(TOKEN, fake.url)
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="", view={"type": "modal", "title": {"type": "plain_text", "text": "x"},
                                               "blocks": []})
    assert refused.value.response["ok"] is False
    fake.rate_limit_next("auth.test", retry_after=30)  # a 429 whose Retry-After outlives a trigger: not retried
    with pytest.raises(SlackApiError) as limited:
        client.auth_test()
    assert limited.value.response.status_code == 429
    assert client.auth_test()["ok"]  # the connection is still good after an error answer


def test_a_server_that_cannot_be_reached_is_a_url_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    client = outbox_client(TOKEN, f"http://127.0.0.1:{port}/api/")
    with pytest.raises(URLError):
        client.auth_test()


def test_a_call_racing_the_servers_close_is_sent_once_on_a_new_connection(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close lands just after the idle check (a race no check can win): the call fails on the kept
    connection before any answer, so it was not read, and goes once more on a new one."""
    from handlers.slack import transport

    client = outbox_client(TOKEN, fake.url)
    client.auth_test()
    fake.drop_connections()
    time.sleep(0.05)
    monkeypatch.setattr(transport, "_closed_by_peer", lambda _sock: False)  # the check saw nothing yet
    before, sent = fake.connections, len(fake.calls_to("chat.postMessage"))
    client.chat_postMessage(channel="U00000001", text="sent once")
    assert len(fake.calls_to("chat.postMessage")) == sent + 1
    assert fake.connections - before == 1


def test_kept_connections_send_at_once(fake: FakeSlack) -> None:
    """A request goes out as headers then body (http.client): with Nagle's algorithm on a kept connection
    the body would wait for the server's delayed ACK, so the socket has TCP_NODELAY (as urllib3's)."""
    client = make_client(TOKEN, fake.url)
    client.auth_test()
    (conn,) = client._kept.values()  # type: ignore[attr-defined]
    assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
