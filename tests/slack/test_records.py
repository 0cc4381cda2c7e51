"""App records in Slack (SPEC §5) against `licensebot serve`: "Add an app", "Edit app" and "Retire app",
for billing and global admins only (refused at the button and at submit), validated on the field, audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import slack_payloads as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.slack_e2e import CLI, audit_log, button_labels, open_view, opened, pushed, service_on, submit, texts

pytestmark = pytest.mark.e2e

BILLING = "UBILLADM"
LICENSER = "ULICADM1"


@pytest.fixture
def roles(bot: BotProcess, sqlite_url: str) -> BotProcess:
    with service_on(sqlite_url) as service:
        service.roles.grant(CLI, BILLING, "billing-admin")
        service.roles.grant(CLI, LICENSER, "license-admin")
        service.assignments.assign(CLI, "Contoso CRM", ["U00000A1"], [])
    return bot


def click_in(bot: BotProcess, view: dict[str, Any], button: str, user_id: str) -> dict[str, Any]:
    before = len(bot.fake.calls_to("views.push"))
    status, _ = bot.interact(slack.button_click_payload(view, button, user_id=user_id))
    assert status == 200
    return opened(bot.fake, "views.push", before)


def test_a_billing_admin_adds_an_app_with_every_field(roles: BotProcess, sqlite_url: str) -> None:
    view = open_view(roles, "add", BILLING)
    assert view["title"]["text"] == "Add an app" and view["submit"]["text"] == "Add"
    status, ack = submit(roles, view, BILLING, {
        "Name": "Éditeur Café Crème", "Vendor": "Crème SA", "Total licenses": "12", "Purchased via": "provider",
        "Provider contact": "+33 1 23 45 67 89", "Install URL": "https://creme.example/install",
        "Renewal date": "2027-06-30", "Notes": "EU", "Low-seat warning": "2"})
    assert status == 200 and ack["response_action"] == "update", ack
    assert "*Éditeur Café Crème* is in the catalog: 12 licenses" in texts(ack["view"])
    details = open_view(roles, "show editeur", BILLING)
    shown = texts(details)
    assert "Crème SA" in shown and "*Provider contact:* +33 1 23 45 67 89" in shown and "Jun 30, 2027" in shown
    assert [e["action"] for e in audit_log(sqlite_url)].count("app.create") == 1
    created = next(e for e in audit_log(sqlite_url) if e["action"] == "app.create")
    assert created["actor"] == BILLING and created["detail"]["low_seat_threshold"] == 2


@pytest.mark.parametrize(("answers", "field", "words"), [
    ({"Name": "contoso crm", "Total licenses": "3"}, "name", "An app is already named Contoso CRM"),
    ({"Name": "New", "Total licenses": "3", "Install URL": "ftp://x.example"}, "install_url", "https://"),
    ({"Name": "New"}, "seats", "Fill this in."),
])
def test_add_says_what_is_wrong_on_the_field(roles: BotProcess, sqlite_url: str, answers: dict[str, str],
                                             field: str, words: str) -> None:
    view = open_view(roles, "add", GLOBAL_ADMIN)
    status, ack = submit(roles, view, GLOBAL_ADMIN, answers)
    assert status == 200 and ack["response_action"] == "errors" and words in ack["errors"][field], ack
    assert "app.create" not in [e["action"] for e in audit_log(sqlite_url)]


def test_a_license_admin_is_refused_at_the_command_the_button_and_the_submit(roles: BotProcess,
                                                                            sqlite_url: str) -> None:
    status, ack = roles.command("add", user_id=LICENSER)
    assert "You need to be" in ack["text"]
    details = open_view(roles, "show contoso crm", LICENSER)
    assert "Edit app" not in button_labels(details)
    admin_view = open_view(roles, "add", GLOBAL_ADMIN)
    status, ack = submit(roles, admin_view, LICENSER, {"Name": "Sneaky", "Total licenses": "1"})
    assert ack["response_action"] == "errors" and "You need to be" in ack["errors"]["name"]
    admin_details = open_view(roles, "show fabrikam", GLOBAL_ADMIN)
    before = len(roles.fake.calls_to("views.push"))
    roles.interact(slack.button_click_payload(admin_details, "Edit app", user_id=LICENSER))
    told = roles.fake.wait_for("chat.postMessage", predicate=lambda c: c.args.get("channel") == LICENSER)
    assert "You need to be" in told[-1].args["text"] and len(roles.fake.calls_to("views.push")) == before
    assert not {"app.create", "app.update", "app.retire"} & {e["action"] for e in audit_log(sqlite_url)}


def test_edit_keeps_what_is_not_changed_and_audits_the_fields(roles: BotProcess, sqlite_url: str) -> None:
    details = open_view(roles, "show contoso crm", BILLING)
    edit = click_in(roles, details, "Edit app", BILLING)
    assert edit["title"]["text"] == "Edit app" and "Retire app" not in button_labels(edit)  # assigned
    status, ack = submit(roles, edit, BILLING, {"Vendor": "Contoso SA", "Low-seat warning": "1"})
    assert ack["response_action"] == "update" and "(low_seat_threshold, vendor)" in texts(ack["view"]), ack
    shown = texts(open_view(roles, "show contoso", BILLING))
    assert "Contoso SA" in shown and "Mar 1, 2027" in shown  # the renewal date kept
    [update] = [e for e in audit_log(sqlite_url) if e["action"] == "app.update"]
    assert update["detail"]["fields"] == ["low_seat_threshold", "vendor"]
    status, again = submit(roles, edit, BILLING, {"Vendor": "Contoso SA", "Low-seat warning": "1"})
    assert again["response_action"] == "update"  # a double submit acts once
    assert len([e for e in audit_log(sqlite_url) if e["action"] == "app.update"]) == 1
    fresh = click_in(roles, open_view(roles, "show contoso crm", BILLING), "Edit app", BILLING)
    status, ack = submit(roles, fresh, BILLING, {"Total licenses": "0"})
    assert ack["response_action"] == "errors" and "unassign 1 first" in ack["errors"]["seats"]


def test_retire_an_app_nobody_holds_and_it_leaves_lists_and_pickers(roles: BotProcess, sqlite_url: str) -> None:
    details = open_view(roles, "show fabrikam", GLOBAL_ADMIN)
    edit = click_in(roles, details, "Edit app", GLOBAL_ADMIN)
    confirm = click_in(roles, edit, "Retire app", GLOBAL_ADMIN)
    assert confirm["title"]["text"] == "Retire app" and confirm["submit"]["text"] == "Retire"
    status, ack = submit(roles, confirm, GLOBAL_ADMIN)
    assert ack["response_action"] == "update" and "is retired" in texts(ack["view"])
    status, listed = roles.command("list")
    assert "Fabrikam" not in texts(listed["blocks"])
    status, answer = roles.command("show fabrikam design")
    assert 'No app is called "fabrikam design"' in answer["text"]
    picker = next(b for b in open_view(roles, "assign")["blocks"] if b.get("block_id") == "app")["element"]
    assert [o["value"] for o in picker["options"]] == ["Contoso CRM"]
    status, audit = roles.command("audit Fabrikam Design")
    assert "Audit log of Fabrikam Design" in audit["text"] + texts(audit.get("blocks") or []), audit
    assert [e["action"] for e in audit_log(sqlite_url)][-1] == "app.retire"


def test_retire_is_refused_while_the_app_is_assigned(roles: BotProcess, sqlite_url: str) -> None:
    details = open_view(roles, "show contoso crm", GLOBAL_ADMIN)
    edit = click_in(roles, details, "Edit app", GLOBAL_ADMIN)
    forged = pushed({"response_action": "push", "view": {**edit, "callback_id": "app_retire", "blocks": []}})
    status, ack = submit(roles, forged, GLOBAL_ADMIN)
    assert ack["response_action"] == "update"
    assert "can't be retired while it is assigned (1 users, 0 groups)" in texts(ack["view"])
    assert "app.retire" not in [e["action"] for e in audit_log(sqlite_url)]
