""""Add or remove licenses" end to end: command or details button → modal → "Save" → summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
    service_on,
    submit,
    texts,
)

pytestmark = pytest.mark.e2e

BILLING = "UBILLADM"
LICENSER = "ULICADM1"
HOLDERS = ["U0ANN001", "U0BEN001", "U0CID001"]
TOTAL = "Total licenses"


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    """Contoso CRM: 5 seats, 3 assigned."""
    seed_catalog(sqlite_url)
    with service_on(sqlite_url) as service:
        service.assignments.assign(CLI, "Contoso CRM", HOLDERS)
        service.roles.grant(CLI, BILLING, "billing-admin")
        service.roles.grant(CLI, LICENSER, "license-admin")
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def test_the_modal_is_prefilled_with_the_current_total(bot: BotProcess) -> None:
    view = open_view(bot, "seats contoso", BILLING)
    assert view["title"]["text"] == "Add or remove licenses" and view["submit"]["text"] == "Save"
    element = input_block(view, TOTAL)["element"]
    assert element["type"] == "number_input" and element["initial_value"] == "5"
    assert element["is_decimal_allowed"] is False
    assert "3 assigned / 2 available / 5 total" in texts(view)


def test_saving_a_new_total(bot: BotProcess) -> None:
    for total, after in (("12", 12), ("3", 3), ("5", 5)):  # up, down to what is assigned, unchanged
        view = open_view(bot, "seats contoso", BILLING)
        status, ack = submit(bot, view, BILLING, {TOTAL: total})
        assert status == 200 and ack["response_action"] == "update"
        assert ack["view"]["close"]["text"] == "Close"
        assert f"now has *{after} licenses*" in texts(ack["view"])
        state = app_state(bot.database_url)
        assert (state["seats"], state["assigned"], state["available"]) == (after, 3, after - 3)


def test_below_assigned_is_a_field_error_naming_how_many_to_unassign(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "seats contoso", BILLING)
    _, ack = submit(bot, view, BILLING, {TOTAL: "1"})
    assert ack == {"response_action": "errors",
                   "errors": {"total": "3 licenses are assigned: unassign 2 first to go down to 1."}}
    assert everything(bot.database_url) == before


def test_a_bad_number_is_a_field_error(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "seats contoso", BILLING)
    for bad in ("abc", "-4", "2.5", "", "1e3", "99999999999", "5" * 5000):
        status, ack = submit(bot, view, BILLING, {TOTAL: bad})
        assert status == 200 and ack["response_action"] == "errors" and ack["errors"]["total"], bad
    assert everything(bot.database_url) == before


def test_a_field_error_then_a_good_number_saves(bot: BotProcess) -> None:
    view = open_view(bot, "seats contoso", BILLING)
    assert submit(bot, view, BILLING, {TOTAL: "2"})[1]["response_action"] == "errors"
    assert submit(bot, view, BILLING, {TOTAL: "7"})[1]["response_action"] == "update"
    assert app_state(bot.database_url)["seats"] == 7


def test_a_double_submit_saves_and_audits_once(bot: BotProcess) -> None:
    view = open_view(bot, "seats contoso", BILLING)
    first = submit(bot, view, BILLING, {TOTAL: "9"})
    assert submit(bot, view, BILLING, {TOTAL: "9"}) == first
    assert [e["action"] for e in everything(bot.database_url)[2]].count("seats") == 1


def test_a_non_admin_submitting_a_view_an_admin_opened_changes_nothing(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    view = open_view(bot, "seats contoso", BILLING)
    for intruder in (LICENSER, "UNOBODY1"):
        _, ack = submit(bot, view, intruder, {TOTAL: "50"})
        assert ack == {"response_action": "errors",
                       "errors": {"total": "You need to be a billing or global admin to add or remove licenses."}}
    assert everything(bot.database_url) == before


def test_an_app_changed_to_provider_meanwhile_is_refused_at_save(bot: BotProcess) -> None:
    view = open_view(bot, "seats contoso", BILLING)
    seed_catalog(bot.database_url, """
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 5
    purchased_via: provider
    provider_contact: sales@contoso.example
""")
    _, ack = submit(bot, view, BILLING, {TOTAL: "9"})
    assert "bought through its provider" in ack["errors"]["total"]
    assert app_state(bot.database_url)["seats"] == 5


def test_the_details_button_pushes_the_modal(bot: BotProcess) -> None:
    details = open_view(bot, "show contoso", GLOBAL_ADMIN)
    before = len(bot.fake.calls_to("views.push"))
    status, _ = bot.interact(slack.button_click_payload(details, "Add or remove licenses", user_id=GLOBAL_ADMIN))
    assert status == 200
    view = opened(bot.fake, "views.push", before)
    assert view["previous_view_id"] == details["id"] and view["title"]["text"] == "Add or remove licenses"
    submit(bot, view, GLOBAL_ADMIN, {TOTAL: "6"})
    assert app_state(bot.database_url)["seats"] == 6


def test_a_rate_limited_views_open_is_retried_and_the_flow_completes(bot: BotProcess) -> None:
    bot.fake.rate_limit_next("views.open", retry_after=1)
    status, ack = bot.command("seats contoso", user_id=BILLING)
    assert status == 200 and ack is None  # acknowledged at once, whatever Slack does after
    calls = bot.fake.wait_for("views.open", 2, timeout=10)
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9  # Retry-After was honoured
    view = calls[1].response["view"]
    submit(bot, view, BILLING, {TOTAL: "8"})
    assert app_state(bot.database_url)["seats"] == 8


@pytest.mark.parametrize(("fault", "said"), [("expired_trigger_id", "expired_trigger_id"),
                                             ("invalid_arguments", "invalid_arguments")])
def test_a_slack_error_on_views_open_is_told_to_the_person(bot: BotProcess, fault: str, said: str) -> None:
    bot.fake.fail_next("views.open", fault)
    status, ack = bot.command("seats contoso", user_id=BILLING)
    assert status == 200 and ack is None
    [told] = bot.fake.wait_for("response_url")
    assert "I couldn't open the form" in told.args["text"] and said in told.args["text"]
    assert told.args["response_type"] == "ephemeral"


def test_a_persistent_slack_outage_on_views_open_is_told_and_changes_nothing(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    bot.fake.server_error_next("views.open", 503, times=10)
    bot.command("seats contoso", user_id=BILLING)
    [told] = bot.fake.wait_for("response_url", timeout=15)
    assert "I couldn't open the form" in told.args["text"]
    assert everything(bot.database_url) == before
