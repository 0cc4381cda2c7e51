"""The Slack door's pure Block Kit builders (handlers/slack/ui.py and features/*.py), from plain domain values.

No bot process, no database, no network: each view and message is checked against slack_sdk's models and
against the fake Slack's own validation (what the end-to-end tests' server refuses), for the words the flows
promise, for the buttons a person's rights allow, and against Slack's limits at size.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.directory import Group, InMemoryDirectory, User
from bot.domain import (
    AppDetails,
    AppOverview,
    AppSummary,
    Assignee,
    AssignOutcome,
    AssignPreview,
    AuditEntry,
    GroupAssignee,
    GroupImpact,
    HeldLicense,
    Rights,
    Role,
    RoleBinding,
    SeatsOutcome,
    SourceKind,
    UnassignOutcome,
    UnassignPreview,
)
from bot.errors import GroupNotAssigned, NotEnoughLicenses
from bot.paging import Page
from bot.requests import APPROVED, DENIED, EXPIRED, MAX_NOTE, PENDING, LicenseRequest
from handlers.slack import ui
from handlers.slack.features import admin, assign, catalog, groups, requests, seats, unassign
from handlers.slack.features import details as detail_views
from tests.support.fake_slack import checks

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
NAME = "Contoso CRM"
LONG_NAME = "Contoso " + "x" * 192  # 200 characters: the longest app name the catalog stores
MESSAGE_BLOCKS = 50  # Slack's cap on a message's blocks (a modal takes 100)
MESSAGE_TEXT = 40_000  # Slack's cap on a message's text


# ------------------------------------------------------------------ plain values
def page_of(items: list[Any], total: int | None = None, offset: int = 0, size: int = 20) -> Page[Any]:
    return Page(list(items), len(items) if total is None else total, offset, size)


def users(n: int, start: int = 1) -> list[str]:
    return [f"U{i:010d}" for i in range(start, start + n)]  # 11 characters, like Slack's ids


def group_ids(n: int) -> list[str]:
    return [f"S{i:010d}" for i in range(1, n + 1)]


def app(name: str = NAME, *, via: str = "marketplace", total: int = 10, assigned: int = 4, waiting: int = 0,
        contact: str = "sales@contoso.example", install_url: str = "https://contoso.example/install",
        notes: str = "") -> AppSummary:
    return AppSummary(name=name, vendor="Contoso", purchased_via=via, total=total, assigned=assigned,
                      waiting=waiting, provider_contact=contact, install_url=install_url,
                      renewal_date=dt.date(2026, 1, 31), notes=notes)


MARKETPLACE = app()
PROVIDER = app("Fabrikam Design", via="provider", contact="https://fabrikam.example/contact")


def details(summary: AppSummary = MARKETPLACE, *, direct: int = 3, assigned_groups: int = 2, seated: int = 3,
            waiting: int = 0) -> AppDetails:
    """``direct`` users assigned one by one, and groups of ``seated`` members plus ``waiting`` ones each."""
    teams = [GroupAssignee(g, users(seated, 1000 * (i + 1)), users(waiting, 1000 * (i + 1) + 500))
             for i, g in enumerate(group_ids(assigned_groups))]
    everyone = users(direct) + [u for t in teams for u in t.seated]
    return AppDetails(summary, everyone, users(direct), teams, [u for t in teams for u in t.waiting])


def overview(summary: AppSummary = MARKETPLACE, *, direct: int = 3, assigned_groups: int = 2, seated: int = 3,
             waiting: int = 0) -> AppOverview:
    """What the core gives the details modal for `details(...)`: the first 30 users and groups, and the totals."""
    d = details(summary, direct=direct, assigned_groups=assigned_groups, seated=seated, waiting=waiting)
    groups = [Assignee(SourceKind.GROUP, g.group_id, licensed=len(g.seated), waiting=len(g.waiting),
                       first_waiting=tuple(g.waiting[:5])) for g in d.groups]
    covered = len(set(d.users) | set(d.waiting))
    return AppOverview(summary, [Assignee(SourceKind.USER, u, seated=True) for u in d.direct_users[:30]],
                       len(d.direct_users), groups[:30], len(groups), d.waiting[:20], len(groups) + covered)


def directory(d: AppDetails) -> InMemoryDirectory:
    return InMemoryDirectory(
        groups=[Group(g.group_id, f"team{i}", f"Team {i}", tuple(g.seated)) for i, g in enumerate(d.groups)],
        users=[User(u, f"user{i}", f"User {i}") for i, u in enumerate(d.direct_users)],
    )


def picker(d: AppDetails, preselect: list[str] | None = None) -> dict[str, Any]:
    return unassign.picker_view(d, directory(d), preselect or [])


def request(status: str = PENDING, *, summary: AppSummary = MARKETPLACE, reason: str = "For the Q3 pipeline",
            note: str = "", request_id: int = 7) -> LicenseRequest:
    decided = status in (APPROVED, DENIED)
    return LicenseRequest(id=request_id, app=summary, requester="U0000000042", reason=reason, status=status,
                          created_at=NOW, expires_at=NOW + dt.timedelta(hours=72),
                          decided_by="U0000000001" if decided else None, decided_at=NOW if decided else None,
                          note=note)


def audit_entry(i: int, app_name: str = NAME, targets: int = 2) -> AuditEntry:
    return AuditEntry(at=NOW - dt.timedelta(minutes=i), actor="U0000000001", via="slack", action="assign",
                      app=app_name, targets=users(targets) + group_ids(1), detail={}, total=10, assigned=4,
                      available=6)


def confirm(summary: AppSummary = MARKETPLACE, picked_users: int = 2, picked_groups: int = 1) -> dict[str, Any]:
    picked = users(picked_users)
    return unassign.confirm_view(UnassignPreview(summary, picked, group_ids(picked_groups), frees=picked[:1],
                                                 keeps=picked[1:]))


NOBODY = Rights(frozenset(), holds=False)
HOLDER = Rights(frozenset(), holds=True)
LICENSE_ADMIN = Rights(frozenset({Role.LICENSE_ADMIN}), holds=False)
BILLING_ADMIN = Rights(frozenset({Role.BILLING_ADMIN}), holds=False)
GLOBAL_ADMIN = Rights(frozenset({Role.GLOBAL_ADMIN}), holds=False)


# ------------------------------------------------------------------ reading what was built
def title(view: dict[str, Any], key: str = "title") -> str | None:
    return (view.get(key) or {}).get("text")


def input_labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
        found += [e for e in elements if e.get("type") == "button"]
    return found


def button_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in buttons(blocks)]


# ------------------------------------------------------------------ the modals, and the words they promise
Build = Callable[[], dict[str, Any]]

# builder, then the words: title, submit, close, the inputs' labels
MODALS: list[Any] = [
    pytest.param(lambda: detail_views.details_view(overview(), GLOBAL_ADMIN), NAME, None, "Close", [],
                 id="details"),
    pytest.param(lambda: detail_views.details_view(overview(PROVIDER, assigned_groups=0), NOBODY), "Fabrikam Design", None,
                 "Close", [], id="details-provider-no-role"),
    pytest.param(lambda: detail_views.details_view(overview(app(notes="Renew via procurement"), waiting=2), HOLDER),
                 NAME, None, "Close", [], id="details-notes-waiting"),
    pytest.param(lambda: assign.assign_view(NAME), "Assign licenses", "Assign", "Cancel", ["Users", "Groups", "Until"],
                 id="assign"),
    pytest.param(lambda: assign.assign_view(None, app_names=[NAME, "Fabrikam Design"]), "Assign licenses", "Assign",
                 "Cancel", ["App", "Users", "Groups", "Until"], id="assign-app-picker"),
    pytest.param(lambda: assign.assign_view(None), "Assign licenses", "Assign", "Cancel", ["App", "Users", "Groups", "Until"],
                 id="assign-app-typeahead"),
    pytest.param(lambda: assign.assign_view(
        NAME, users=users(3), groups=[Group("S0000000001", "design", "Design team")],
        notes=[assign.impact_note(AssignPreview(MARKETPLACE, [GroupImpact("S0000000001", 12, 9)], 11),
                                  {"S0000000001": "design"}, 3) or ""]),
                 "Assign licenses", "Assign", "Cancel", ["Users", "Groups", "Until"], id="assign-prefilled-with-impact"),
    pytest.param(lambda: assign.assigned_summary(AssignOutcome(MARKETPLACE, users(2), group_ids(1), users(3), [])),
                 "Licenses assigned", None, "Close", [], id="assigned"),
    pytest.param(lambda: picker(details()), "Unassign licenses", "Next", "Cancel", ["Users and groups"],
                 id="unassign-picker"),
    pytest.param(lambda: picker(details(), [f"user:{users(1)[0]}", f"group:{group_ids(1)[0]}"]),
                 "Unassign licenses", "Next", "Cancel", ["Users and groups"], id="unassign-picker-preselected"),
    pytest.param(lambda: picker(details(direct=150, assigned_groups=0)), "Unassign licenses", "Next", "Cancel",
                 ["Users and groups"], id="unassign-picker-typeahead"),
    pytest.param(lambda: picker(details(direct=0, assigned_groups=0)), "Unassign licenses", None, "Close", [],
                 id="unassign-nobody"),
    pytest.param(confirm, "Unassign licenses", "Unassign", "Cancel", [], id="unassign-confirm"),
    pytest.param(lambda: unassign.done_view(UnassignOutcome(MARKETPLACE, users(2), group_ids(1), users(3), users(1))),
                 "Licenses unassigned", None, "Close", [], id="unassigned"),
    pytest.param(lambda: unassign.failed_view(GroupNotAssigned("S0000000001", NAME)), "Unassign licenses", None, "Back", [],
                 id="unassign-failed"),
    pytest.param(lambda: seats.seats_view(MARKETPLACE), "Add or remove licenses", "Save", "Cancel",
                 ["Total licenses"], id="seats"),
    pytest.param(lambda: seats.saved_view(SeatsOutcome(MARKETPLACE, 8, 10, users(2))), "Licenses saved", None,
                 "Close", [], id="seats-saved"),
    pytest.param(lambda: requests.request_view(NAME), "Request a license", "Request", "Cancel",
                 ["For how long", "Reason"], id="request"),
    pytest.param(lambda: requests.deny_view(request()), "Deny request", "Deny", "Cancel", ["Reason"], id="deny"),
    pytest.param(lambda: ui.summary_modal("Done", "Everything went well."), "Done", None, "Close", [],
                 id="summary"),
]


@pytest.mark.parametrize(("build", "_title", "_submit", "_close", "_labels"), MODALS)
def test_each_modal_passes_slack_validation(build: Build, _title: str, _submit: str, _close: str,
                                            _labels: list[str]) -> None:
    view = build()
    model = View(**view)
    model.validate_json()
    assert model.to_dict() == view, "a key slack_sdk does not know, or a value it would change"
    assert checks.view_errors(view, "modal") == []
    assert json.loads(json.dumps(view)) == view


@pytest.mark.parametrize(("build", "expected_title", "submit", "close", "labels"), MODALS)
def test_each_modal_has_the_words_of_its_flow(build: Build, expected_title: str, submit: str | None, close: str,
                                              labels: list[str]) -> None:
    view = build()
    assert (title(view), title(view, "submit"), title(view, "close")) == (expected_title, submit, close)
    assert input_labels(view) == labels


# ------------------------------------------------------------------ the messages
BuildMessage = Callable[[], tuple[str, list[dict[str, Any]]]]

# builder, then the buttons' texts
MESSAGES: list[Any] = [
    pytest.param(lambda: catalog.apps_table(page_of([])), [], id="apps-none"),
    pytest.param(lambda: catalog.apps_table(page_of([]), "contoso"), [], id="apps-none-matching"),
    pytest.param(lambda: catalog.apps_table(page_of([MARKETPLACE, PROVIDER, app("Northwind", waiting=3)])), [],
                 id="apps"),
    pytest.param(lambda: catalog.apps_table(page_of([MARKETPLACE] * 20, 151)), ["Next"], id="apps-first-page"),
    pytest.param(lambda: catalog.apps_table(page_of([MARKETPLACE] * 20, 151, 20), "contoso"), ["Previous", "Next"],
                 id="apps-middle-page"),
    pytest.param(lambda: catalog.apps_table(page_of([MARKETPLACE] * 11, 151, 140)), ["Previous"], id="apps-last"),
    pytest.param(lambda: catalog.provider_blocks(PROVIDER), ["Contact provider"], id="provider"),
    pytest.param(lambda: catalog.provider_blocks(app(via="provider", contact="Call Bob in purchasing")), [],
                 id="provider-contact-not-a-link"),
    pytest.param(lambda: catalog.install_blocks(MARKETPLACE), ["Install this product"], id="install"),
    pytest.param(lambda: requests.approval_message(request()), ["Approve", "Deny"], id="approval"),
    pytest.param(lambda: requests.approval_message(request(summary=app(assigned=10), reason="")), ["Approve", "Deny"],
                 id="approval-none-left-no-reason"),
    pytest.param(lambda: requests.approval_message(request(APPROVED)), [], id="approval-approved"),
    pytest.param(lambda: requests.approval_message(request(DENIED, note="Use the free tier")), [],
                 id="approval-denied"),
    pytest.param(lambda: requests.approval_message(request(EXPIRED)), [], id="approval-expired"),
    pytest.param(lambda: requests.requester_note(request(APPROVED)), ["Install this product"], id="note-approved"),
    pytest.param(lambda: requests.requester_note(request(APPROVED, summary=app(install_url=""))), [],
                 id="note-approved-no-install-link"),
    pytest.param(lambda: requests.requester_note(request(DENIED, note="Use the free tier")), [], id="note-denied"),
    pytest.param(lambda: requests.requester_note(request(EXPIRED)), [], id="note-expired"),
    pytest.param(lambda: requests.pending_list(page_of([])), [], id="pending-none"),
    pytest.param(lambda: requests.pending_list(page_of([request(request_id=1), request(request_id=2)])),
                 ["Approve", "Deny"] * 2, id="pending"),
    pytest.param(lambda: requests.pending_list(page_of([request(request_id=i) for i in range(21, 41)], 60, 20)),
                 ["Approve", "Deny"] * 20 + ["Previous", "Next"], id="pending-middle-page"),
    pytest.param(lambda: admin.audit_blocks([], None), [], id="audit-empty"),
    pytest.param(lambda: admin.audit_blocks([audit_entry(i) for i in range(3)], NAME), [], id="audit"),
]


def assert_slack_takes(text: str, blocks: list[dict[str, Any]]) -> None:
    parsed = Block.parse_all(blocks)
    assert len(parsed) == len(blocks) and None not in parsed, "a block slack_sdk does not know"
    for block in parsed:
        block.validate_json()
    assert [b.to_dict() for b in parsed] == blocks, "a key slack_sdk does not know, or a value it would change"
    assert checks.blocks_errors(blocks, "/blocks", MESSAGE_BLOCKS) == []
    assert text and len(text) <= MESSAGE_TEXT  # the notification text and the fallback


@pytest.mark.parametrize(("build", "_buttons"), MESSAGES)
def test_each_message_passes_slack_validation(build: BuildMessage, _buttons: list[str]) -> None:
    assert_slack_takes(*build())


@pytest.mark.parametrize(("build", "expected"), MESSAGES)
def test_each_message_has_the_buttons_of_its_flow(build: BuildMessage, expected: list[str]) -> None:
    _, blocks = build()
    assert button_texts(blocks) == expected


def test_link_buttons_carry_their_link() -> None:
    [install] = buttons(catalog.install_blocks(MARKETPLACE)[1])
    [contact] = buttons(catalog.provider_blocks(app(via="provider", contact="sales@fabrikam.example"))[1])
    assert (install["action_id"], install["url"]) == (catalog.INSTALL_PRODUCT, MARKETPLACE.install_url)
    assert (contact["action_id"], contact["url"]) == (catalog.CONTACT_PROVIDER, "mailto:sales@fabrikam.example")


def test_approve_and_deny_carry_the_request_id() -> None:
    approve, deny = buttons(requests.approval_message(request(request_id=42))[1])
    assert (approve["action_id"], approve["value"]) == (requests.APPROVE_ACTION, "42")
    assert (deny["action_id"], deny["value"]) == (requests.DENY_ACTION, "42")


@pytest.mark.parametrize("text", [
    pytest.param(lambda: catalog.mine_text([], []), id="mine-none"),
    pytest.param(lambda: catalog.mine_text([HeldLicense(NAME, True, [(SourceKind.USER, "U0000000001"),
                                                                      (SourceKind.GROUP, "S0000000001")]),
                                            HeldLicense("Northwind", False, [(SourceKind.GROUP, "S0000000002")])],
                                           ["*Fabrikam Design* — asked today"]), id="mine"),
    pytest.param(lambda: assign.impact_note(AssignPreview(MARKETPLACE, [GroupImpact("S0000000001", 12, 9)], 9),
                                            {}, 0), id="impact"),
    pytest.param(lambda: requests.reminder_text(request()), id="reminder"),
    pytest.param(lambda: requests.unreached_note(request(), 0), id="unreached-nobody-else"),
    pytest.param(lambda: requests.unreached_note(request(), 3), id="unreached-none-arrived"),
    pytest.param(lambda: requests.no_seat_note(request(), NotEnoughLicenses(1, 0)), id="no-seat-marketplace"),
    pytest.param(lambda: requests.no_seat_note(request(summary=PROVIDER), NotEnoughLicenses(1, 0)),
                 id="no-seat-provider"),
    pytest.param(lambda: admin.roles_text([]), id="roles-none"),
    pytest.param(lambda: admin.roles_text([RoleBinding("U0000000001", "global-admin", "cli", None),
                                           RoleBinding("U0000000002", "license-admin", "U0000000001", NOW)]),
                 id="roles"),
    pytest.param(lambda: groups.seated_notice(NAME), id="seated"),
])
def test_text_only_answers_fit_in_a_message(text: Callable[[], str | None]) -> None:
    said = text()
    assert said and len(said) <= MESSAGE_TEXT


# ------------------------------------------------------------------ limits at size
LONG = app(LONG_NAME)


@pytest.mark.parametrize("build", [
    pytest.param(lambda: detail_views.details_view(overview(LONG), GLOBAL_ADMIN), id="details"),
    pytest.param(lambda: assign.assign_view(LONG_NAME), id="assign"),
    pytest.param(lambda: assign.assign_view(None, app_names=[LONG_NAME] * 3), id="assign-app-picker"),
    pytest.param(lambda: assign.assigned_summary(AssignOutcome(LONG, users(2), [], users(2), [])), id="assigned"),
    pytest.param(lambda: picker(details(LONG)), id="unassign-picker"),
    pytest.param(lambda: confirm(LONG), id="unassign-confirm"),
    pytest.param(lambda: unassign.done_view(UnassignOutcome(LONG, users(2), [], users(2), [])), id="unassigned"),
    pytest.param(lambda: seats.seats_view(LONG), id="seats"),
    pytest.param(lambda: seats.saved_view(SeatsOutcome(LONG, 8, 10, [])), id="seats-saved"),
    pytest.param(lambda: requests.request_view(LONG_NAME), id="request"),
    pytest.param(lambda: requests.deny_view(request(summary=LONG)), id="deny"),
])
def test_titles_fit_with_a_200_character_app_name(build: Build) -> None:
    view = build()
    assert len(title(view) or "") <= ui.TITLE_MAX
    View(**view).validate_json()
    assert checks.view_errors(view, "modal") == []


@pytest.mark.parametrize(("picked_users", "picked_groups"), [(100, 0), (50, 50), (0, 100)])
def test_the_unassign_confirmation_keeps_100_picks_in_its_private_metadata(picked_users: int,
                                                                          picked_groups: int) -> None:
    assert picked_users + picked_groups == unassign.MAX_PICKED  # the picker's own cap
    view = confirm(LONG, picked_users, picked_groups)
    assert len(view["private_metadata"]) <= ui.METADATA_MAX
    assert checks.view_errors(view, "modal") == []
    assert ui.decode_metadata(view) == {"app": LONG_NAME, "users": users(picked_users),
                                        "groups": group_ids(picked_groups)}


def many_apps(n: int, name_length: int) -> list[AppSummary]:
    return [replace(app(f"{i:03d} {LONG_NAME}"[:name_length], waiting=i), vendor="v" * 200) for i in range(n)]


@pytest.mark.parametrize("build", [
    pytest.param(lambda: catalog.apps_table(page_of(many_apps(20, 30), 200)), id="apps-200"),
    # a page of 20 apps with 200-character names and vendors: the text no longer grows with the catalog
    pytest.param(lambda: catalog.apps_table(page_of(many_apps(20, 200), 1000, 980), "x" * 300),
                 id="apps-1000-longest-names"),
    pytest.param(lambda: requests.approval_message(request(summary=LONG, reason="<!channel> " * 90)),
                 id="approval-longest-name-and-reason"),
    pytest.param(lambda: requests.approval_message(request(DENIED, summary=LONG, note="n" * MAX_NOTE)),
                 id="approval-denied-longest-note"),
    pytest.param(lambda: requests.requester_note(request(DENIED, summary=LONG, note="n" * MAX_NOTE)),
                 id="note-denied-longest-note"),
    pytest.param(lambda: requests.pending_list(page_of([request(request_id=i, reason="r" * MAX_NOTE, summary=LONG)
                                                        for i in range(21, 41)], 60, 20)), id="pending-60"),
    pytest.param(lambda: admin.audit_blocks([audit_entry(i, LONG_NAME, targets=40) for i in range(admin.AUDIT_SHOWN)],
                                            LONG_NAME), id="audit-20-entries-40-targets"),
])
def test_messages_at_size_stay_within_slacks_limits(build: BuildMessage) -> None:
    assert_slack_takes(*build())
