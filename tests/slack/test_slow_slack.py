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


TOLD = "Slack did not answer in time, so the form did not open"


def _told(fake: FakeSlack, key: str, timeout: float = 10) -> str:
    [call] = fake.wait_for("response_url", timeout=timeout, predicate=lambda c: c.args.get("_key") == key)
    return str(call.args.get("text"))


def test_a_hung_views_open_is_told_and_holds_nobody_else(bot: BotProcess) -> None:
    """Issue 10, defect 5: views.open hangs 15 s for five people at once (more than the lane's workers)."""
    fake = bot.fake
    fake.delay_next("views.open", 15, times=5)
    began = time.monotonic()
    for n in range(5):
        status, ack = bot.command("seats contoso", response_url=fake.response_url(f"hung-{n}"))
        assert status == 200
    (status, ack), took = timed(lambda: bot.command("list", user_id="U0ANN001"))
    assert status == 200 and "Contoso CRM" in ack["text"] and took < 3  # someone else's command answers
    for n in range(5):
        assert TOLD in _told(fake, f"hung-{n}")
    assert time.monotonic() - began < 8  # each waited 2 s at most, not 15
    # the lane is free again: the next person's form opens
    bot.command("seats contoso", response_url=fake.response_url("after"))
    [opened] = fake.wait_for("views.open", timeout=10, predicate=lambda c: c.status == 200 and c.response["ok"])
    assert opened.response["view"]["title"]["text"]
    assert not [line for line in bot.output if "Traceback" in line]


def test_a_long_retry_after_on_views_open_is_told_not_slept(bot: BotProcess) -> None:
    """Retry-After: 30 outlives the trigger (3 s): no retry, no worker asleep, the person told at once."""
    fake = bot.fake
    fake.rate_limit_next("views.open", retry_after=30)
    (status, _), _took = timed(lambda: bot.command("seats contoso", response_url=fake.response_url("limited")))
    assert status == 200
    text = _told(fake, "limited", timeout=3)
    assert "ratelimited" in text and "Nothing was changed" in text
    assert [c.status for c in fake.calls_to("views.open")] == [429]


def test_a_short_retry_after_on_views_open_is_retried_within_the_trigger_s_life(bot: BotProcess) -> None:
    fake = bot.fake
    fake.rate_limit_next("views.open", retry_after=1)
    bot.command("seats contoso")
    calls = fake.wait_for("views.open", count=2, timeout=5)
    assert [c.status for c in calls] == [429, 200]


def test_a_membership_event_is_applied_while_chat_post_message_hangs(fake_slack: FakeSlack, sqlite_url: str) -> None:
    """Issue 10, defect 7 (the outbox moved DMs off the events lane): DMs hang 30 s in chat.postMessage,
    and a member who joins a licensed group is seated at once all the same."""
    from tests.slack.test_groups import ANN, BOB, CAT, CONTOSO, DAN, Seeder, change_design, eventually
    from tests.support.slack_e2e import seat_waiters

    for user_id, name in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat"), (DAN, "dan")):
        fake_slack.add_user(user_id, name=name)
    fake_slack.add_group(DESIGN, "design", "Design team", [ANN, BOB, CAT])
    seed_catalog(sqlite_url)
    seeder = Seeder(sqlite_url, fake_slack)
    try:
        seeder.assign(CONTOSO, groups=[DESIGN])
        fake_slack.delay_next("chat.postMessage", 30, times=40)
        with BotProcess(fake_slack, sqlite_url) as bot:
            seat_waiters(sqlite_url, [f"U0WAIT{n:03d}" for n in range(12)])  # 12 DMs into the outbox
            deadline = time.monotonic() + 10
            while fake_slack.faults_left("chat.postMessage") == 40:  # a worker's batch of DMs hangs in Slack
                assert time.monotonic() < deadline, (fake_slack.faults_left("chat.postMessage"), bot.output[-30:])
                time.sleep(0.05)
            (status, _), took = timed(lambda: change_design(fake_slack, bot, [ANN, BOB, CAT, DAN], "EvJoinWhileDMsHang"))
            assert status == 200 and took < 3
            began = time.monotonic()
            assert eventually(lambda: seeder.seated(CONTOSO), [ANN, BOB, CAT, DAN], timeout=5) == [ANN, BOB, CAT, DAN]
            assert time.monotonic() - began < 3
            assert len(fake_slack.calls_to("chat.postMessage")) == 0  # the DMs are still hanging meanwhile
            fake_slack.clear_faults()
    finally:
        seeder.engine.dispose()


def test_a_trigger_that_waited_past_its_life_is_not_sent_to_slack(bot: BotProcess) -> None:
    """Twelve opens while Slack hangs: the lane's 4 workers take 2 s each, so the last four triggers have
    waited 4 s (past the 3 s Slack gives them): they are told without a views.open that could only fail."""
    fake = bot.fake
    fake.delay_next("views.open", 15, times=12)
    for n in range(12):
        assert bot.command("seats contoso", response_url=fake.response_url(f"queued-{n}"))[0] == 200
    for n in range(12):
        assert TOLD in _told(fake, f"queued-{n}", timeout=15)
    # 4 calls at once, each given up after 2 s; the 4 queued after them too (waited 2 s: the trigger may
    # live); at least the last 4 never made (on a loaded machine the second four may be skipped as well)
    assert 4 <= fake.faults_left("views.open") <= 8
    assert any("views.open not tried: the trigger waited" in line for line in bot.output)


def test_a_hung_views_update_after_a_pick_is_logged_not_raised(bot: BotProcess) -> None:
    """The assign modal redraws after a pick (views.update, no trigger): a hang ends after 2 s, quietly."""
    from tests.slack.test_assign import pick

    fake = bot.fake
    bot.command("assign contoso")
    [opened] = fake.wait_for("views.open")
    view = fake.views[opened.response["view"]["id"]]
    fake.delay_next("views.update", 15)
    assert pick(bot, view, {"Users": ["U0ANN001"]}) == 200
    deadline = time.monotonic() + 6
    while not any("views.update of the assign modal failed" in line for line in bot.output):
        assert time.monotonic() < deadline, bot.output[-20:]
        time.sleep(0.05)
    assert not [line for line in bot.output if "Traceback" in line]


def test_past_the_backlog_a_command_is_answered_busy_at_once_and_the_form_opens_later(
        fake_slack: FakeSlack, sqlite_url: str) -> None:
    """LICENSEBOT_INTERACTIVE_BACKLOG: with two forms already waiting to open (views.open hanging), the third
    command is told "busy" in its own ack, nothing is queued for it, and once the lane drains forms open again."""
    seed_catalog(sqlite_url)
    fake_slack.delay_next("views.open", 1.5, times=2)
    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_INTERACTIVE_BACKLOG": "2"}) as bot:
        for n in range(2):
            status, ack = bot.command("seats contoso", response_url=fake_slack.response_url(f"wait-{n}"))
            assert status == 200 and not ack  # acked empty: the form is on its way
        (status, ack), took = timed(lambda: bot.command("seats contoso"))
        assert status == 200 and took < 1.0
        assert ack["text"] == (":hourglass: Licensebot is busy opening other forms right now. Nothing was changed; "
                               "please try again in a moment.")
        opened = fake_slack.wait_for("views.open", 2, timeout=10, predicate=lambda c: c.status == 200)
        assert len(opened) == 2  # the two that waited opened (slowly); the busy one was never queued
        time.sleep(0.3)  # their workers are done: the lane is empty again
        status, ack = bot.command("seats contoso")
        assert status == 200 and not ack
        fake_slack.wait_for("views.open", 3, timeout=10, predicate=lambda c: c.status == 200)
        assert any("answered busy" in line for line in bot.output)
