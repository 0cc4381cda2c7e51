"""The outbox's Slack door (handlers/slack/notifier.py) against the fake Slack over real HTTP, without a
bot process: how each kind of answer is classified (Sent, Retry, Drop), and that the outbox's client
never retries or sleeps by itself."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator

import pytest

from bot.notify import Kind
from bot.outbox import Drop, OutboxMessage, Retry, Sent
from bot.service import LicensingService
from handlers.slack.client import outbox_client
from handlers.slack.notifier import SlackDelivery
from tests.support.bot_process import BOT_TOKEN
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import service_on

WAITER = "UWAITER1"


@pytest.fixture
def core(sqlite_url: str) -> Iterator[LicensingService]:
    seed_catalog(sqlite_url)
    with service_on(sqlite_url) as service:
        yield service


def seated(attempts: int = 0) -> OutboxMessage:
    return OutboxMessage(1, Kind.SEATED, WAITER, f"user:{WAITER}", {"app": "Contoso CRM"}, attempts,
                         dt.datetime.now(dt.UTC))


def deliver(fake: FakeSlack, core: LicensingService, message: OutboxMessage, timeout: int = 10):  # type: ignore[no-untyped-def]
    return SlackDelivery(outbox_client(BOT_TOKEN, fake.url, timeout=timeout), core)(message)


def test_a_dm_that_lands_is_sent(fake_slack: FakeSlack, core: LicensingService) -> None:
    assert deliver(fake_slack, core, seated()) == Sent()
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.args["channel"] == WAITER and "*Contoso CRM*" in call.args["text"]


def test_a_429_is_retried_after_slack_s_retry_after_and_the_client_does_not_sleep(
    fake_slack: FakeSlack, core: LicensingService
) -> None:
    fake_slack.rate_limit_next("chat.postMessage", retry_after=30)
    started = time.monotonic()
    outcome = deliver(fake_slack, core, seated())
    assert outcome == Retry("ratelimited (HTTP 429)", retry_after=30.0)
    assert time.monotonic() - started < 5  # the worker did not wait the 30 s: the message is rescheduled
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # and not retried by the client


@pytest.mark.parametrize(("fault", "expected"), [
    (("server", 503), Retry("HTTP 503: fatal_error")),
    (("server", 500), Retry("HTTP 500: fatal_error")),
    (("error", "internal_error"), Retry("internal_error")),
    (("error", "invalid_auth"), Retry("invalid_auth")),  # an operator fixes the token: then it goes
    (("error", "missing_scope"), Retry("missing_scope")),
    (("error", "channel_not_found"), Drop("channel_not_found")),
    (("error", "not_in_channel"), Drop("not_in_channel")),
    (("error", "user_not_found"), Drop("user_not_found")),
    (("error", "invalid_blocks"), Drop("invalid_blocks")),
], ids=lambda v: f"{v[0]}-{v[1]}" if isinstance(v, tuple) else type(v).__name__)
def test_each_refusal_is_retried_or_dropped(
    fake_slack: FakeSlack, core: LicensingService, fault: tuple[str, object], expected: object
) -> None:
    kind, value = fault
    if kind == "server":
        fake_slack.server_error_next("chat.postMessage", int(value))  # type: ignore[call-overload]
    else:
        fake_slack.fail_next("chat.postMessage", str(value))
    assert deliver(fake_slack, core, seated()) == expected
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_no_answer_is_retried(core: LicensingService) -> None:
    with socket.socket() as unused:  # a port nobody listens on: connection refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    outcome = SlackDelivery(outbox_client(BOT_TOKEN, f"http://127.0.0.1:{port}/api/"), core)(seated())
    assert isinstance(outcome, Retry) and "Error" in outcome.error


def test_a_hanging_slack_is_a_timeout_retried(fake_slack: FakeSlack, core: LicensingService) -> None:
    fake_slack.delay_next("chat.postMessage", 3.0)
    started = time.monotonic()
    outcome = deliver(fake_slack, core, seated(), timeout=1)
    assert isinstance(outcome, Retry) and "timed out" in outcome.error.lower()
    assert time.monotonic() - started < 2.5


def test_a_message_about_a_request_that_is_gone_is_dropped(fake_slack: FakeSlack, core: LicensingService) -> None:
    gone = OutboxMessage(2, Kind.OUTCOME, WAITER, "request:999", {"request": 999}, 0, dt.datetime.now(dt.UTC))
    assert deliver(fake_slack, core, gone) == Drop("request-gone")
    assert not fake_slack.calls_to("chat.postMessage")


def test_a_kind_this_version_does_not_know_is_dropped(fake_slack: FakeSlack, core: LicensingService) -> None:
    future = OutboxMessage(3, "provision.create", WAITER, "app:1:U1", {}, 0, dt.datetime.now(dt.UTC))
    assert deliver(fake_slack, core, future) == Drop("unknown message kind 'provision.create'")
