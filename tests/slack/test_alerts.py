"""Alerts end to end: an assignment made in Slack that crosses the low-license threshold posts the alert to
LICENSEBOT_ALERTS_CHANNEL (through the outbox), once; its "Add or remove licenses" opens the seats modal for a
billing admin and is refused for anyone else; without the channel, billing and global admins get a DM each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.fake_slack.wire import Call
from tests.support.slack_e2e import CLI, join_waitlist, open_view, service_on, submit, texts

pytestmark = pytest.mark.e2e

CHANNEL = "CALERTS01"
BILLING = "UBILLADM"
LICENSER = "ULICADM1"
HOLDERS = ["U0ANN001", "U0BEN001", "U0CID001"]
NEWCOMER = "U0DAN001"
CATALOG = """
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 5
    purchased_via: marketplace
    low_seat_threshold: 1
  - name: Fabrikam Design
    vendor: Fabrikam
    seats: 3
    purchased_via: provider
    provider_contact: reseller@fabrikam.example
"""


def seeded(url: str) -> None:
    """Contoso CRM: 3 of 5 assigned (2 available, the alert at 1); a billing admin and a license admin."""
    seed_catalog(url, CATALOG)
    with service_on(url) as service:
        service.assignments.assign(CLI, "Contoso CRM", HOLDERS)
        service.roles.grant(CLI, BILLING, "billing-admin")
        service.roles.grant(CLI, LICENSER, "license-admin")


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seeded(sqlite_url)
    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_ALERTS_CHANNEL": CHANNEL}) as process:
        yield process


def assign_in_slack(bot: BotProcess, user_id: str, app: str = "contoso", as_who: str = LICENSER) -> None:
    view = open_view(bot, f"assign {app} <@{user_id}>", as_who)
    status, ack = submit(bot, view, as_who, {})
    assert status == 200 and ack["response_action"] == "update", ack


def alerts_to(fake: FakeSlack, channel: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
    return fake.wait_for("chat.postMessage", count, timeout=timeout,
                         predicate=lambda c: c.args.get("channel") == channel and "running low" in str(c.args))


def drained(url: str, timeout: float = 10.0) -> None:
    """Waits until serve's deliverer has sent everything the outbox holds."""
    deadline = time.monotonic() + timeout
    with service_on(url) as service:
        while service.outbox.queued():
            assert time.monotonic() < deadline, "the outbox was not emptied"
            time.sleep(0.05)


def posted(fake: FakeSlack, channel: str) -> dict[str, Any]:
    """The live message the bot posted in a channel (as `fake.messages` holds it)."""
    [message] = [m for (where, _ts), m in fake.messages.items() if where == channel]
    return message


def test_crossing_the_threshold_posts_one_alert_to_the_channel_with_its_numbers(bot: BotProcess) -> None:
    assign_in_slack(bot, NEWCOMER)  # 4 of 5: 1 available, the threshold
    [call] = alerts_to(bot.fake, CHANNEL)
    shown = texts(call.args["blocks"])
    assert "*Contoso CRM* is running low on licenses: 1 available (alert at 1 or fewer)" in shown
    assert "4 assigned / 1 available / 5 total" in shown
    assert call.args["text"].startswith(":warning: *Contoso CRM*")  # the notification's words
    assign_in_slack(bot, "U0EVE001")  # 0 available: still the same crossing
    drained(bot.database_url)
    assert len(alerts_to(bot.fake, CHANNEL)) == 1
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") in (BILLING, GLOBAL_ADMIN)]


def test_the_alerts_button_opens_the_seats_modal_for_a_billing_admin_and_refuses_others(bot: BotProcess) -> None:
    assign_in_slack(bot, NEWCOMER)
    alerts_to(bot.fake, CHANNEL)
    message = posted(bot.fake, CHANNEL)
    opened_before = len(bot.fake.calls_to("views.open"))

    payload = slack.button_click_payload(message, "Add or remove licenses", user_id=BILLING, channel_id=CHANNEL,
                                         trigger_id="trig-billing")
    status, _ = bot.interact(payload)
    assert status == 200
    call = bot.fake.wait_for("views.open", opened_before + 1)[-1]
    assert call.response.get("ok"), call.response
    view = call.response["view"]
    assert view["title"]["text"] == "Add or remove licenses" and view["submit"]["text"] == "Save"
    assert "4 assigned / 1 available / 5 total" in texts(view)

    payload = slack.button_click_payload(message, "Add or remove licenses", user_id=LICENSER, channel_id=CHANNEL,
                                         trigger_id="trig-licenser")
    status, _ = bot.interact(payload)
    assert status == 200
    [refusal] = bot.fake.wait_for("chat.postEphemeral", 1, predicate=lambda c: c.args.get("user") == LICENSER)
    assert refusal.args["channel"] == CHANNEL and "billing" in refusal.args["text"].lower()
    assert len(bot.fake.calls_to("views.open")) == opened_before + 1  # no modal for the license admin


def test_without_a_channel_each_billing_and_global_admin_gets_a_dm(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seeded(sqlite_url)
    with BotProcess(fake_slack, sqlite_url) as bot:
        assign_in_slack(bot, NEWCOMER)
        [to_billing] = alerts_to(fake_slack, BILLING)
        [to_global] = alerts_to(fake_slack, GLOBAL_ADMIN)
        assert "*Contoso CRM* is running low" in to_billing.args["text"]
        assert "Add or remove licenses" in str(to_billing.args["blocks"]) and to_global.args["text"]
        assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == LICENSER]


def test_the_channel_reads_the_default_language(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seeded(sqlite_url)
    env = {"LICENSEBOT_ALERTS_CHANNEL": CHANNEL, "LICENSEBOT_DEFAULT_LOCALE": "fr"}
    with BotProcess(fake_slack, sqlite_url, env=env) as bot:
        assign_in_slack(bot, NEWCOMER)
        [call] = fake_slack.wait_for("chat.postMessage", 1, timeout=10.0,
                                     predicate=lambda c: c.args.get("channel") == CHANNEL)
        shown = texts(call.args["blocks"])
        assert "*Contoso CRM* va manquer de licences : 1 disponible (alerte à 1 ou moins)" in shown
        assert "Ajouter ou supprimer des licences" in str(call.args["blocks"])
        # a channel has no Slack locale to ask for
        assert all(c.args.get("user") != CHANNEL for c in fake_slack.calls_to("users.info"))


def test_a_renewal_alert_is_posted_once_by_serve_then_never_again_by_the_cli_or_a_restart(
        fake_slack: FakeSlack, sqlite_url: str) -> None:
    """serve runs the life cycle at start; `licensebot lifecycle run` beside it and a restarted serve find the
    milestone already told (its row was written with the outbox message): one post in all."""
    import datetime as dt

    from tests.cli.test_cli import licensebot

    renewal = dt.date.today() + dt.timedelta(days=30)
    seed_catalog(sqlite_url, f"""
apps:
  - name: Northwind BI
    vendor: Northwind
    seats: 10
    purchased_via: marketplace
    renewal_date: {renewal.isoformat()}
""")
    env = {"LICENSEBOT_ALERTS_CHANNEL": CHANNEL}

    def renewals() -> list[Call]:
        return [c for c in fake_slack.calls_to("chat.postMessage")
                if c.args.get("channel") == CHANNEL and "renews on" in str(c.args.get("text"))]

    with BotProcess(fake_slack, sqlite_url, env=env) as bot:
        [call] = fake_slack.wait_for("chat.postMessage", 1, timeout=10.0, predicate=lambda c: c in renewals())
        assert call.args["text"].startswith(":calendar: *Northwind BI* renews on")
        assert "in 30 days" in call.args["text"]
        run = licensebot("lifecycle", "run", "--json", database_url=sqlite_url, env=env)
        assert run.returncode == 0, run.stderr
        assert '"renewal-alerts": 0' in run.stdout
        drained(bot.database_url)
    with BotProcess(fake_slack, sqlite_url, env=env) as again:
        deadline = time.monotonic() + 10.0
        while not any("lifecycle (at start)" in line for line in again.output):  # its run at start is done
            assert time.monotonic() < deadline, "the restarted bot did not run the life cycle"
            time.sleep(0.05)
        assert any("'renewal-alerts': 0" in line for line in again.output)
        drained(again.database_url)
    assert len(renewals()) == 1



def waiting_alerts(fake: FakeSlack, to: str, count: int = 1) -> list[Call]:
    return fake.wait_for("chat.postMessage", count, timeout=10.0,
                         predicate=lambda c: c.args.get("channel") == to and "People are waiting" in str(c.args))


def test_people_waiting_post_one_alert_per_crossing_and_again_after_it_clears(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    """A group's members join Contoso CRM beyond its 2 free seats, through another process (the CLI's
    service: the alert goes into the outbox in its transaction, and serve delivers it). No alerts channel
    in either process: the billing admin gets a DM (the global admins are those of the process that wrote
    the alert, and this one names none)."""
    seeded(sqlite_url)
    with BotProcess(fake_slack, sqlite_url) as bot:
        join_waitlist(sqlite_url, ["U0W00001", "U0W00002", "U0W00003"], app="Contoso CRM")  # 1 waits
        [call] = waiting_alerts(bot.fake, BILLING)
        assert "People are waiting for a license of *Contoso CRM*: 1 waiting." in call.args["text"]
        assert "5 assigned / 0 available / 5 total" in texts(call.args["blocks"])

        join_waitlist(sqlite_url, ["U0W00004"], app="Contoso CRM")  # 2 wait: the same crossing
        drained(sqlite_url)
        assert len(waiting_alerts(bot.fake, BILLING)) == 1

        with service_on(sqlite_url) as service:  # seats for both: nobody waits, the alert re-arms
            service.assignments.set_seats(CLI, "Contoso CRM", 7)
        join_waitlist(sqlite_url, ["U0W00005"], app="Contoso CRM")  # waits again: a new crossing
        second = waiting_alerts(bot.fake, BILLING, 2)[-1]
        assert "People are waiting for a license of *Contoso CRM*: 1 waiting." in second.args["text"]
