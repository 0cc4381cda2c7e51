""" "Keep or release?" end to end: `licensebot serve` against the fake Slack. `/licenses reclaim APP`, the
holders' DMs with "Keep my license" / "Release it", their clicks (and someone else's), the admin's summary; a
non-admin refused; the details modal's "Reclaim licenses" with "Only those idle for at least N days"; silence
released at the deadline by the lifecycle step (run here, as `licensebot lifecycle run` would)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

from bot.directory import Group
from bot.usage import UsageRow
from tests.slack.test_requests import click, has_button, told
from tests.support import slack_payloads as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_e2e import (
    CLI,
    app_state,
    audit_log,
    button_labels,
    open_view,
    opened,
    service_on,
    submit,
    texts,
)

pytestmark = pytest.mark.e2e

ANN, BOB, CAT = "U00000A1", "U00000A2", "U00000A3"
LICENSE_ADMIN = "ULICADM1"
DESIGN = Group("SDESIGN1", "design", "Design", (CAT,))


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    """Contoso CRM held directly by Ann and Bob, and by Cat through the Design group."""
    seed_catalog(sqlite_url)
    with service_on(sqlite_url, [DESIGN]) as service:
        service.roles.grant(CLI, LICENSE_ADMIN, "license-admin")
        service.assignments.assign(CLI, "Contoso CRM", [ANN, BOB], [DESIGN.id])
    for user_id in (ANN, BOB, CAT, LICENSE_ADMIN, GLOBAL_ADMIN):
        fake_slack.add_user(user_id)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def questions(fake: FakeSlack, count: int) -> dict[str, dict[str, Any]]:
    """The holders' questions posted so far, by holder, as they stand now."""
    calls = fake.wait_for("chat.postMessage", count, predicate=lambda c: has_button(c, "Keep my license"))
    return {c.args["channel"]: fake.messages[(c.response["channel"], c.response["ts"])] for c in calls}


def dm_to(fake: FakeSlack, user_id: str, words: str) -> Call:
    [call] = fake.wait_for("chat.postMessage", 1,
                           predicate=lambda c: c.args.get("channel") == user_id and words in c.args.get("text", ""))
    return call


def redrawn(fake: FakeSlack, key: str) -> dict[str, Any]:
    """The holder's DM as the click's response_url redrew it."""
    [call] = fake.wait_for("response_url", 1, predicate=lambda c: c.args["_key"] == key)
    assert call.args.get("replace_original") is True, call.args
    return call.args


def test_reclaim_asks_the_direct_holders_who_release_or_keep_and_the_admin_gets_the_summary(
        bot: BotProcess, sqlite_url: str) -> None:
    status, ack = bot.command("reclaim contoso", user_id=LICENSE_ADMIN)
    assert status == 200 and ack["response_type"] == "ephemeral"
    assert "Asked 2 holders of *Contoso CRM* whether they still use it." in ack["text"]
    assert f"Not asked, licensed through a group: <@{CAT}>" in ack["text"]

    asked = questions(bot.fake, 2)
    assert sorted(asked) == [ANN, BOB]  # Cat holds it through a group: not asked
    assert "Do you still use *Contoso CRM*?" in texts(asked[ANN]["blocks"])
    assert button_labels({"blocks": asked[ANN]["blocks"]}) == ["Keep my license", "Release it"]

    # Bob clicking Ann's question changes nothing and is told so
    click(bot, asked[ANN], "Release it", BOB, "D" + ANN, "bob-on-ann")
    assert f"This question is for <@{ANN}>" in told(bot.fake, "bob-on-ann")[0]
    assert ANN in app_state(sqlite_url)["users"]

    click(bot, asked[ANN], "Release it", ANN, "D" + ANN, "ann")
    assert "You released your license of *Contoso CRM*" in redrawn(bot.fake, "ann")["text"]
    assert "Keep my license" not in str(redrawn(bot.fake, "ann")["blocks"])
    assert app_state(sqlite_url)["users"] == [BOB, CAT]  # freed at once

    click(bot, asked[BOB], "Keep my license", BOB, "D" + BOB, "bob")
    assert "You keep your license of *Contoso CRM*" in redrawn(bot.fake, "bob")["text"]

    summary = dm_to(bot.fake, LICENSE_ADMIN, "The reclaim of Contoso CRM has ended")  # everyone answered
    shown = texts(summary.args["blocks"])
    assert f"Kept (1): <@{BOB}>" in shown and f"Released (1): <@{ANN}>" in shown
    assert "Released for no answer (0): none" in shown
    assert f"Not asked, licensed through a group (1): <@{CAT}>" in shown

    click(bot, asked[ANN], "Keep my license", ANN, "D" + ANN, "ann-again")  # a second click, after the end
    assert "You already answered" in told(bot.fake, "ann-again")[0]
    assert "You released your license" in stale_redrawn(bot.fake, "ann-again")  # and its buttons are gone
    assert app_state(sqlite_url)["users"] == [BOB, CAT]
    actions = [e["action"] for e in audit_log(sqlite_url)]
    assert [a for a in actions if a.startswith("reclaim.")] == ["reclaim.start", "reclaim.release", "reclaim.keep"]


def test_a_non_admin_is_refused_and_a_second_reclaim_is_told_when_the_first_ends(
        bot: BotProcess, sqlite_url: str) -> None:
    status, ack = bot.command("reclaim contoso", user_id=ANN)
    assert status == 200
    assert ack["text"] == ":warning: You need to be a license, user or global admin to reclaim licenses."
    assert not [e for e in audit_log(sqlite_url) if e["action"].startswith("reclaim.")]

    bot.command("reclaim Contoso CRM", user_id=GLOBAL_ADMIN)
    status, ack = bot.command("reclaim contoso", user_id=LICENSE_ADMIN)
    assert "A reclaim of Contoso CRM is already open: it ends" in ack["text"]
    status, ack = bot.command("reclaim contoso idle ten", user_id=LICENSE_ADMIN)
    assert '"ten" is not a number of days' in ack["text"]
    status, ack = bot.command("reclaim contoso idle", user_id=LICENSE_ADMIN)  # the number forgotten
    assert ack["text"] == ":warning: Say how many days: `/licenses reclaim APP idle DAYS`, e.g. `idle 30`."
    status, ack = bot.command("reclaim Northwind idle", user_id=LICENSE_ADMIN)  # and not an app at all
    assert "Say how many days" in ack["text"]


def test_the_details_modal_reclaims_only_the_idle_and_silence_releases_at_the_deadline(
        bot: BotProcess, sqlite_url: str) -> None:
    today = dt.datetime.now(dt.UTC).date()
    with service_on(sqlite_url) as service:
        service.usage.import_rows(CLI, [UsageRow(2, "Contoso CRM", ANN, str(today - dt.timedelta(days=40))),
                                        UsageRow(3, "Contoso CRM", BOB, str(today - dt.timedelta(days=2)))])
    plain = open_view(bot, "show contoso", user_id=BOB)
    assert "Reclaim licenses" not in button_labels(plain) and "Idle" not in texts(plain)

    details = open_view(bot, "show contoso", user_id=LICENSE_ADMIN)
    assert "*Idle 30+ days:* 1 · no usage data: 1" in texts(details)  # Ann idle; Cat never reported
    before = len(bot.fake.calls_to("views.push"))
    status, _ = bot.interact(slack.button_click_payload(details, "Reclaim licenses", user_id=LICENSE_ADMIN))
    assert status == 200
    form = opened(bot.fake, "views.push", before)
    assert (form["title"]["text"], form["submit"]["text"]) == ("Reclaim licenses", "Start")
    status, ack = submit(bot, form, LICENSE_ADMIN, {"Only those idle for at least N days": "30"})
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Reclaim started"
    assert "Asked 1 holder of *Contoso CRM*" in texts(ack["view"])
    asked = questions(bot.fake, 1)
    assert sorted(asked) == [ANN]  # Bob used it two days ago: not asked

    with freeze_time(dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)), service_on(sqlite_url) as service:
        assert service.lifecycle.run().done["reclaims"] == 1
        assert service.lifecycle.run().done["reclaims"] == 0
    dm_to(bot.fake, ANN, "you did not answer by")
    summary = dm_to(bot.fake, LICENSE_ADMIN, "The reclaim of Contoso CRM has ended")
    assert f"Released for no answer (1): <@{ANN}>" in texts(summary.args["blocks"])
    assert app_state(sqlite_url)["users"] == [BOB, CAT]

    # Ann's question still shows its buttons: a click now tells her why nothing changes, and redraws it
    click(bot, asked[ANN], "Keep my license", ANN, "D" + ANN, "ann-late")
    assert told(bot.fake, "ann-late")[0] == (":warning: This reclaim of Contoso CRM has ended: your license was "
                                             "released for no answer. Nothing was changed.")
    assert "you did not answer by" in stale_redrawn(bot.fake, "ann-late")
    assert app_state(sqlite_url)["users"] == [BOB, CAT]


def stale_redrawn(fake: FakeSlack, key: str) -> str:
    """A closed question redrawn after a click (beside the note saying why): its text, with no button left."""
    [call] = fake.wait_for("response_url", 1, predicate=lambda c: c.args["_key"] == key
                           and c.args.get("replace_original") is True)
    assert "Keep my license" not in str(call.args["blocks"]) and "Release it" not in str(call.args["blocks"])
    return str(call.args["text"])
