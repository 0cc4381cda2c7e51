""""Unassign licenses" end to end: command or details button → picker → "Next" → dialog → "Unassign"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.directory import Group
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import (
    CLI,
    app_state,
    everything,
    input_block,
    open_view,
    opened,
    pushed,
    service_on,
    submit,
    texts,
)

pytestmark = pytest.mark.e2e

ANN, BEN, CID = "U0ANN001", "U0BEN001", "U0CID001"
DESIGN = Group("SDESIGN1", "design", "Design team", (BEN, CID))
LICENSER = "ULICADM1"
NOBODY = "UNOBODY1"
PICKER = "Users and groups"


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    """Contoso CRM (5 seats) assigned to Ann and Ben directly and to @design (Ben, Cid): 3 seated."""
    seed_catalog(sqlite_url)
    with service_on(sqlite_url, [DESIGN]) as service:
        service.assignments.assign(CLI, "Contoso CRM", [ANN, BEN], [DESIGN.id])
        service.roles.grant(CLI, LICENSER, "license-admin")
    fake_slack.add_user(ANN, "ann", "Ann Example")
    fake_slack.add_group(DESIGN.id, DESIGN.handle, DESIGN.name, DESIGN.members)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def test_the_picker_lists_the_current_assignees(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso")
    assert view["title"]["text"] == "Unassign licenses"
    assert view["submit"]["text"] == "Next"
    element = input_block(view, PICKER)["element"]
    assert element["type"] == "multi_static_select"
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        (f"user:{ANN}", f"👤 Ann Example ({ANN})"),
        (f"user:{BEN}", f"👤 {BEN}"),
        ("group:SDESIGN1", "👥 @design — Design team"),
    ]


def test_unassigning_a_group_after_the_confirmation(bot: BotProcess) -> None:
    url = bot.database_url
    view = open_view(bot, "unassign Contoso CRM", LICENSER)
    status, ack = submit(bot, view, LICENSER, {PICKER: ["group:SDESIGN1"]})
    assert status == 200
    dialog = pushed(ack)
    assert dialog["submit"]["text"] == "Unassign" and dialog["close"]["text"] == "Cancel"
    said = texts(dialog)
    assert "<!subteam^SDESIGN1>" in said and "This frees *1 license*" in said and f"<@{CID}>" in said
    assert f"<@{BEN}> keeps their license" in said  # Ben holds it directly too
    assert app_state(url)["groups"] == ["SDESIGN1"]  # "Next" removed nothing

    status, ack = submit(bot, dialog, LICENSER)
    assert status == 200 and ack["response_action"] == "update"
    assert ack["view"]["title"]["text"] == "Licenses unassigned" and ack["view"]["close"]["text"] == "Close"
    assert "2 assigned / 3 available / 5 total" in texts(ack["view"])
    state = app_state(url)
    assert state["groups"] == [] and sorted(state["users"]) == [ANN, BEN] and state["assigned"] == 2


def test_unassigning_users_and_groups_together_frees_every_seat_they_held(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso")
    _, ack = submit(bot, view, answers={PICKER: [f"user:{ANN}", f"user:{BEN}", "group:SDESIGN1"]})
    dialog = pushed(ack)
    assert "This frees *3 licenses*" in texts(dialog)
    submit(bot, dialog)
    assert app_state(bot.database_url)["users"] == []


def test_a_double_submit_of_the_dialog_unassigns_and_audits_once(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso")
    dialog = pushed(submit(bot, view, answers={PICKER: [f"user:{ANN}"]})[1])
    first = submit(bot, dialog)
    second = submit(bot, dialog)
    assert first == second and first[1]["view"]["title"]["text"] == "Licenses unassigned"
    entries = [e for e in everything(bot.database_url)[2] if e["action"] == "unassign"]
    assert len(entries) == 1 and entries[0]["targets"] == [ANN]


def test_cancel_or_closing_keeps_everything(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "unassign contoso")
    dialog = pushed(submit(bot, view, answers={PICKER: ["group:SDESIGN1"]})[1])
    for closed in (dialog, view):  # "Cancel" on the dialog, then closing the picker
        status, ack = bot.interact(slack.view_closed_payload(closed, GLOBAL_ADMIN))
        assert status == 200
    status, _ = bot.interact(slack.view_closed_payload(view, GLOBAL_ADMIN, is_cleared=True))
    assert status == 200
    assert everything(bot.database_url) == before


def test_next_with_nothing_picked_or_a_forged_value_is_a_field_error(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "unassign contoso")
    _, ack = submit(bot, view, answers={PICKER: []})
    assert ack == {"response_action": "errors", "errors": {"assignees": "Pick at least one user or group."}}
    _, ack = submit(bot, view, answers={PICKER: [("Eve", "user:U0EVE001")]})
    assert ack["response_action"] == "errors" and "<@U0EVE001> has no direct license" in ack["errors"]["assignees"]
    _, ack = submit(bot, view, answers={PICKER: [("x", "robot:R2D2")]})
    assert ack["response_action"] == "errors" and "is not one of the assignees" in ack["errors"]["assignees"]
    assert everything(bot.database_url) == before


def test_a_non_admin_is_refused_at_submit_of_a_view_an_admin_opened(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "unassign contoso", GLOBAL_ADMIN)
    _, ack = submit(bot, view, NOBODY, {PICKER: [f"user:{ANN}"]})
    assert ack["response_action"] == "errors" and "You need to be" in ack["errors"]["assignees"]

    dialog = pushed(submit(bot, view, GLOBAL_ADMIN, {PICKER: [f"user:{ANN}"]})[1])
    status, ack = submit(bot, dialog, NOBODY)
    assert status == 200 and ack["response_action"] == "update"
    assert "You need to be a license, user or global admin" in texts(ack["view"])
    assert "Nothing was unassigned" in texts(ack["view"])
    assert everything(bot.database_url) == before


def test_a_role_revoked_between_opening_and_submitting_is_refused(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso", LICENSER)
    dialog = pushed(submit(bot, view, LICENSER, {PICKER: [f"user:{ANN}"]})[1])
    with service_on(bot.database_url) as service:
        service.roles.revoke(CLI, LICENSER, "license-admin")
    _, ack = submit(bot, dialog, LICENSER)
    assert "You need to be" in texts(ack["view"])
    assert ANN in app_state(bot.database_url)["users"]


def test_a_selection_unassigned_meanwhile_is_told_and_nothing_else_changes(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso")
    dialog = pushed(submit(bot, view, answers={PICKER: [f"user:{ANN}", "group:SDESIGN1"]})[1])
    with service_on(bot.database_url) as service:
        service.assignments.unassign(CLI, "Contoso CRM", [ANN])
    before = everything(bot.database_url)
    _, ack = submit(bot, dialog)
    assert f"<@{ANN}> has no direct license of Contoso CRM" in texts(ack["view"])
    assert ack["view"]["close"]["text"] == "Back"
    assert everything(bot.database_url) == before  # the group was not removed on its own


def test_unassign_prefills_the_mentioned_assignees(bot: BotProcess) -> None:
    view = open_view(bot, "unassign contoso <@U0ANN001|ann> @design")
    element = input_block(view, PICKER)["element"]
    assert [o["value"] for o in element["initial_options"]] == [f"user:{ANN}", "group:SDESIGN1"]


def test_an_app_nobody_holds_says_so(bot: BotProcess) -> None:
    view = open_view(bot, "unassign fabrikam")
    assert "Nobody is assigned *Fabrikam Design*" in texts(view) and not view.get("submit")


def test_the_details_button_pushes_the_picker(bot: BotProcess) -> None:
    details = open_view(bot, "show contoso", LICENSER)
    before = len(bot.fake.calls_to("views.push"))
    status, _ = bot.interact(slack.button_click_payload(details, "Unassign licenses", user_id=LICENSER,
                                                        trigger_id="trig-push"))
    assert status == 200
    picker = opened(bot.fake, "views.push", before)
    assert picker["previous_view_id"] == details["id"] and picker["title"]["text"] == "Unassign licenses"
    dialog = pushed(submit(bot, picker, LICENSER, {PICKER: [f"user:{ANN}"]})[1])
    submit(bot, dialog, LICENSER)
    assert ANN not in app_state(bot.database_url)["users"]


def test_a_forged_details_click_by_a_non_admin_opens_nothing_and_tells_them(bot: BotProcess) -> None:
    details = open_view(bot, "show contoso", GLOBAL_ADMIN)
    status, _ = bot.interact(slack.button_click_payload(details, "Unassign licenses", user_id=NOBODY))
    assert status == 200
    [told] = bot.fake.wait_for("chat.postMessage")
    assert told.args["channel"] == NOBODY and "You need to be" in told.args["text"]
    assert bot.fake.calls_to("views.push") == []


def test_more_than_100_assignees_are_served_by_typeahead(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seed_catalog(sqlite_url)
    people = [f"U{n:08d}" for n in range(1, 121)]
    with service_on(sqlite_url) as service:
        service.assignments.set_seats(CLI, "Contoso CRM", 200)
        service.assignments.assign(CLI, "Contoso CRM", people)
    with BotProcess(fake_slack, sqlite_url) as bot:
        view = open_view(bot, "unassign contoso")
        element = input_block(view, PICKER)["element"]
        assert element["type"] == "multi_external_select" and "options" not in element

        status, ack = bot.interact(slack.options_payload(element["action_id"], "assignees", "", GLOBAL_ADMIN, view=view))
        assert status == 200 and len(ack["options"]) == 100
        _, ack = bot.interact(slack.options_payload(element["action_id"], "assignees", "U0000011", GLOBAL_ADMIN,
                                                    view=view))
        assert [o["value"] for o in ack["options"]] == [f"user:U{n:08d}" for n in range(110, 120)]

        dialog = pushed(submit(bot, view, answers={PICKER: [ack["options"][0]]})[1])
        submit(bot, dialog)
        assert app_state(sqlite_url)["assigned"] == 119 and "U00000110" not in app_state(sqlite_url)["users"]
