"""Every view and message the Slack door builds, in English and in French: each fits Slack's limits
(slack_sdk.models and the fake Slack's checks), each modal title stays within 24 characters uncut, and each
reads differently in French (a builder whose words were left in English fails here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from dataclasses import replace as dc_replace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain import (
    AppOverview,
    AssignOutcome,
    HeldLicense,
    RoleBinding,
    SeatsOutcome,
    SourceKind,
    UnassignOutcome,
)
from bot.errors import NotEnoughLicenses
from bot.provisioning import ProvisioningStatus
from bot.reclaims import Ask, ReclaimStart, ReclaimSummary
from bot.requests import APPROVED, DENIED, EXPIRED
from bot.usage import IdleCount
from handlers.slack import i18n, ui
from handlers.slack.features import (
    FEATURES,
    admin,
    alerts,
    assign,
    catalog,
    durations,
    expiry,
    groups,
    home,
    provisioning,
    reclaim,
    records,
    requests,
    seats,
    unassign,
)
from handlers.slack.features import details as detail_views
from handlers.slack.router import Router
from tests.slack.test_builders import (
    GLOBAL_ADMIN,
    LICENSE_ADMIN,
    MARKETPLACE,
    NOW,
    PROVIDER,
    app,
    audit_entry,
    confirm,
    details,
    directory,
    overview,
    page_of,
    request,
    users,
)
from tests.support.fake_slack import checks

Built = dict[str, Any] | tuple[str, list[dict[str, Any]]] | str
ROUTER = Router([sub for feature in FEATURES for sub in getattr(feature, "SUBCOMMANDS", [])])
STATUS = ProvisioningStatus(app=MARKETPLACE.name, scim_url="https://scim.contoso.example/v2", token_env="CONTOSO",
                            deprovision="delete", pending=1, provisioned=3, failed=2,
                            failures=[("U0000000001", "409 conflict"), ("U0000000002", "timeout")], token_set=True)
HELD = [HeldLicense(MARKETPLACE.name, True, [(SourceKind.USER, "U0000000042"), (SourceKind.GROUP, "S0000000001")]),
        HeldLicense("Fabrikam Design", False, [(SourceKind.USER, "U0000000042")]),
        HeldLicense("Litware Pass", True, [(SourceKind.USER, "U0000000042")], dt.date(2025, 3, 31))]
BINDINGS = [RoleBinding("U0000000001", "global-admin", "U0000000001", None),
            RoleBinding("U0000000002", "license-admin", "U0000000001", NOW)]


def timed_overview() -> AppOverview:
    """The details modal's content with time-limited assignments: a user and a group with an end date."""
    base = overview()
    users_ = [dc_replace(base.users[0], until=dt.date(2025, 3, 31)), *base.users[1:]]
    groups_ = [dc_replace(base.groups[0], until=dt.date(2025, 6, 30)), *base.groups[1:]]
    return dc_replace(base, users=users_, groups=groups_)


def home_data(admin_view: bool) -> home.HomeData:
    return home.HomeData("U0000000042", held=HELD, apps=[MARKETPLACE, PROVIDER, app("Empty", total=0, assigned=0)],
                         pending=[request()], admin=admin_view, approvals=[request(request_id=8)],
                         today=dt.date(2025, 3, 1))


BUILDERS: dict[str, Callable[[], Built]] = {
    # catalog: list, install, provider, mine, help
    "list": lambda: catalog.apps_table(page_of([MARKETPLACE, app("Other", waiting=3)], total=45), "crm"),
    "list empty": lambda: catalog.apps_table(page_of([]), ""),
    "list no match": lambda: catalog.apps_table(page_of([]), "zzz"),
    "install": lambda: catalog.install_blocks(MARKETPLACE),
    "provider": lambda: catalog.provider_blocks(PROVIDER),
    "mine": lambda: catalog.mine_text(HELD, [catalog.pending_line(request())]),
    "mine empty": lambda: catalog.mine_text([], []),
    "help": ROUTER.help_text,
    "unknown command": lambda: ROUTER.unknown_text("lsit"),
    # details and their pages
    "details": lambda: detail_views.details_view(overview(), GLOBAL_ADMIN, STATUS),
    "details holder": lambda: detail_views.details_view(overview(PROVIDER), LICENSE_ADMIN),
    "assignees": lambda: detail_views.assignees_view(MARKETPLACE, page_of(overview(direct=40).users[:20], 40)),
    "provisioning": lambda: ("", provisioning.provisioning_blocks(STATUS, GLOBAL_ADMIN)),
    # assign, unassign, seats, records
    "assign": lambda: assign.assign_view(MARKETPLACE.name),
    "assigned": lambda: assign.assigned_summary(AssignOutcome(MARKETPLACE, users(2), ["S0000000001"], users(1),
                                                              users(1)[:1])),
    # issue 13: time-limited licenses
    "assign until": lambda: assign.assign_view(None, app_names=[MARKETPLACE.name], until="2025-03-31"),
    "assigned until": lambda: assign.assigned_summary(AssignOutcome(MARKETPLACE, users(1), [], users(1), [],
                                                                    until="2025-03-31")),
    "details until": lambda: detail_views.details_view(timed_overview(), GLOBAL_ADMIN),
    "request more time": lambda: requests.request_view(MARKETPLACE.name, more_time="31 Mar 2025"),
    "approval 30 days": lambda: requests.approval_message(replace(request(), duration_days=30)),
    "outcome approved 30 days": lambda: requests.requester_note(replace(request(APPROVED), duration_days=30)),
    "duration": lambda: ("", [durations.duration_input()]),
    "license ending": lambda: expiry.ending_message(MARKETPLACE.name, dt.date(2025, 3, 31), 7),
    "license ending tomorrow": lambda: expiry.ending_message(MARKETPLACE.name, dt.date(2025, 3, 31), 1),
    "license ended": lambda: expiry.ended_text(MARKETPLACE.name, dt.date(2025, 3, 31)),
    "unassign": lambda: unassign.picker_view(details(), directory(details())),
    "confirm": confirm,
    "unassigned": lambda: unassign.done_view(UnassignOutcome(MARKETPLACE, users(2), [], users(1), users(2)[1:])),
    "unassign failed": lambda: unassign.failed_view(NotEnoughLicenses(3, 1)),
    "seats": lambda: seats.seats_view(MARKETPLACE),
    "seats saved": lambda: seats.saved_view(SeatsOutcome(MARKETPLACE, 10, 12, users(2))),
    "add app": lambda: records.record_view(None),
    "edit app": lambda: records.record_view(MARKETPLACE),
    "retire app": lambda: records.retire_view(MARKETPLACE),
    # requests: the form, the approvers' copies, the outcomes, reminders, the list
    "request": lambda: requests.request_view(MARKETPLACE.name),
    "request picker": lambda: requests.request_picker_view([MARKETPLACE.name, PROVIDER.name]),
    "request typeahead": lambda: requests.request_picker_view([f"App {i}" for i in range(150)]),
    "deny": lambda: requests.deny_view(request()),
    "approval pending": lambda: requests.approval_message(request()),
    "approval no seat": lambda: requests.approval_message(request(summary=app(total=4, assigned=4))),
    "approval approved": lambda: requests.approval_message(request(APPROVED)),
    "approval denied": lambda: requests.approval_message(request(DENIED, note="Budget")),
    "approval expired": lambda: requests.approval_message(request(EXPIRED)),
    "outcome approved": lambda: requests.requester_note(request(APPROVED)),
    "outcome denied": lambda: requests.requester_note(request(DENIED, note="Budget")),
    "outcome expired": lambda: requests.requester_note(request(EXPIRED)),
    "no seat": lambda: requests.no_seat_note(request(), NotEnoughLicenses(1, 0), GLOBAL_ADMIN),
    "no seat, provider": lambda: requests.no_seat_note(request(summary=PROVIDER), NotEnoughLicenses(1, 0)),
    "unreached": lambda: requests.unreached_note(request(), 0),
    "unreached approvers": lambda: requests.unreached_note(request(), 3),
    "reminder": lambda: requests.reminder_text(request()),
    "pending list": lambda: requests.pending_list(page_of([request(), request(request_id=9)], total=25)),
    "pending list empty": lambda: requests.pending_list(page_of([])),
    # admin, groups, home
    "roles": lambda: admin.roles_text(BINDINGS),
    "roles empty": lambda: admin.roles_text([]),
    "audit": lambda: admin.audit_blocks([audit_entry(i) for i in range(12)], None),
    "audit expiry": lambda: admin.audit_blocks([replace(audit_entry(0), action="assignment.expire", via="lifecycle",
                                                        actor="licensebot")], None),
    "audit of an app": lambda: admin.audit_blocks([audit_entry(0)], MARKETPLACE.name),
    "audit empty": lambda: admin.audit_blocks([], None),
    "waitlist seat": lambda: groups.seated_notice(MARKETPLACE.name),
    # alerts (issue 13): to the alerts channel or each billing and global admin
    "alert renewal": lambda: alerts.alert_message("renewal", MARKETPLACE, {"renewal_date": "2026-01-31", "days": 30}),
    "alert renewal, 1 day": lambda: alerts.alert_message("renewal", PROVIDER, {"renewal_date": "2026-01-31",
                                                                               "days": 1}),
    "alert low": lambda: alerts.alert_message("low", app(total=20, assigned=19, waiting=0), {}),
    "alert low, provider": lambda: alerts.alert_message("low", PROVIDER, {}),
    "alert low, no contact": lambda: alerts.alert_message("low", app(via="provider", contact=""), {}),
    "alert waitlist": lambda: alerts.alert_message("waitlist", app(total=4, assigned=4, waiting=3), {}),
    "alert, long name": lambda: alerts.alert_message("waitlist", app("x" * 200, waiting=10_000), {}),
    "home": lambda: home.home_view(home_data(admin_view=False)),
    "home admin": lambda: home.home_view(home_data(admin_view=True)),
    "summary": lambda: ui.summary_modal(i18n._("Request sent"), "…"),
    # reclaims: the details with usage, the form, the admin's answer, each state of a holder's DM, the summary
    "details idle": lambda: detail_views.details_view(overview(), GLOBAL_ADMIN, None, IdleCount(3, 2)),
    "reclaim form": lambda: reclaim.reclaim_view(MARKETPLACE.name, 7),
    "reclaim started": lambda: reclaim.started_text(ReclaimStart(MARKETPLACE.name, 1, users(3), users(2), NOW, 30)),
    "reclaim ask": lambda: reclaim.ask_message(ask("asked")),
    "reclaim reminder": lambda: reclaim.ask_message(ask("asked"), reminder=True),
    "reclaim kept": lambda: reclaim.ask_message(ask("kept")),
    "reclaim released": lambda: reclaim.ask_message(ask("released")),
    "reclaim no answer": lambda: reclaim.ask_message(ask("no-answer", open_=False)),
    "reclaim closed": lambda: reclaim.ask_message(ask("asked", open_=False)),
    "reclaim summary": lambda: reclaim.summary_message(ReclaimSummary(
        MARKETPLACE.name, "U0000000001", None, NOW, False, users(2), users(1), users(120), [], users(3))),
}


def ask(state: str, open_: bool = True) -> Ask:
    return Ask(5, MARKETPLACE.name, "U0000000042", state, open_, NOW)


def check(name: str, built: Built) -> None:
    if isinstance(built, dict):
        View(**built).validate_json()
        assert checks.view_errors(built, built["type"]) == [], name
        if built["type"] == "modal":
            title = built["title"]["text"]
            assert len(title) <= ui.TITLE_MAX and "…" not in title, (name, title)
        return
    text, blocks = built if isinstance(built, tuple) else (built, [ui.section(built)])
    assert len(text) <= 40_000, name
    for block in Block.parse_all(blocks):
        block.validate_json()
    assert checks.blocks_errors(blocks, "/blocks", 50) == [], name


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_fits_slack_in_both_languages(name: str, locale: str) -> None:
    with i18n.speaking(locale):
        check(name, BUILDERS[name]())


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_speaks_french_to_a_french_reader(name: str) -> None:
    with i18n.speaking("en"):
        english = BUILDERS[name]()
    with i18n.speaking("fr-FR"):
        french = BUILDERS[name]()
    assert french != english, f"{name} reads the same in French"


def test_a_french_reader_reads_the_admin_centers_words_in_requests_and_messages() -> None:
    with i18n.speaking("fr-FR"):
        form = requests.request_view(MARKETPLACE.name)
        assert (form["title"]["text"], form["submit"]["text"]) == ("Demander une licence", "Demander")
        _text, blocks = requests.approval_message(request())
        assert [e["text"]["text"] for e in blocks[3]["elements"]] == ["Approuver", "Refuser"]
        _text, blocks = catalog.install_blocks(MARKETPLACE)
        assert blocks[1]["elements"][0]["text"]["text"] == "Installer ce produit"
        _text, blocks = catalog.provider_blocks(PROVIDER)
        assert blocks[1]["elements"][0]["text"]["text"] == "Contacter le fournisseur"
        assert "Licences insuffisantes" in requests.no_seat_note(request(), NotEnoughLicenses(1, 0))
        assert "tout le monde" in ROUTER.help_text() and "`/licenses list [WORDS]`" in ROUTER.help_text()
        assert "12\u202f000 disponibles" in catalog.app_line(app(total=15_000, assigned=3_000))
