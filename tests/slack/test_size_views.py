"""The license details modal and its "See all N assignees" list, built from plain values (no process, no
database): the buttons each person's rights allow, and at size nothing cut silently, no mention cut in half,
every view inside Slack's limits (SPEC §6)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.domain import AppSummary, Assignee, Rights, SourceKind
from bot.errors import NotEnoughLicenses
from bot.paging import Page
from handlers.slack import ui
from handlers.slack.features import catalog, requests
from handlers.slack.features import details as detail_views
from tests.slack.test_builders import (
    BILLING_ADMIN,
    GLOBAL_ADMIN,
    HOLDER,
    LICENSE_ADMIN,
    LONG_NAME,
    MARKETPLACE,
    NOBODY,
    PROVIDER,
    app,
    button_texts,
    buttons,
    group_ids,
    overview,
    request,
    title,
    users,
)
from tests.support.fake_slack import checks

MENTION = re.compile(r"<[@!][^>]*>")


def mentions_whole(view: dict[str, Any]) -> bool:
    """Every "<" opened in a text is closed by its ">": no mention cut in half."""
    texts = [b["text"]["text"] for b in view["blocks"] if b.get("type") == "section"]
    return all(MENTION.sub("", t).count("<") == 0 for t in texts)


# ------------------------------------------------------------------ the details modal shows what the rights allow
ASSIGN, UNASSIGN, SEATS, CONTACT, INSTALL = ("Assign licenses", "Unassign licenses", "Add or remove licenses",
                                             "Contact provider", "Install this product")
EDIT = "Edit app"
REQUEST = "Request a license"
RECLAIM = "Reclaim licenses"  # the overview has users assigned directly: there is someone to ask


@pytest.mark.parametrize(("rights", "summary", "expected"), [
    pytest.param(NOBODY, MARKETPLACE, [REQUEST], id="no-role-marketplace"),
    pytest.param(NOBODY, PROVIDER, [REQUEST], id="no-role-provider"),
    pytest.param(HOLDER, MARKETPLACE, [INSTALL], id="holder-marketplace"),
    pytest.param(HOLDER, PROVIDER, [INSTALL], id="holder-provider"),
    pytest.param(LICENSE_ADMIN, MARKETPLACE, [ASSIGN, UNASSIGN, RECLAIM, INSTALL], id="license-admin-marketplace"),
    pytest.param(LICENSE_ADMIN, PROVIDER, [ASSIGN, UNASSIGN, RECLAIM, INSTALL], id="license-admin-provider"),
    pytest.param(BILLING_ADMIN, MARKETPLACE, [SEATS, INSTALL, EDIT], id="billing-admin-marketplace"),
    pytest.param(BILLING_ADMIN, PROVIDER, [CONTACT, INSTALL, EDIT], id="billing-admin-provider"),
    pytest.param(GLOBAL_ADMIN, MARKETPLACE, [ASSIGN, UNASSIGN, RECLAIM, SEATS, INSTALL, EDIT], id="global-admin-marketplace"),
    pytest.param(GLOBAL_ADMIN, PROVIDER, [ASSIGN, UNASSIGN, RECLAIM, CONTACT, INSTALL, EDIT], id="global-admin-provider"),
    pytest.param(GLOBAL_ADMIN, app(install_url=""), [ASSIGN, UNASSIGN, RECLAIM, SEATS, EDIT],
                 id="global-admin-no-install-link"),
    pytest.param(GLOBAL_ADMIN, app(via="provider", contact="Call Bob"), [ASSIGN, UNASSIGN, RECLAIM, INSTALL, EDIT],
                 id="global-admin-provider-contact-not-a-link"),
])
def test_details_show_only_the_buttons_the_rights_allow(rights: Rights, summary: AppSummary,
                                                       expected: list[str]) -> None:
    view = detail_views.details_view(overview(summary), rights)
    shown = [b for b in buttons(view["blocks"]) if b["action_id"] != detail_views.SEE_ALL]  # for everyone
    assert [b["text"]["text"] for b in shown] == expected
    action_ids = {ASSIGN: catalog.OPEN_ASSIGN, UNASSIGN: catalog.OPEN_UNASSIGN, SEATS: catalog.OPEN_SEATS,
                  CONTACT: catalog.CONTACT_PROVIDER, INSTALL: catalog.INSTALL_PRODUCT, EDIT: detail_views.OPEN_EDIT,
                  REQUEST: catalog.REQUEST_FROM_DETAILS, RECLAIM: detail_views.OPEN_RECLAIM}
    assert [(b["action_id"], b["value"]) for b in shown] == [(action_ids[t], summary.name) for t in expected]
    assert ("details_actions" in [b.get("block_id") for b in view["blocks"]]) == bool(expected)




def test_details_with_200_direct_users_and_60_groups_stay_within_slacks_limits() -> None:
    big = overview(app(LONG_NAME, total=2000, assigned=1400, waiting=600), direct=200, assigned_groups=60, seated=20,
                  waiting=10)
    view = detail_views.details_view(big, GLOBAL_ADMIN)
    View(**view).validate_json()
    assert checks.view_errors(view, "modal") == []
    assert len(title(view) or "") <= ui.TITLE_MAX
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    assert "and 170 more" in json.dumps(view)  # the direct users are summed up, not cut off
    assert button_texts(view["blocks"]) == ["See all 2,060 assignees", ASSIGN, UNASSIGN, RECLAIM, SEATS, INSTALL, EDIT]


    assert "and 30 more groups" in json.dumps(view)  # 60 groups: 30 shown, the rest counted
    assert "and 5 more" in json.dumps(view)  # each group's 10 waiting members: 5 named, the rest counted
    assert mentions_whole(view)


def test_details_of_an_app_nobody_holds_offer_no_see_all() -> None:
    view = detail_views.details_view(overview(direct=0, assigned_groups=0), GLOBAL_ADMIN)
    assert "See all" not in json.dumps(view)
    assert "*Users* (0): none" in json.dumps(view)


@pytest.mark.parametrize("contact", ["+33 1 23 45 67 89", "sales@contoso.example", "https://contoso.example/buy"])
def test_the_provider_contact_is_always_shown_as_text(contact: str) -> None:
    view = detail_views.details_view(overview(app(via="provider", contact=contact)), NOBODY)
    assert f"*Provider contact:* {contact}" in json.dumps(view, ensure_ascii=False)


def entries(n: int, groups: int = 0, sources: int = 1) -> list[Assignee]:
    group_entries = [Assignee(SourceKind.GROUP, g, licensed=400, waiting=12) for g in group_ids(groups)]
    user_sources = tuple([(SourceKind.USER, "")] + [(SourceKind.GROUP, g) for g in group_ids(sources - 1)])
    return group_entries + [Assignee(SourceKind.USER, u, seated=i % 3 != 0, sources=user_sources)
                            for i, u in enumerate(users(n - groups))]


@pytest.mark.parametrize(("page", "expected_buttons"), [
    pytest.param(Page(entries(50, groups=50), 10_200, 0, 50), ["Next"], id="first-page-all-groups"),
    pytest.param(Page(entries(50, groups=10, sources=200), 10_200, 150, 50), ["Previous", "Next"],
                 id="middle-page-users-with-200-sources"),
    pytest.param(Page(entries(50), 10_200, 10_150, 50), ["Previous"], id="last-page"),
    pytest.param(Page(entries(3), 3, 0, 50), [], id="one-page"),
])
def test_see_all_pages_stay_within_slacks_limits(page: Page[Assignee], expected_buttons: list[str]) -> None:
    view = detail_views.assignees_view(app(LONG_NAME), page)
    View(**view).validate_json()
    assert checks.view_errors(view, "modal") == []
    assert button_texts(view["blocks"]) == expected_buttons
    assert all(len(b["text"]["text"]) <= ui.SECTION_MAX for b in view["blocks"] if b["type"] == "section")
    assert mentions_whole(view)
    shown = json.dumps(view, ensure_ascii=False)
    assert shown.count("<@U") + shown.count("· group ·") == len(page.items)  # every entry, none dropped
    if page.total > page.size:
        assert f"{page.first:,}\u2013{page.last:,} of {page.total:,}" in shown  # numbers as English writes them


def test_a_user_entry_says_its_sources_and_state() -> None:
    licensed = detail_views.assignee_line(Assignee(SourceKind.USER, "U1", seated=True,
                                                   sources=((SourceKind.USER, ""), (SourceKind.GROUP, "S1"))))
    assert licensed == "<@U1> · direct, <!subteam^S1> · licensed"
    waiting = detail_views.assignee_line(Assignee(SourceKind.USER, "U2", sources=tuple(
        (SourceKind.GROUP, f"S{i}") for i in range(7))))
    assert waiting == "<@U2> · <!subteam^S0>, <!subteam^S1>, <!subteam^S2> and 4 more · waiting: not enough licenses"
    group = detail_views.assignee_line(Assignee(SourceKind.GROUP, "S9", licensed=3, waiting=2))
    assert group == "<!subteam^S9> · group · 3 licensed, 2 waiting"


def test_the_pager_buttons_carry_the_page_and_the_app() -> None:
    view = detail_views.assignees_view(app(LONG_NAME), Page(entries(50), 200, 50, 50))
    values = {b["action_id"]: json.loads(b["value"]) for b in buttons(view["blocks"])}
    assert values == {"assignees_page_previous": {"a": LONG_NAME, "p": 1},
                      "assignees_page_next": {"a": LONG_NAME, "p": 3}}
    assert ui.pager_state({"actions": [{"value": json.dumps({"a": "x", "p": 3})}]}) == {"a": "x", "p": 3}
    assert ui.pager_state({"actions": [{"value": '{"p": "3"}'}]}) == {}
    assert ui.pager_state({"actions": [{"value": "not json"}]}) == {}
    assert ui.pager_state({"actions": [{"value": '{"p": 0}'}]}) == {}


def test_the_list_filter_carries_to_the_next_page_and_is_escaped() -> None:
    text, blocks = catalog.apps_table(Page([MARKETPLACE] * 20, 45, 0, 20), "<!channel> contoso")
    assert "&lt;!channel&gt; contoso" in json.dumps(blocks) and "<!channel>" not in text
    [next_button] = buttons(blocks)
    assert json.loads(next_button["value"]) == {"q": "<!channel> contoso", "p": 2}
    assert "1\u201320 of 45" in json.dumps(blocks, ensure_ascii=False)


@pytest.mark.parametrize(("rights", "hint"), [
    pytest.param(LICENSE_ADMIN, "Ask a billing admin to add licenses", id="license-admin"),
    pytest.param(BILLING_ADMIN, "`/licenses seats Contoso CRM`", id="billing-admin"),
    pytest.param(GLOBAL_ADMIN, "`/licenses seats Contoso CRM`", id="global-admin"),
])
def test_no_seat_left_points_only_at_what_the_approver_may_do(rights: Rights, hint: str) -> None:
    note = requests.no_seat_note(request(), NotEnoughLicenses(1, 0), rights)
    assert hint in note
    if not rights.change_seats:
        assert "/licenses seats" not in note


def test_a_provider_app_without_seats_gives_its_contact_as_text_to_any_approver() -> None:
    phone = app("Fabrikam Design", via="provider", contact="+33 1 23 45 67 89")
    note = requests.no_seat_note(request(summary=phone), NotEnoughLicenses(1, 0), LICENSE_ADMIN)
    assert "+33 1 23 45 67 89" in note and "/licenses seats" not in note
    text, blocks = catalog.provider_blocks(phone)
    assert "+33 1 23 45 67 89" in text and button_texts(blocks) == []  # a phone number is text, no button
