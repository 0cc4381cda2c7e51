"""End to end: the outbox against a misbehaving Slack, with one `licensebot serve` shared by the tests.

- a 429 storm on chat.postMessage: every approver's copy arrives, Retry-After is honoured, and the
  listeners are never blocked (`/licenses list` answers inside 3 s throughout);
- a refusal that will not change is recorded on the message and dropped, never tried again;
- membership events never wait behind DMs: with every chat.postMessage hanging, an event is applied at once
  (issue 10, item 7)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.directory import Group
from bot.domain import Actor
from handlers.main import main as licensebot
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_e2e import seat_waiters, service_on

pytestmark = pytest.mark.e2e

REQUESTER = "UREQUEST"
LICENSE_ADMINS = ["ULICADM1", "ULICADM2", "ULICADM3", "ULICADM4"]
APPROVERS = sorted([GLOBAL_ADMIN, *LICENSE_ADMINS])
DESIGN, ANN, BOB, CAT, DAN = "SDESIGN1", "U00000A1", "U00000A2", "U00000A3", "U00000A4"


@dataclass
class Shared:
    fake: FakeSlack
    bot: BotProcess
    url: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'licensebot.db'}"
    seed_catalog(url)
    with service_on(url) as service:
        for admin in LICENSE_ADMINS:
            service.roles.grant(Actor.cli(), admin, "license-admin")
    with FakeSlack() as fake:
        for user_id in (REQUESTER, *APPROVERS, ANN, BOB, CAT, DAN):
            fake.add_user(user_id)
        fake.add_group(DESIGN, "design", "Design team", [ANN, BOB, CAT])
        with BotProcess(fake, url) as bot:
            yield Shared(fake, bot, url)


@pytest.fixture
def env(shared: Shared) -> Iterator[Shared]:
    """A clean slate for each test: no faults, no calls recorded, nothing left in the outbox."""
    yield shared
    shared.fake.clear_faults()
    until(lambda: not queued(shared.url), 30, "the outbox to empty after the test")
    shared.fake.reset_calls()


def until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def queued(url: str) -> int:
    with service_on(url) as service:
        return len(service.outbox.queued())


def file_request(bot: BotProcess, user_id: str, app: str) -> None:
    before = len(bot.fake.calls_to("views.open"))
    status, ack = bot.command(f"request {app}", user_id=user_id)
    assert status == 200 and ack is None, ack
    view = bot.fake.views[bot.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]]
    status, ack = bot.interact(slack.view_submission_payload(view, user_id, slack.view_state(view, {"Reason": None})))
    assert status == 200 and ack["view"]["title"]["text"] == "Request sent", ack


def copies(calls: list[Call]) -> list[Call]:
    return [c for c in calls if "Approve" in json.dumps(c.args.get("blocks") or [])]


# ------------------------------------------------------------------ 429
def test_a_429_storm_delays_the_copies_never_the_listeners_and_every_copy_arrives(env: Shared) -> None:
    fake, bot = env.fake, env.bot
    fake.rate_limit_next("chat.postMessage", retry_after=2, times=6)
    file_request(bot, REQUESTER, "contoso")

    answered: list[float] = []
    deadline = time.monotonic() + 30
    while len([c for c in copies(fake.calls_to("chat.postMessage")) if c.status == 200]) < len(APPROVERS):
        assert time.monotonic() < deadline, f"the copies did not all arrive: {fake._summary()}"
        started = time.monotonic()
        status, ack = bot.command("list")  # a listener thread: never waits for the outbox
        answered.append(time.monotonic() - started)
        assert status == 200 and "Contoso CRM" in ack["text"]
        time.sleep(0.2)

    assert max(answered) < 3.0, answered
    posts = fake.calls_to("chat.postMessage")
    limited = [c for c in posts if c.status == 429]
    assert len(limited) == 6
    delivered = [c for c in copies(posts) if c.status == 200]
    assert sorted(c.args["channel"] for c in delivered) == APPROVERS  # each approver once
    # Retry-After honoured: after a 429 answered at t, no new call before t + 2 s (calls already under way
    # when it was answered may land just after it)
    for refusal in limited:
        early = [c for c in posts if refusal.at + 0.5 < c.at < refusal.at + 2.0]
        assert early == [], f"called {early[0].at - refusal.at:.2f} s after a 429 asking for 2 s"
    assert not [c for c in fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == REQUESTER]


# ------------------------------------------------------------------ a refusal that will not change
def test_a_permanent_refusal_is_recorded_and_dropped_never_retried(
    env: Shared, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, bot = env.fake, env.bot
    fake.fail_next("chat.postMessage", "channel_not_found")  # the first copy (GLOBAL_ADMIN's, the lowest id)
    file_request(bot, REQUESTER, "fabrikam")
    until(lambda: len([c for c in copies(fake.calls_to("chat.postMessage")) if c.response.get("ok")]) >= 4, 15,
          "the other copies")
    until(lambda: not queued(env.url), 15, "the outbox to settle")
    time.sleep(2.5)  # longer than a first retry would wait

    refused = [c for c in fake.calls_to("chat.postMessage") if c.response.get("error") == "channel_not_found"]
    assert [c.args["channel"] for c in refused] == [APPROVERS[0]]
    assert sorted(c.args["channel"] for c in copies(fake.calls_to("chat.postMessage")) if c.response.get("ok")) == (
        APPROVERS[1:])
    assert len([c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == APPROVERS[0]]) == 1
    monkeypatch.setenv("DATABASE_URL", env.url)
    assert licensebot(["outbox", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 0 and status["dropped_last_day"] == 1
    [drop] = status["recent_drops"]
    assert (drop["kind"], drop["recipient"], drop["error"]) == ("request.copy", APPROVERS[0], "channel_not_found")
    assert any("outbox: dropped message" in line and "channel_not_found" in line for line in bot.output)
    # the other approvers got theirs, so the requester is not told that nobody could be reached
    assert not [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == REQUESTER]


# ------------------------------------------------------------------ events never behind DMs
def test_a_membership_event_is_applied_at_once_while_every_dm_hangs(env: Shared) -> None:
    fake, bot, url = env.fake, env.bot, env.url
    with service_on(url, [Group(DESIGN, "design", "Design team", (ANN, BOB, CAT))]) as service:
        service.assignments.assign(Actor.cli(), "Fabrikam Design", groups=[DESIGN])  # 3 seats: ann, bob, cat
    fake.delay_next("chat.postMessage", 8.0, times=12)  # Slack hangs on every message for a while
    seat_waiters(url, [f"UHANG{n:03d}" for n in range(8)])  # eight DMs, stuck behind a hanging Slack
    until(lambda: fake.faults_left("chat.postMessage") < 12, 10, "a DM to hang")

    version = fake._groups[DESIGN]["date_update"]
    fake.set_group_members(DESIGN, [BOB, CAT, DAN])  # ann leaves, dan joins
    started = time.monotonic()
    status, _ = bot.event({
        "type": "subteam_members_changed", "subteam_id": DESIGN, "team_id": "T0TEAM",
        "added_users": [DAN], "added_users_count": "1", "removed_users": [ANN], "removed_users_count": "1",
        "date_previous_update": version, "date_update": version + 1,
    }, "EvWhileHung1")
    assert status == 200

    with service_on(url) as service:
        until(lambda: service.catalog.details("Fabrikam Design").users == [BOB, CAT, DAN], 5, "the event")
    assert time.monotonic() - started < 3.0
    assert not [c for c in fake.calls_to("chat.postMessage") if c.status == 200]  # the DMs still hang


