"""SPEC §6 against `licensebot serve` over signed HTTP, at size: 151 apps, an app with 500 users and 60 groups
with waiters, 60 pending requests. Each silent cut of version 1 answered: pages with "Next" / "Previous",
"See all N assignees", typeaheads past 100 apps, accent-insensitive names, "did you mean"."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest

from bot.app_records import AppRecord
from bot.directory import Group
from bot.domain import Actor
from tests.support import slack_payloads as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, button_labels, open_view, opened, service_on, texts

pytestmark = pytest.mark.e2e

EDITEUR = "Éditeur Café Crème"
EQUIPE = Group("SEQUIPE1", "equipe-ventes", "Équipe Ventes", ("UEQUIPE01",))
DIRECT = [f"UDIRECT{i:04d}" for i in range(500)]
LICENSER = "ULICADM1"


def members(group: int, n: int) -> list[str]:
    return [f"U{group:04d}{i:05d}" for i in range(n)]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('size') / 'licensebot.db'}"
    seed_catalog(url, "apps: []\n")  # the schema, as the operator's first command makes it
    groups = [Group(f"SG{g:04d}", f"team-{g}", f"Team {g}", tuple(members(g, 5))) for g in range(60)]
    with service_on(url, [*groups, EQUIPE]) as service:
        apps = [AppRecord(name=f"App {i:03d}", vendor="Contoso Ltd" if i < 10 else "Acme", seats=5,
                          purchased_via="marketplace") for i in range(149)]
        apps += [AppRecord(name=EDITEUR, vendor="Crème SA", seats=800, purchased_via="marketplace"),
                 AppRecord(name="Contoso CRM", vendor="Contoso Ltd", seats=5, purchased_via="marketplace")]
        service.records.import_records(CLI, apps)
        service.assignments.assign(CLI, EDITEUR, DIRECT, [g.id for g in groups])
        for g in range(60):  # 3 join each group once no seat is left: 180 wait
            service.membership.apply_group(CLI, Group(f"SG{g:04d}", f"team-{g}", f"Team {g}", tuple(members(g, 8))))
        for i in range(60):
            service.requests.create(Actor(f"UREQ{i:05d}"), "App 001", f"need {i}")
        service.roles.grant(CLI, LICENSER, "license-admin")
    with FakeSlack() as fake:
        fake.add_group(EQUIPE.id, EQUIPE.handle, EQUIPE.name, EQUIPE.members)
        fake.add_group("SDESIGN1", "design", "Design team", ())
        with BotProcess(fake, url) as bot:
            yield bot


def reply(bot: BotProcess, text: str, user_id: str = GLOBAL_ADMIN) -> dict[str, Any]:
    status, ack = bot.command(text, user_id=user_id)
    assert status == 200 and isinstance(ack, dict) and ack.get("response_type") == "ephemeral", (status, ack)
    return ack


def page_after_click(bot: BotProcess, ack: dict[str, Any], button: str, key: str) -> dict[str, Any]:
    """Clicks "Next" / "Previous" under an ephemeral answer; returns what replaced it."""
    message = {"type": "message", "ts": "1700000000.000100", "text": ack["text"], "blocks": ack["blocks"]}
    payload = slack.button_click_payload(message, button, user_id=GLOBAL_ADMIN,
                                         response_url=bot.fake.response_url(key))
    payload["container"]["is_ephemeral"] = True
    status, _ = bot.interact(payload)
    assert status == 200
    [call] = bot.fake.wait_for("response_url", predicate=lambda c: c.args["_key"] == key)
    assert call.args.get("replace_original") in (True, "true")
    blocks = call.args["blocks"]
    return {"text": call.args["text"], "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}


def buttons_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


# ------------------------------------------------------------------ lists in pages
def test_151_apps_come_20_a_page_with_next_and_previous(big: BotProcess) -> None:
    first = reply(big, "list")
    assert "1\u201320 of 151" in texts(first["blocks"]) and buttons_of(first["blocks"]) == ["Next"]
    assert texts(first["blocks"]).count(" assigned / ") == 20
    second = page_after_click(big, first, "Next", "list-next")
    shown = texts(second["blocks"])
    assert "21\u201340 of 151" in shown and "*App 020*" in shown and "*App 019*" not in shown
    assert buttons_of(second["blocks"]) == ["Previous", "Next"]
    back = page_after_click(big, second, "Previous", "list-previous")
    assert "1\u201320 of 151" in texts(back["blocks"])


@pytest.mark.parametrize("words", ["editeur", "EDITEUR", unicodedata.normalize("NFD", "Éditeur"), "crème sa"])
def test_list_words_filter_by_name_or_vendor_whatever_the_accents(big: BotProcess, words: str) -> None:
    shown = texts(reply(big, f"list {words}")["blocks"])
    assert f"*{EDITEUR}* — 800 assigned / 0 available / 800 total · 180 waiting" in shown
    assert shown.count(" assigned / ") == 1


def test_list_contoso_finds_by_vendor_too(big: BotProcess) -> None:
    shown = texts(reply(big, "list contoso")["blocks"])
    assert shown.count(" assigned / ") == 11 and "*Contoso CRM*" in shown and "*App 009*" in shown


def test_60_pending_requests_come_in_pages(big: BotProcess) -> None:
    first = reply(big, "requests")
    assert "*Pending requests* (60)" in texts(first["blocks"])
    assert buttons_of(first["blocks"]) == ["Approve", "Deny"] * 20 + ["Next"]
    second = page_after_click(big, first, "Next", "requests-next")
    assert "21\u201340 of 60" in texts(second["blocks"]) and "<@UREQ00020>" in texts(second["blocks"])


# ------------------------------------------------------------------ names and typeaheads
@pytest.mark.parametrize("typed", ["editeur", "EDITEUR", unicodedata.normalize("NFD", "Éditeur café"),
                                   "\u201céditeur café crème\u201d"])
def test_show_finds_an_accented_app_however_it_is_typed(big: BotProcess, typed: str) -> None:
    assert open_view(big, f"show {typed}")["title"]["text"] == "Éditeur Café Crème"


def test_the_app_picker_past_100_apps_is_a_typeahead_that_ignores_accents(big: BotProcess) -> None:
    view = open_view(big, "assign")
    picker = next(b for b in view["blocks"] if b.get("block_id") == "app")["element"]
    assert picker["type"] == "external_select"  # 151 apps: a menu of 100 would hide 51
    status, body = big.interact(slack.options_payload("app", "app", "editeur", user_id=GLOBAL_ADMIN, view=view))
    assert status == 200 and [o["value"] for o in body["options"]] == [EDITEUR]
    status, body = big.interact(slack.options_payload("app", "app", "app 15", user_id=GLOBAL_ADMIN, view=view))
    assert [o["value"] for o in body["options"]] == ["App 015", "App 115"]  # every word, anywhere
    status, body = big.interact(slack.options_payload("app", "app", "", user_id=GLOBAL_ADMIN, view=view))
    assert len(body["options"]) == 100  # Slack's cap on options: typing narrows them


def test_the_group_typeahead_finds_equipe(big: BotProcess) -> None:
    view = open_view(big, "assign contoso crm")
    for typed in ("equipe", "EQUIPE", unicodedata.normalize("NFD", "Équipe"), "ventes"):
        status, body = big.interact(slack.options_payload("groups", "groups", typed, user_id=GLOBAL_ADMIN, view=view))
        assert status == 200 and [o["value"] for o in body["options"]] == [EQUIPE.id], typed


def test_a_mistyped_sub_command_gets_did_you_mean(big: BotProcess) -> None:
    assert "Did you mean `/licenses list`?" in reply(big, "lsit editeur")["text"]


# ------------------------------------------------------------------ the details modal and "See all"
def test_details_show_30_and_count_the_rest_then_see_all_pages_through_everyone(big: BotProcess) -> None:
    view = open_view(big, "show editeur")
    shown = texts(view)
    assert "*Users* (500):" in shown and "and 470 more" in shown
    assert "*Groups* (60):" in shown and "and 30 more groups" in shown
    assert "and 160 more" in shown  # 180 waiting: the 20 oldest named
    assert "See all 1,040 assignees" in button_labels(view)

    before = len(big.fake.calls_to("views.push"))
    status, _ = big.interact(slack.button_click_payload(view, "See all 1,040 assignees", user_id=GLOBAL_ADMIN))
    assert status == 200
    listed = opened(big.fake, "views.push", before)
    assert "1\u201350 of 1,040" in texts(listed) and texts(listed).count("· group ·") == 50
    assert button_labels(listed) == ["Next"]

    before = len(big.fake.calls_to("views.update"))
    status, _ = big.interact(slack.button_click_payload(listed, "Next", user_id=GLOBAL_ADMIN))
    assert status == 200
    second = opened(big.fake, "views.update", before)
    shown = texts(second)
    assert "51\u2013100 of 1,040" in shown and texts(second).count("· group ·") == 10
    assert "<@U000000000> · <!subteam^SG0000> · licensed" in shown
    assert "<@U000000005> · <!subteam^SG0000> · waiting: not enough licenses" in shown
    assert button_labels(second) == ["Previous", "Next"]
