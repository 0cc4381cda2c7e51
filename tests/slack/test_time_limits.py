"""End to end (issue 13): time-limited licenses through `licensebot serve` against the fake Slack — "Until"
in "Assign licenses" (a past day is a field error), a request "For how long" 30 days approved, the reminder
DM with "Request more time" and its click; and two `serve` processes on one PostgreSQL expiring each license
once (one audit entry, one DM)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine
from storage.uow import UnitOfWorkFactory
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_e2e import button_labels, open_view, opened, submit, texts

pytestmark = pytest.mark.e2e

ANN, BOB = "U00000A1", "U00000A2"
APP = "Contoso CRM"
CLI = Actor.cli()


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def service_at(url: str, days_ago: int = 0) -> tuple[Any, LicensingService]:
    """The bot's database through the real service, its clock `days_ago` days back (to leave licenses that
    are due now, as if they had been given then)."""
    engine = make_engine(url)

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    return engine, LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), clock=clock)


def read(url: str) -> LicensingService:
    return service_at(url)[1]


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    for user_id in (ANN, BOB, GLOBAL_ADMIN):
        fake_slack.add_user(user_id)
    seed_catalog(sqlite_url)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def dms(fake: FakeSlack, user_id: str, count: int = 1, timeout: float = 10.0, **match: str) -> list[Call]:
    def wanted(call: Call) -> bool:
        return call.args.get("channel") == user_id and all(w in texts(call.args.get("blocks") or [])
                                                            + str(call.args.get("text")) for w in match.values())
    return fake.wait_for("chat.postMessage", count, timeout=timeout, predicate=wanted)


# ------------------------------------------------------------------ "Until"
def test_an_admin_assigns_until_a_day_and_a_past_day_is_refused_on_the_field(
        bot: BotProcess, sqlite_url: str) -> None:
    view = open_view(bot, f"assign contoso <@{ANN}>")
    until = next(b for b in view["blocks"] if b.get("block_id") == "until")
    assert (until["label"]["text"], until["element"]["type"], until.get("optional")) == ("Until", "datepicker", True)
    assert "end after this day" in until["hint"]["text"]

    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    status, ack = submit(bot, view, answers={"Until": yesterday})
    assert status == 200 and ack["response_action"] == "errors"
    assert list(ack["errors"]) == ["until"] and "is in the past" in ack["errors"]["until"]
    assert read(sqlite_url).catalog.licenses_of(ANN) == []  # nothing assigned

    last = today() + dt.timedelta(days=10)
    status, ack = submit(bot, view, answers={"Until": last.isoformat()})
    assert status == 200 and ack["response_action"] == "update", ack
    assert "Until" in texts(ack["view"]) and "the licenses end after that day" in texts(ack["view"])
    service = read(sqlite_url)
    [held] = service.catalog.licenses_of(ANN)
    assert (held.app, held.until) == (APP, last)
    [entry] = [e for e in service.audit.export(CLI) if e.action == "assign"]
    assert entry.detail["until"] == last.isoformat()
    # the details modal, its "See all" list and /licenses mine show the end date
    details = open_view(bot, "show contoso")
    assert "(until " in texts(details)
    see_all = next(label for label in button_labels(details) if label.startswith("See all"))
    before = len(bot.fake.calls_to("views.push"))
    status, _ = bot.interact(slack.button_click_payload(details, see_all, user_id=GLOBAL_ADMIN))
    assert status == 200
    listed = texts(opened(bot.fake, "views.push", before))
    assert f"<@{ANN}> · direct (until {last:%b} {last.day}, {last.year}) · licensed" in listed, listed
    status, mine = bot.command("mine", user_id=ANN)
    assert status == 200 and f"*{APP}* (assigned to you) · until " in str(mine), mine


# ------------------------------------------------------------------ "For how long"
def test_a_request_for_30_days_approved_lasts_30_days(bot: BotProcess, sqlite_url: str) -> None:
    view = open_view(bot, "request contoso", user_id=ANN)
    block = next(b for b in view["blocks"] if b.get("block_id") == "duration")
    assert block["label"]["text"] == "For how long"
    assert [o["text"]["text"] for o in block["element"]["options"]] == ["7 days", "30 days", "90 days", "Permanently"]
    assert block["element"]["initial_option"]["value"] == "permanent"
    status, ack = submit(bot, view, ANN, answers={"For how long": "30 days"})
    assert status == 200 and ack["response_action"] == "update", ack

    copy = bot.fake.wait_for("chat.postMessage", 1, timeout=10,
                             predicate=lambda c: c.args.get("channel") == GLOBAL_ADMIN)[-1]
    assert "For how long:* 30 days" in texts(copy.args["blocks"])
    message = bot.fake.messages[(copy.response["channel"], copy.response["ts"])]
    payload = slack.button_click_payload(message, "Approve", user_id=GLOBAL_ADMIN,
                                         channel_id=copy.response["channel"], response_url=bot.fake.response_url("a"))
    assert bot.interact(payload)[0] == 200
    deadline = time.monotonic() + 10
    while not read(sqlite_url).catalog.licenses_of(ANN) and time.monotonic() < deadline:
        time.sleep(0.1)
    [held] = read(sqlite_url).catalog.licenses_of(ANN)
    assert held.until == today() + dt.timedelta(days=30)
    [told] = dms(bot.fake, ANN, text="was approved")
    assert "For how long:* 30 days" in told.args["text"]


# ------------------------------------------------------------------ the reminder and "Request more time"
def test_the_reminder_dm_and_request_more_time(fake_slack: FakeSlack, sqlite_url: str) -> None:
    for user_id in (ANN, GLOBAL_ADMIN):
        fake_slack.add_user(user_id)
    seed_catalog(sqlite_url)
    engine, past = service_at(sqlite_url, days_ago=20)  # given 20 days ago, ending tomorrow
    past.assignments.assign(CLI, APP, [ANN], until=today() + dt.timedelta(days=1))
    engine.dispose()
    with BotProcess(fake_slack, sqlite_url) as bot:  # its life cycle runs at start
        [call] = dms(fake_slack, ANN, text="ends on")
        assert "Your license of *Contoso CRM* ends on" in call.args["text"]
        assert "in 1 day" in texts(call.args["blocks"])
        message = fake_slack.messages[(call.response["channel"], call.response["ts"])]
        payload = slack.button_click_payload(message, "Request more time", user_id=ANN,
                                             channel_id=call.response["channel"],
                                             response_url=fake_slack.response_url("more"))
        assert bot.interact(payload)[0] == 200
        view = fake_slack.views[fake_slack.wait_for("views.open", 1)[-1].response["view"]["id"]]
        assert "You are asking for more time with *Contoso CRM*" in texts(view)
        status, ack = submit(bot, view, ANN, answers={"For how long": "30 days"})
        assert status == 200 and ack["response_action"] == "update", ack
        assert ack["view"]["title"]["text"] == "Request sent"
        service = read(sqlite_url)
        [pending] = service.requests.pending_of(ANN)
        assert pending.duration_days == 30
        service.requests.approve(CLI, pending.id)  # the operator approves
        assert service.catalog.licenses_of(ANN)[0].until == today() + dt.timedelta(days=30)
        time.sleep(0.5)
        assert len(dms(fake_slack, ANN, text="ends on")) == 1  # once


# ------------------------------------------------------------------ two processes
@pytest.mark.slow
def test_two_serve_processes_expire_each_license_once(fake_slack: FakeSlack, postgres_url: str) -> None:
    users = [f"U0EXP{n:04d}" for n in range(12)]
    for user_id in users:
        fake_slack.add_user(user_id)
    seed_catalog(postgres_url)
    engine, past = service_at(postgres_url, days_ago=5)
    past.assignments.set_seats(CLI, APP, 50)
    past.assignments.assign(CLI, APP, users, until=today() - dt.timedelta(days=2))
    engine.dispose()
    env = {"LICENSEBOT_LIFECYCLE_INTERVAL_MINUTES": "1"}
    bots = [BotProcess(fake_slack, postgres_url, env=env) for _ in range(2)]
    try:
        for bot in bots:
            bot.start()
        ended = fake_slack.wait_for("chat.postMessage", len(users), timeout=30,
                                    predicate=lambda c: "ended" in str(c.args.get("text")))
        time.sleep(2.0)  # anything still in flight lands now
    finally:
        for bot in bots:
            bot.stop()
    ended = [c for c in fake_slack.calls_to("chat.postMessage") if "ended" in str(c.args.get("text"))]
    assert Counter(c.args["channel"] for c in ended) == Counter(users)
    service = read(postgres_url)
    expired = [e for e in service.audit.export(CLI) if e.action == "assignment.expire"]
    assert Counter(e.targets[0] for e in expired) == Counter(users)
    assert service.catalog.app(APP).assigned == 0
