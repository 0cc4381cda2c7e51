"""End to end: the outbox survives crashes. `licensebot serve` is killed with SIGKILL while Slack refuses
its messages (HTTP 500) and while one message is in flight; after a restart every message arrives, none
lost, only the one in flight twice. With two `serve` processes on one PostgreSQL, each message arrives
exactly once, even when one of them is killed.

Messages are counted in the fake Slack per (channel, text) of the chat.postMessage calls Slack accepted."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from handlers.slack.features.groups import seated_notice
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.cli_runner import clean_env, run_cli
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import WAITLIST_APP, join_waitlist, seat_waiters, service_on

pytestmark = pytest.mark.e2e

TEXT = seated_notice(WAITLIST_APP)
REFUSED_FOREVER = 10**6


def accepted(fake: FakeSlack) -> Counter[tuple[str, str]]:
    """How many times Slack accepted each (channel, text)."""
    return Counter((c.args.get("channel", ""), c.args.get("text", "")) for c in fake.calls_to("chat.postMessage")
                   if c.status == 200 and c.response.get("ok"))


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def refused(fake: FakeSlack) -> int:
    return sum(1 for c in fake.calls_to("chat.postMessage") if c.status == 500)


def queued(url: str) -> int:
    with service_on(url) as service:
        return len(service.outbox.queued())


def users(n: int, prefix: str = "UW") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(n)]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_kill_9_while_slack_refuses_loses_nothing_and_repeats_only_the_message_in_flight(
    database: str, fake_slack: FakeSlack, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    seed_catalog(url)
    waiters = users(20)
    fake_slack.delay_next("chat.postMessage", 8.0)  # the first one hangs (under the bot's 10 s timeout), then lands
    fake_slack.server_error_next("chat.postMessage", 500, times=REFUSED_FOREVER)  # every other one: 500

    first = BotProcess(fake_slack, url).start()
    seat_waiters(url, waiters)  # 20 DMs written with the seats; the running bot tries them
    until(lambda: refused(fake_slack) >= 10, 30, "the bot to try and fail")
    first.kill()  # the hanging one is in flight: Slack posts it, the bot never hears back
    until(lambda: sum(accepted(fake_slack).values()) == 1, 20, "the message in flight to land")
    [in_flight] = accepted(fake_slack)
    assert queued(url) == 20  # nothing was marked delivered: all twenty wait, the one in flight included

    fake_slack.clear_faults()
    with BotProcess(fake_slack, url):
        until(lambda: queued(url) == 0, 60, "the outbox to empty after the restart")
    told = accepted(fake_slack)
    assert sorted(channel for channel, _ in told) == waiters  # every waiter told: none lost
    assert {text for _, text in told} == {TEXT}
    assert told[in_flight] == 2  # the one in flight at the crash, repeated
    assert all(n == 1 for key, n in told.items() if key != in_flight)  # every other one exactly once


@pytest.mark.slow
def test_two_serve_processes_on_postgresql_deliver_each_message_once_even_when_one_is_killed(
    fake_slack: FakeSlack, postgres_url: str
) -> None:
    seed_catalog(postgres_url)
    fake_slack.server_error_next("chat.postMessage", 500, times=REFUSED_FOREVER)
    one, two = BotProcess(fake_slack, postgres_url).start(), BotProcess(fake_slack, postgres_url).start()
    try:
        refusing = users(40, "UA")
        seat_waiters(postgres_url, refusing)
        until(lambda: refused(fake_slack) >= 40, 30, "both bots to try and fail")
        one.kill()  # whatever it held is released with its connection
        fake_slack.clear_faults()
        until(lambda: queued(postgres_url) == 0, 60, "the survivor to empty the outbox")

        one = BotProcess(fake_slack, postgres_url).start()  # both running and healthy: they share the work
        healthy = users(150, "UB")
        seat_waiters(postgres_url, healthy)
        until(lambda: queued(postgres_url) == 0, 60, "both bots to empty the outbox")
    finally:
        one.stop()
        two.stop()
    told = accepted(fake_slack)
    assert sorted(channel for channel, _ in told) == sorted(refusing + healthy)
    assert set(told.values()) == {1}  # each message delivered once, by one of them
    with service_on(postgres_url) as service:
        status = service.outbox.status()
    assert (status.pending, status.delivered_last_day, status.dropped_last_day) == (0, 190, 0)


def test_an_apps_import_from_the_cli_that_seats_a_waiter_gets_the_waiter_a_dm(
    bot: BotProcess, sqlite_url: str, tmp_path: Path
) -> None:
    waiter = "UWAITER1"
    join_waitlist(sqlite_url, [waiter])  # Northwind Pass has no seat: the waiter waits, nobody is told
    assert queued(sqlite_url) == 0
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(f"apps:\n  - name: {WAITLIST_APP}\n    vendor: Northwind\n    seats: 1\n"
                       "    purchased_via: marketplace\n", encoding="utf-8")
    env = clean_env(DATABASE_URL=sqlite_url)  # no Slack setting at all: the CLI does not talk to Slack

    result = run_cli(["apps", "import", str(catalog)], env)

    assert result.returncode == 0, result.stderr
    assert f"updated    {WAITLIST_APP}" in result.stdout
    [call] = bot.fake.wait_for("chat.postMessage", 1, timeout=10,
                               predicate=lambda c: c.args.get("channel") == waiter)
    assert call.args["text"] == TEXT and call.status == 200
    until(lambda: queued(sqlite_url) == 0, 10, "the DM to be marked delivered")
