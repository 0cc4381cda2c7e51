"""French and English end to end, past the admin modals: a French person asks for a license in French, each
approver reads their copy in their own language (a French one and an English one, for the same request), the
English approver's "Approve" is told to the requester in French and shown on the French copy in French; and
`/licenses list`, `mine`, `help` and a mistyped command answer each person in theirs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_e2e import CLI, service_on, texts

pytestmark = pytest.mark.e2e

ASKER, FR_ADMIN, EN_ADMIN = "UFRREQ01", "UFRADM01", "UENADM01"


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seed_catalog(sqlite_url)  # Contoso CRM: 5 licenses, marketplace
    with service_on(sqlite_url) as service:
        for admin in (FR_ADMIN, EN_ADMIN):
            service.roles.grant(CLI, admin, "license-admin")
    fake_slack.add_user(ASKER, "chloe", "Chloé Petit", locale="fr-FR")
    fake_slack.add_user(FR_ADMIN, "amelie", "Amélie Martin", locale="fr-CA")
    fake_slack.add_user(EN_ADMIN, "ed", "Ed Jones", locale="en-GB")
    fake_slack.add_user(GLOBAL_ADMIN, "root", "Root", locale="en-US")
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def approval(call: Call) -> bool:
    return any(e.get("action_id") == "request_approve" for b in call.args.get("blocks") or []
               if b.get("type") == "actions" for e in b.get("elements") or [])


def copies(fake: FakeSlack, count: int) -> dict[str, dict[str, Any]]:
    calls = fake.wait_for("chat.postMessage", count, predicate=approval)
    return {c.args["channel"]: fake.messages[(c.response["channel"], c.response["ts"])] for c in calls}


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["text"]["text"] for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def answer(bot: BotProcess, text: str, user_id: str) -> str:
    status, ack = bot.command(text, user_id=user_id)
    assert status == 200, ack
    return str(ack["text"]) + texts(ack.get("blocks") or [])


def test_a_request_is_read_by_each_person_in_their_language(bot: BotProcess) -> None:
    before = len(bot.fake.calls_to("views.open"))
    status, _ = bot.command("request Contoso CRM", user_id=ASKER)
    view = bot.fake.views[bot.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]]
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Demander une licence", "Demander", "Annuler")
    payload = slack.view_submission_payload(view, ASKER, slack.view_state(view, {"Motif": "Pour le pipeline"}))
    status, ack = bot.interact(payload)
    assert status == 200 and ack["view"]["title"]["text"] == "Demande envoyée", ack
    assert "est chez les approbateurs" in texts(ack["view"])

    sent = copies(bot.fake, 3)  # the two license admins and the global admin, one copy each
    french, english = texts(sent[FR_ADMIN]["blocks"]), texts(sent[EN_ADMIN]["blocks"])
    assert "demande une licence de *Contoso CRM*" in french and "*Motif :* Pour le pipeline" in french
    assert buttons(sent[FR_ADMIN]) == ["Approuver", "Refuser"]
    assert "asks for a license of *Contoso CRM*" in english and "*Reason:* Pour le pipeline" in english
    assert buttons(sent[EN_ADMIN]) == ["Approve", "Deny"]

    click = slack.button_click_payload(sent[EN_ADMIN], "Approve", user_id=EN_ADMIN, channel_id=EN_ADMIN,
                                       response_url=bot.fake.response_url("approve"))
    assert bot.interact(click)[0] == 200
    told = bot.fake.wait_for("chat.postMessage", 1, predicate=lambda c: c.args.get("channel") == ASKER)
    assert "Votre demande de *Contoso CRM* a été approuvée par" in told[-1].args["text"]
    bot.fake.wait_for("chat.update", 3)
    decided = copies(bot.fake, 3)
    assert "*Approuvée* par" in texts(decided[FR_ADMIN]["blocks"]) and buttons(decided[FR_ADMIN]) == []
    assert "*Approved* by" in texts(decided[EN_ADMIN]["blocks"])

    # the commands that answer in the ack, each in its reader's words
    assert "*Vos licences*" in answer(bot, "mine", ASKER)
    assert "*Your licenses*" not in answer(bot, "mine", ASKER)
    assert "attribuées" in answer(bot, "list", ASKER) and "assigned" in answer(bot, "list", EN_ADMIN)
    assert "tout le monde" in answer(bot, "help", ASKER) and "everyone" in answer(bot, "help", EN_ADMIN)
    assert "Vouliez-vous dire" in answer(bot, "lsit", ASKER) and "Did you mean" in answer(bot, "lsit", EN_ADMIN)
    pending = answer(bot, "requests", FR_ADMIN)
    assert "Aucune demande en attente" in pending, pending
