"""End to end: `/licenses request` → the approvers' DMs with "Approve" / "Deny" → the decision, told to the
requester and shown on every copy; expiry and reminders from `licensebot requests expire` and from `serve`.

The bot runs as a process against the fake Slack; the database is read through the real services."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.requests import RequestService
from bot.service import LicensingService
from handlers.main import main as licensebot
from storage.db import make_engine
from storage.uow import UnitOfWorkFactory
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import Call, FakeSlack

pytestmark = pytest.mark.e2e

ANN, BOB, CAT = "U00000A1", "U00000A2", "U00000A3"
LICENSE_ADMIN = "ULICADM1"
OUTSIDER = "UOUTSID1"
TTL_HOURS = 48


@pytest.fixture
def db(sqlite_url: str) -> Iterator[tuple[LicensingService, RequestService]]:
    """The bot's database, read and prepared through the real services."""
    engine = make_engine(sqlite_url)
    seed_catalog(sqlite_url)
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), request_ttl_hours=TTL_HOURS)
    service.roles.grant(Actor.cli(), LICENSE_ADMIN, "license-admin")
    yield service, service.requests
    engine.dispose()


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str, db: Any) -> Iterator[BotProcess]:
    for user_id in (ANN, BOB, CAT, LICENSE_ADMIN, OUTSIDER, GLOBAL_ADMIN):
        fake_slack.add_user(user_id)
    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_REQUEST_TTL_HOURS": str(TTL_HOURS)}) as process:
        yield process


# ------------------------------------------------------------------ driving Slack
def file_request(bot: BotProcess, user_id: str, app: str, reason: str | None = None) -> Any:
    """`/licenses request APP`, then the modal submitted (with a reason, or left empty)."""
    before = len(bot.fake.calls_to("views.open"))
    status, ack = bot.command(f"request {app}", user_id=user_id)
    assert status == 200 and ack is None, ack
    call = bot.fake.wait_for("views.open", before + 1)[-1]
    view = bot.fake.views[call.response["view"]["id"]]
    payload = slack.view_submission_payload(view, user_id, slack.view_state(view, {"Reason": reason}))
    status, ack = bot.interact(payload)
    assert status == 200
    return ack


def has_button(call: Call, text: str) -> bool:
    try:
        slack.find_button(call.args.get("blocks") or [], text)
        return True
    except LookupError:
        return False


def copies(fake: FakeSlack, count: int) -> dict[str, dict[str, Any]]:
    """The approval messages posted so far, by channel (their live state: updates show)."""
    calls = fake.wait_for("chat.postMessage", count, predicate=lambda c: has_button(c, "Approve"))
    return {c.response["channel"]: fake.messages[(c.response["channel"], c.response["ts"])] for c in calls}


def words(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, joined."""
    parts = []
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts.extend(e.get("text", "") for e in block.get("elements") or [] if block["type"] == "context")
    return "\n".join(parts)


def click(bot: BotProcess, message: dict[str, Any], button: str, user_id: str, channel: str, key: str) -> int:
    payload = slack.button_click_payload(message, button, user_id=user_id, channel_id=channel,
                                         response_url=bot.fake.response_url(key))
    status, _ = bot.interact(payload)
    return status


def told(fake: FakeSlack, key: str, count: int = 1) -> list[str]:
    """What was said to a clicker through the response_url of `key`."""
    calls = fake.wait_for("response_url", count, predicate=lambda c: c.args["_key"] == key)
    return [c.args.get("text", "") for c in calls]


def dms_to(fake: FakeSlack, user_id: str, count: int = 1) -> list[str]:
    calls = fake.wait_for("chat.postMessage", count, predicate=lambda c: c.args.get("channel") == user_id
                          and not has_button(c, "Approve"))
    return [c.args.get("text", "") for c in calls]


def actions(service: LicensingService, action: str) -> list[Any]:
    return [e for e in service.audit.export(Actor.cli()) if e.action == action]


# ------------------------------------------------------------------ the flows
def wait_for_updates(bot: BotProcess, copies_by_channel: dict[str, Any]) -> None:
    """Each approver's copy updated at least once. A copy still being recorded when the decision lands
    is updated by the notifier too, so a channel may see two updates: count per channel, not in all."""
    for channel in copies_by_channel:
        bot.fake.wait_for("chat.update", 1, predicate=lambda call, ch=channel: call.args.get("channel") == ch)


def test_request_then_approve(bot: BotProcess, db: Any) -> None:
    service, requests = db
    ack = file_request(bot, ANN, "contoso", "For the <!channel> Q3 pipeline")
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Request sent"

    sent = copies(bot.fake, 2)
    assert sorted(sent) == ["D" + GLOBAL_ADMIN, "D" + LICENSE_ADMIN]  # every approver but nobody else
    text = words(sent["D" + LICENSE_ADMIN])
    assert f"<@{ANN}> asks for a license of *Contoso CRM*" in text
    assert "For the &lt;!channel&gt; Q3 pipeline" in text  # shown as typed, never pinging a channel
    assert "5 available of 5" in text
    slack.find_button(sent["D" + LICENSE_ADMIN], "Deny")

    assert click(bot, sent["D" + LICENSE_ADMIN], "Approve", LICENSE_ADMIN, "D" + LICENSE_ADMIN, "a1") == 200
    [note] = dms_to(bot.fake, ANN)
    assert f"approved by <@{LICENSE_ADMIN}>" in note
    wait_for_updates(bot, sent)
    for message in copies(bot.fake, 2).values():  # every copy shows the outcome and who decided
        assert f"*Approved* by <@{LICENSE_ADMIN}>" in words(message)
        with pytest.raises(LookupError):
            slack.find_button(message, "Approve")
    assert service.catalog.holds(ANN, "Contoso CRM")
    assert len(actions(service, "request.create")) == len(actions(service, "request.approve")) == 1
    status, mine = bot.command("mine", user_id=ANN)
    assert "*Contoso CRM* (assigned to you)" in mine["text"] and "pending" not in mine["text"]


def test_deny_with_a_reason(bot: BotProcess, db: Any) -> None:
    service, requests = db
    file_request(bot, ANN, "fabrikam")
    sent = copies(bot.fake, 2)
    assert "_No reason given._" in words(sent["D" + GLOBAL_ADMIN])

    click(bot, sent["D" + GLOBAL_ADMIN], "Deny", GLOBAL_ADMIN, "D" + GLOBAL_ADMIN, "d1")
    call = bot.fake.wait_for("views.open", 2)[-1]
    view = bot.fake.views[call.response["view"]["id"]]
    assert (view["title"]["text"], view["submit"]["text"]) == ("Deny request", "Deny")
    payload = slack.view_submission_payload(view, GLOBAL_ADMIN, slack.view_state(view, {"Reason": "No budget left"}))
    status, ack = bot.interact(payload)
    assert status == 200 and ack["view"]["title"]["text"] == "Request denied"

    [note] = dms_to(bot.fake, ANN)
    assert f"denied by <@{GLOBAL_ADMIN}>" in note and "No budget left" in note
    wait_for_updates(bot, sent)
    for message in copies(bot.fake, 2).values():
        assert f"*Denied* by <@{GLOBAL_ADMIN}>" in words(message) and "No budget left" in words(message)
    assert not service.catalog.holds(ANN, "Fabrikam Design")
    [entry] = actions(service, "request.deny")
    assert entry.detail["reason"] == "No budget left"


def test_a_non_approver_clicking_changes_nothing(bot: BotProcess, db: Any) -> None:
    service, requests = db
    file_request(bot, ANN, "contoso")
    sent = copies(bot.fake, 2)
    before = list(service.audit.export(Actor.cli()))

    click(bot, sent["D" + GLOBAL_ADMIN], "Approve", OUTSIDER, "D" + GLOBAL_ADMIN, "x1")
    click(bot, sent["D" + GLOBAL_ADMIN], "Deny", OUTSIDER, "D" + GLOBAL_ADMIN, "x2")

    assert "You need to be" in told(bot.fake, "x1")[0] and "approve requests" in told(bot.fake, "x1")[0]
    assert "You need to be" in told(bot.fake, "x2")[0]
    assert len(bot.fake.calls_to("views.open")) == 1  # the request modal only: no "Deny request" for them
    assert [r.requester for r in requests.pending(Actor.cli())] == [ANN]
    assert not service.catalog.holds(ANN, "Contoso CRM")
    assert list(service.audit.export(Actor.cli())) == before
    assert not bot.fake.calls_to("chat.update")


def test_two_approvers_at_once_and_a_retried_click_decide_once(bot: BotProcess, db: Any) -> None:
    service, requests = db
    file_request(bot, ANN, "contoso")
    sent = copies(bot.fake, 2)
    clicks = [(GLOBAL_ADMIN, "r1"), (LICENSE_ADMIN, "r2")]
    payloads = [slack.button_click_payload(sent["D" + who], "Approve", user_id=who, channel_id="D" + who,
                                           response_url=bot.fake.response_url(key)) for who, key in clicks]
    payloads.append(payloads[1])  # Slack redelivers the second click
    start = threading.Barrier(len(payloads))
    statuses: list[int] = []

    def send(payload: dict[str, Any]) -> None:
        start.wait()
        statuses.append(bot.interact(payload)[0])

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert statuses == [200, 200, 200]
    [note] = dms_to(bot.fake, ANN)
    winner = GLOBAL_ADMIN if f"approved by <@{GLOBAL_ADMIN}>" in note else LICENSE_ADMIN
    answers = [c.args["text"] for c in bot.fake.wait_for("response_url", 2)]  # the two that lost
    assert all(f"This request was already approved by <@{winner}>." in text for text in answers), answers
    assert service.catalog.app("Contoso CRM").assigned == 1
    assert len(actions(service, "request.approve")) == 1
    assert service.catalog.licenses_of(ANN)[0].sources == [("user", ANN)]
    assert len(dms_to_requester(bot.fake, ANN)) == 1


def test_a_requester_cannot_approve_their_own_request(bot: BotProcess, db: Any) -> None:
    service, requests = db
    file_request(bot, LICENSE_ADMIN, "contoso")
    [copy] = copies(bot.fake, 1).values()  # to the other approver only
    assert bot.fake.wait_for("chat.postMessage", 1)[0].args["channel"] == GLOBAL_ADMIN

    status, listed = bot.command("requests", user_id=LICENSE_ADMIN)
    assert f"<@{LICENSE_ADMIN}> asks for *Contoso CRM*" in words(listed)
    message = {"type": "message", "ts": "1700000099.000100", "text": listed["text"], "blocks": listed["blocks"]}
    payload = slack.button_click_payload(message, "Approve", user_id=LICENSE_ADMIN, channel_id="C1",
                                         response_url=bot.fake.response_url("own"))
    payload["container"]["is_ephemeral"] = True
    bot.interact(payload)

    assert "can't approve your own request" in told(bot.fake, "own")[0]
    assert not service.catalog.holds(LICENSE_ADMIN, "Contoso CRM") and not actions(service, "request.approve")
    click(bot, copy, "Approve", GLOBAL_ADMIN, "D" + GLOBAL_ADMIN, "other")
    assert f"approved by <@{GLOBAL_ADMIN}>" in dms_to(bot.fake, LICENSE_ADMIN)[0]


def test_approving_with_no_seat_left_tells_the_approver_and_changes_nothing(bot: BotProcess, db: Any) -> None:
    service, requests = db
    service.assignments.assign(Actor.cli(), "Fabrikam Design", [BOB, CAT, OUTSIDER])  # 3 of 3: provider-bought
    file_request(bot, ANN, "Fabrikam", "urgent")
    sent = copies(bot.fake, 2)
    assert "0 available of 3 — none left" in words(sent["D" + GLOBAL_ADMIN])
    before = list(service.audit.export(Actor.cli()))

    click(bot, sent["D" + GLOBAL_ADMIN], "Approve", GLOBAL_ADMIN, "D" + GLOBAL_ADMIN, "full")

    [answer] = told(bot.fake, "full")
    assert "Not enough licenses: 1 needed, 0 available" in answer
    assert "reseller@fabrikam.example" in answer and "still pending" in answer
    assert list(service.audit.export(Actor.cli())) == before
    assert requests.get(requests.pending_of(ANN)[0].id).pending
    assert not bot.fake.calls_to("chat.update") and not dms_to_requester(bot.fake, ANN)


def dms_to_requester(fake: FakeSlack, user_id: str) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == user_id]


def test_duplicates_and_held_apps_get_a_clear_answer(bot: BotProcess, db: Any) -> None:
    service, requests = db
    service.assignments.assign(Actor.cli(), "Contoso CRM", [BOB])
    status, ack = bot.command("request contoso", user_id=BOB)
    assert "You already hold a license of Contoso CRM" in ack["text"]
    status, ack = bot.command("request nosuchapp", user_id=BOB)
    assert 'No app is called "nosuchapp"' in ack["text"]

    bot.command("request contoso", user_id=ANN)
    call = bot.fake.wait_for("views.open")[-1]
    view = bot.fake.views[call.response["view"]["id"]]
    payload = slack.view_submission_payload(view, ANN, slack.view_state(view, {"Reason": "twice"}))
    first, second = bot.interact(payload), bot.interact(payload)  # a double submit
    assert first[1]["view"]["title"]["text"] == second[1]["view"]["title"]["text"] == "Request sent"
    status, ack = bot.command("request Contoso CRM", user_id=ANN)
    assert "You already asked for Contoso CRM" in ack["text"]
    assert len(bot.fake.calls_to("views.open")) == 1
    copies(bot.fake, 2)
    assert len(requests.pending_of(ANN)) == 1 and len(actions(service, "request.create")) == 1
    assert len([c for c in bot.fake.calls_to("chat.postMessage") if has_button(c, "Approve")]) == 2


def test_pending_lists(bot: BotProcess, db: Any) -> None:
    file_request(bot, ANN, "contoso", "first")
    file_request(bot, BOB, "fabrikam")
    status, listed = bot.command("requests")
    assert status == 200
    text = words(listed)
    assert text.index(f"<@{ANN}> asks for *Contoso CRM*") < text.index(f"<@{BOB}> asks for *Fabrikam Design*")
    status, refused = bot.command("requests", user_id=OUTSIDER)
    assert "You need to be" in refused["text"]
    status, mine = bot.command("mine", user_id=ANN)
    assert "*Your pending requests*" in mine["text"] and "*Contoso CRM* — asked" in mine["text"]


# ------------------------------------------------------------------ time
def test_the_expire_command_reminds_at_half_the_ttl_then_expires(
    bot: BotProcess, db: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`licensebot requests expire` needs no Slack token: it writes the messages, the running bot sends them."""
    service, requests = db
    file_request(bot, ANN, "contoso")
    sent = copies(bot.fake, 2)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LICENSEBOT_REQUEST_TTL_HOURS", str(TTL_HOURS))
    for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    filed = dt.datetime.now(dt.UTC)

    def expire_at(hours: float) -> list[str]:
        out = io.StringIO()
        with freeze_time(filed + dt.timedelta(hours=hours)):
            assert licensebot(["requests", "expire"], out) == 0
        return out.getvalue().strip().splitlines()

    told = "the running `licensebot serve` sends the messages"
    assert expire_at(TTL_HOURS / 2 - 0.1) == ["expired 0 request(s), reminded the approvers of 0 request(s)"]
    assert expire_at(TTL_HOURS / 2 + 0.1) == ["expired 0 request(s), reminded the approvers of 1 request(s)", told]
    assert expire_at(TTL_HOURS / 2 + 1) == ["expired 0 request(s), reminded the approvers of 0 request(s)"]
    reminders = bot.fake.wait_for("chat.postMessage", 2, predicate=lambda c: bool(c.args.get("thread_ts")))
    assert sorted(c.args["channel"] for c in reminders) == sorted(sent)
    assert all(f"<@{ANN}> is still waiting" in c.args["text"] for c in reminders)
    assert not dms_to_requester(bot.fake, ANN)

    assert expire_at(TTL_HOURS + 0.1) == ["expired 1 request(s), reminded the approvers of 0 request(s)", told]
    [note] = dms_to(bot.fake, ANN)
    assert "expired" in note and f"within {TTL_HOURS} hours" in note
    wait_for_updates(bot, sent)
    bot.fake.wait_for("chat.update", 4)  # refreshed for the reminder, then for the expiry
    for message in copies(bot.fake, 2).values():
        assert "*Expired*" in words(message)
    [entry] = actions(service, "request.expire")
    assert (entry.actor, entry.targets) == ("cli", [ANN])


def test_serve_expires_overdue_requests_on_its_schedule(fake_slack: FakeSlack, sqlite_url: str, db: Any) -> None:
    service, _ = db
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=TTL_HOURS + 1)
    then = LicensingService(service.kernel.uow, InMemoryDirectory(), clock=lambda: long_ago,
                            request_ttl_hours=TTL_HOURS)
    then.requests.create(Actor(ANN), "Contoso CRM", "filed before a restart")

    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_REQUEST_TTL_HOURS": str(TTL_HOURS)}):
        [note] = dms_to(fake_slack, ANN, 1)

    assert "Your request for *Contoso CRM* expired" in note
    [entry] = actions(service, "request.expire")
    assert entry.actor == fake_slack.bot_user_id


def test_what_the_cli_changes_while_no_bot_runs_is_told_when_one_starts(
    fake_slack: FakeSlack, sqlite_url: str, db: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service, _ = db
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=TTL_HOURS + 1)
    then = LicensingService(service.kernel.uow, InMemoryDirectory(), clock=lambda: long_ago,
                            request_ttl_hours=TTL_HOURS, global_admins=[GLOBAL_ADMIN])
    then.requests.create(Actor(ANN), "Contoso CRM", "filed while the bot was down")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LICENSEBOT_REQUEST_TTL_HOURS", str(TTL_HOURS))
    for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)

    assert licensebot(["requests", "expire"]) == 0
    assert licensebot(["outbox"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "expired 1 request(s), reminded the approvers of 0 request(s)"
    # two approvers' copies and the note for the requester from filing, then the expiry's three messages
    assert lines[2].startswith("waiting to be sent: 6, the oldest written ")
    assert not fake_slack.calls

    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_REQUEST_TTL_HOURS": str(TTL_HOURS)}):
        [note] = dms_to(fake_slack, ANN, 1)
        wait_for_updates_of(fake_slack, 2)
    assert "Your request for *Contoso CRM* expired" in note
    assert service.outbox.queued() == []


def wait_for_updates_of(fake: FakeSlack, count: int) -> None:
    fake.wait_for("chat.update", count)


def test_when_no_approver_can_be_reached_the_requester_is_told(bot: BotProcess, db: Any) -> None:
    _, requests = db
    bot.fake.fail_next("chat.postMessage", "channel_not_found", times=2)  # both approvers' copies
    file_request(bot, ANN, "contoso")

    [note] = dms_to(bot.fake, ANN)
    assert "is filed, but I could not reach the approvers" in note and "/licenses requests" in note
    assert requests.pending_of(ANN) and requests.copies(requests.pending_of(ANN)[0].id) == []
