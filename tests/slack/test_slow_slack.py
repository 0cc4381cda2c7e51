"""A slow, rate-limited or hung Slack never freezes the bot (SPEC §4; issue 10, defects 1, 5 and 7).

The bot runs as `licensebot serve` against the fake Slack with faults injected; every answer is timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.e2e

T = TypeVar("T")
DESIGN = "SDESIGN1"
LOADING = "Still loading the groups: try again in a moment"
STILL_LOADING = "The workspace's people and groups are still loading"


def timed(call: Callable[[], T]) -> tuple[T, float]:
    began = time.monotonic()
    result = call()
    return result, time.monotonic() - began


def _workspace(fake: FakeSlack) -> None:
    for user_id, name in (("U00000A1", "ann"), ("U00000A2", "bob")):
        fake.add_user(user_id, name=name)
    fake.add_group(DESIGN, "design", "Design team", ["U00000A1", "U00000A2"])


def _typeahead(bot: BotProcess, text: str = "des") -> tuple[int, Any]:
    return bot.interact(slack.options_payload("groups", "groups", text, user_id=GLOBAL_ADMIN))


def _labels(body: Any) -> list[str]:
    return [o["text"]["text"] for o in body["options"]]


def test_a_rate_limited_cold_directory_never_freezes_the_server(fake_slack: FakeSlack, sqlite_url: str) -> None:
    """Issue 10, defect 1: usergroups.list answers 429 Retry-After: 10 at start; 20 typeaheads in flight."""
    _workspace(fake_slack)
    seed_catalog(sqlite_url)
    fake_slack.rate_limit_next("usergroups.list", retry_after=10)
    with BotProcess(fake_slack, sqlite_url, wait_for_directory=False) as bot:
        fake_slack.wait_for("usergroups.list", predicate=lambda c: c.status == 429)
        with ThreadPoolExecutor(max_workers=22) as pool:
            typeaheads = [pool.submit(timed, lambda: _typeahead(bot)) for _ in range(20)]
            time.sleep(0.1)  # the typeaheads are in flight
            listed = pool.submit(timed, lambda: bot.command("list"))
            health = pool.submit(timed, bot.healthz)
            (status, ack), list_took = listed.result()
            healthz, health_took = health.result()
            answers = [future.result() for future in typeaheads]
        assert status == 200 and "Contoso CRM" in ack["text"] and list_took < 3
        assert healthz == 200 and health_took < 3
        for (status, body), took in answers:
            assert status == 200 and took < 3
            assert _labels(body) == [LOADING]
        # a command that needs the directory says so at once, and does nothing
        (status, ack), took = timed(lambda: bot.command("assign contoso @design"))
        assert status == 200 and STILL_LOADING in ack["text"] and took < 3
        assert not fake_slack.calls_to("views.open")
        # the load waits out Retry-After in the background, once; then the typeahead finds the group
        deadline = time.monotonic() + 30
        while not any("directory loaded: groups" in line for line in bot.output):
            assert time.monotonic() < deadline, bot.output[-20:]
            time.sleep(0.05)
        status, body = _typeahead(bot)
        assert [o["value"] for o in body["options"]] == [DESIGN]
        assert [c.status for c in fake_slack.calls_to("usergroups.list")] == [429, 200]
        assert not [line for line in bot.output if "Traceback" in line]


def test_a_hung_group_listing_never_holds_a_request(fake_slack: FakeSlack, sqlite_url: str) -> None:
    """The same with a 40 s hang instead of a 429 (the client's timeout ends it in the background)."""
    _workspace(fake_slack)
    seed_catalog(sqlite_url)
    fake_slack.delay_next("usergroups.list", 40)
    with BotProcess(fake_slack, sqlite_url, wait_for_directory=False) as bot:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda _: timed(lambda: _typeahead(bot)), range(17)))
        assert all(status == 200 and took < 3 for (status, _), took in answers)
        assert timed(bot.healthz)[1] < 3
        (status, ack), took = timed(lambda: bot.command("list"))
        assert status == 200 and took < 3
        assert len(fake_slack.calls_to("usergroups.list")) == 0  # still hanging: one call, not yet answered
        assert fake_slack.faults_left("usergroups.list") == 0
