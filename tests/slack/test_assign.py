"""End to end: `/licenses assign` → "Assign licenses" → submit → "Licenses assigned", over real HTTP."""

from __future__ import annotations

import time
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
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.e2e

ANN, BOB, CAT, DAN = "U00000A1", "U00000A2", "U00000A3", "U00000A4"
DESIGN = "SDESIGN1"
OUTSIDER = "UOUTSID1"


@pytest.fixture
def directory_fake(fake_slack: FakeSlack) -> FakeSlack:
    for user_id, name in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat"), (DAN, "dan"), (OUTSIDER, "otto")):
        fake_slack.add_user(user_id, name=name)
    fake_slack.add_group(DESIGN, "design", "Design team", [BOB, CAT])
    fake_slack.add_group("SENGINE1", "engineering", "Engineering", [DAN])
    return fake_slack


@pytest.fixture
def service_on(sqlite_url: str) -> Iterator[LicensingService]:
    """The same database the bot uses, read through the real service."""
    engine = make_engine(sqlite_url)
    yield LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory())
    engine.dispose()


@pytest.fixture
def bot(directory_fake: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seed_catalog(sqlite_url)
    with BotProcess(directory_fake, sqlite_url) as process:
        yield process


def opened_view(fake: FakeSlack, method: str = "views.open", count: int = 1) -> dict[str, Any]:
    """The view as the fake stored it (with the id Slack would give it)."""
    call = fake.wait_for(method, count=count)[-1]
    assert call.response["ok"], call.response
    return fake.views[call.response["view"]["id"]]


def submit(bot: BotProcess, view: dict[str, Any], answers: dict[str, Any], user_id: str = GLOBAL_ADMIN) -> Any:
    payload = slack.view_submission_payload(view, user_id=user_id, values=slack.view_state(view, answers))
    status, body = bot.interact(payload)
    assert status == 200
    return body


def assign_audits(service: LicensingService) -> list[Any]:
    return [e for e in service.audit.latest(Actor.cli(), limit=200) if e.action == "assign"]


def test_assign_prefilled_from_escaped_mentions_then_submit(bot: BotProcess, service_on: LicensingService) -> None:
    status, body = bot.command(f"assign contoso <@{ANN}|ann> <!subteam^{DESIGN}|@design>")
    assert status == 200 and body is None  # acked empty; the modal opens right after
    view = opened_view(bot.fake)
    assert view["title"]["text"] == "Assign licenses"
    assert view["submit"]["text"] == "Assign"
    inputs = {b["label"]["text"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["Users"]["type"] == "multi_users_select" and inputs["Users"]["initial_users"] == [ANN]
    assert inputs["Groups"]["type"] == "multi_external_select"
    assert [o["value"] for o in inputs["Groups"]["initial_options"]] == [DESIGN]
    assert "App" not in inputs  # an app was named: no app picker

    ack = submit(bot, view, {})
    assert ack["response_action"] == "update"
    assert ack["view"]["title"]["text"] == "Licenses assigned"
    assert ack["view"]["close"]["text"] == "Close"
    details = service_on.catalog.details("Contoso CRM")
    assert details.users == sorted([ANN, BOB, CAT])
    assert details.direct_users == [ANN] and [g.group_id for g in details.groups] == [DESIGN]


def test_plain_mentions_resolve_through_the_directory(bot: BotProcess) -> None:
    bot.command("assign Contoso @dan @design")
    view = opened_view(bot.fake)
    inputs = {b["label"]["text"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["Users"]["initial_users"] == [DAN]
    assert [o["value"] for o in inputs["Groups"]["initial_options"]] == [DESIGN]


def test_unknown_mention_gets_a_clear_answer(bot: BotProcess) -> None:
    status, body = bot.command("assign contoso @nobody-here")
    assert status == 200 and "@nobody-here" in body["text"]
    assert not bot.fake.calls_to("views.open")


def test_an_unknown_group_mention_is_named_not_dropped(bot: BotProcess) -> None:
    """Issue 10, defect 12: `assign APP <!subteam^S0NOPE>` said nothing of the group and opened the modal."""
    status, body = bot.command(f"assign contoso <@{ANN}> <!subteam^S0NOPE>")
    assert status == 200 and "I can't find the user group <!subteam^S0NOPE>" in body["text"], body
    assert not bot.fake.calls_to("views.open")


def test_not_enough_licenses_is_a_field_error_and_changes_nothing(
    bot: BotProcess, service_on: LicensingService
) -> None:
    bot.command("assign fabrikam")  # 3 seats
    view = opened_view(bot.fake)
    ack = submit(bot, view, {"Users": [ANN, DAN, OUTSIDER], "Groups": [DESIGN]})
    assert ack == {"response_action": "errors", "errors": {"groups": "Not enough licenses: 5 needed, 3 available"}}
    app = service_on.catalog.app("Fabrikam Design")
    assert app.assigned == 0 and not assign_audits(service_on)


def test_non_admin_is_refused_at_the_command(bot: BotProcess) -> None:
    status, body = bot.command("assign contoso", user_id=OUTSIDER)
    assert status == 200 and "license, user or global admin" in body["text"]
    assert not bot.fake.calls_to("views.open")


def test_modal_opened_by_an_admin_but_submitted_by_someone_else_changes_nothing(
    bot: BotProcess, service_on: LicensingService
) -> None:
    bot.command(f"assign contoso <@{ANN}>")
    view = opened_view(bot.fake)
    ack = submit(bot, view, {}, user_id=OUTSIDER)
    assert ack["response_action"] == "errors"
    assert "license, user or global admin" in ack["errors"]["users"]
    assert service_on.catalog.app("Contoso CRM").assigned == 0 and not assign_audits(service_on)


def test_a_double_submit_assigns_and_audits_once(bot: BotProcess, service_on: LicensingService) -> None:
    bot.command(f"assign contoso <@{ANN}> <!subteam^{DESIGN}>")
    view = opened_view(bot.fake)
    first, second = submit(bot, view, {}), submit(bot, view, {})
    assert first["response_action"] == second["response_action"] == "update"
    assert service_on.catalog.app("Contoso CRM").assigned == 3
    assert len(assign_audits(service_on)) == 1


def test_without_an_app_the_modal_asks_for_one(bot: BotProcess, service_on: LicensingService) -> None:
    bot.command("assign")
    view = opened_view(bot.fake)
    inputs = {b["label"]["text"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert [o["value"] for o in inputs["App"]["options"]] == ["Contoso CRM", "Fabrikam Design"]
    assert submit(bot, view, {"App": "Contoso CRM", "Users": []}) == {
        "response_action": "errors", "errors": {"users": "Pick at least one user or group."}
    }
    ack = submit(bot, view, {"App": "Contoso CRM", "Users": [DAN]})
    assert ack["response_action"] == "update"
    assert service_on.catalog.details("Contoso CRM").direct_users == [DAN]


def test_group_typeahead_is_served_from_the_cache(bot: BotProcess) -> None:
    bot.command("assign contoso")
    view = opened_view(bot.fake)
    def ask(text: str) -> tuple[int, Any]:
        return bot.interact(slack.options_payload("groups", "groups", text, user_id=GLOBAL_ADMIN, view=view))

    status, body = ask("des")
    assert status == 200 and [o["value"] for o in body["options"]] == [DESIGN]
    listed = len(bot.fake.calls_to("usergroups.list"))
    for text in ("e", "en", "eng", "engi", "Engineering", "team", ""):
        status, body = ask(text)
        assert status == 200
    assert [o["value"] for o in ask("engi")[1]["options"]] == ["SENGINE1"]
    assert {o["value"] for o in ask("")[1]["options"]} == {DESIGN, "SENGINE1"}
    assert len(bot.fake.calls_to("usergroups.list")) == listed  # no Slack call per keystroke
    assert not bot.fake.calls_to("usergroups.users.list")


def test_rate_limited_views_open_is_retried_and_the_flow_completes(bot: BotProcess) -> None:
    bot.fake.rate_limit_next("views.open", retry_after=1)
    bot.command("assign contoso")
    calls = bot.fake.wait_for("views.open", count=2, timeout=10)
    assert [c.status for c in calls] == [429, 200]
    assert calls[-1].response["view"]["title"]["text"] == "Assign licenses"


def test_the_details_modal_button_pushes_assign(bot: BotProcess) -> None:
    bot.command("show contoso")
    details = opened_view(bot.fake)
    assert details["title"]["text"] == "Contoso CRM"
    status, _ = bot.interact(slack.button_click_payload(details, "Assign licenses", user_id=GLOBAL_ADMIN))
    assert status == 200
    pushed = opened_view(bot.fake, "views.push")
    assert pushed["title"]["text"] == "Assign licenses"
    assert "Contoso CRM" in pushed["private_metadata"]


# ------------------------------------------------------------------ the impact of the picks, before submit
def pick(bot: BotProcess, view: dict[str, Any], answers: dict[str, Any], user_id: str = GLOBAL_ADMIN) -> int:
    """The person changes the Groups picker (dispatch_action): Slack sends the view with its state."""
    payload = slack.block_actions_payload(
        "groups", answers.get("Groups", []), block_id="groups", action_type="multi_external_select",
        user_id=user_id, view=view, values=slack.view_state(view, answers),
    )
    status, _ = bot.interact(payload)
    return status


def notes(view: dict[str, Any]) -> list[str]:
    return [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]


def test_picking_groups_shows_their_impact_before_submit(bot: BotProcess, service_on: LicensingService) -> None:
    bot.command("assign fabrikam")  # 3 seats
    view = opened_view(bot.fake)
    groups_input = next(b for b in view["blocks"] if b.get("block_id") == "groups")
    assert groups_input["dispatch_action"] is True

    assert pick(bot, view, {"Groups": [DESIGN]}) == 200
    [update] = bot.fake.wait_for("views.update")
    assert (update.args["view_id"], update.args["hash"]) == (view["id"], view["hash"])
    updated = bot.fake.views[view["id"]]
    assert notes(updated) == ["design: 2 members, 2 new seats; 3 available"]
    groups_input = next(b for b in updated["blocks"] if b.get("block_id") == "groups")
    assert [o["value"] for o in groups_input["element"]["initial_options"]] == [DESIGN]

    assert pick(bot, updated, {"Groups": [DESIGN, "SENGINE1"], "Users": [ANN, OUTSIDER]}) == 200
    bot.fake.wait_for("views.update", count=2)
    assert notes(bot.fake.views[view["id"]]) == [
        "design: 2 members, 2 new seats; engineering: 1 member, 1 new seat; 5 new seats in all; 3 available — 2 short"
    ]
    assert service_on.catalog.app("Fabrikam Design").assigned == 0  # a preview changes nothing

    ack = submit(bot, bot.fake.views[view["id"]], {"Groups": [DESIGN], "Users": []})  # metadata round-trips
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Licenses assigned"
    assert service_on.catalog.details("Fabrikam Design").users == [BOB, CAT]


def test_members_already_licensed_take_no_new_seat_in_the_preview(bot: BotProcess, service_on: LicensingService) -> None:
    bot.command(f"assign contoso <@{BOB}>")
    submit(bot, opened_view(bot.fake), {})
    bot.command("assign contoso")
    view = opened_view(bot.fake, count=2)
    pick(bot, view, {"Groups": [DESIGN]})
    bot.fake.wait_for("views.update")
    assert notes(bot.fake.views[view["id"]]) == ["design: 2 members, 1 new seat; 4 available"]


def test_a_stale_view_is_not_overwritten(bot: BotProcess) -> None:
    bot.command("assign contoso")
    view = opened_view(bot.fake)
    pick(bot, view, {"Groups": [DESIGN]})
    bot.fake.wait_for("views.update")
    pick(bot, view, {"Groups": ["SENGINE1"]})  # sent with the hash of before the first update
    calls = bot.fake.wait_for("views.update", count=2)
    assert calls[-1].response["error"] == "hash_conflict"
    time.sleep(0.2)
    assert notes(bot.fake.views[view["id"]]) == ["design: 2 members, 2 new seats; 5 available"]
    assert not bot.fake.calls_to("chat.postMessage") and not bot.fake.calls_to("chat.postEphemeral")
    assert not any("Traceback" in line for line in bot.output)


def test_someone_who_may_not_assign_gets_no_preview(bot: BotProcess) -> None:
    bot.command("assign contoso")
    view = opened_view(bot.fake)
    assert pick(bot, view, {"Groups": [DESIGN]}, user_id=OUTSIDER) == 200
    time.sleep(0.3)
    assert not bot.fake.calls_to("views.update")
