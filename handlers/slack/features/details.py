"""The license details modal (`/licenses show APP`) and its "See all N assignees" list, at any size.

The modal shows at most 30 users and 30 groups, each cut saying how many more, then "See all N assignees"
pushes every group and every user covered, 50 a page, with "Previous" / "Next". Text is packed line by
line (ui.sections): a mention is never cut in half.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.domain import AppOverview, AppSummary, Assignee, Rights, SourceKind
from bot.errors import LicensingError
from bot.paging import Page
from bot.provisioning import ProvisioningStatus
from bot.usage import IdleCount
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.features.catalog import (
    CONTACT_PROVIDER,
    INSTALL_PRODUCT,
    OPEN_ASSIGN,
    OPEN_SEATS,
    OPEN_UNASSIGN,
    REQUEST_FROM_DETAILS,
    contact_url,
)
from handlers.slack.features.provisioning import provisioning_blocks
from handlers.slack.features.reclaim import OPEN_RECLAIM
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.router import Invocation, Subcommand, open_modal, user_of

log = logging.getLogger("licensebot")

SEE_ALL = "details_see_all"
OPEN_EDIT = "details_edit_app"  # "Edit app": handlers/slack/features/records.py listens for it
ASSIGNEES_PAGE = "assignees_page"  # "Previous" / "Next" in the list: assignees_page_previous, _next
ASSIGNEES_CALLBACK = "license_assignees"
SHOWN_USERS = 30
SHOWN_GROUPS = 30
SHOWN_WAITING = 20
PAGE_SIZE = 50
GROUP_WAITING_SHOWN = 5  # a group's line names its oldest waiting members, then counts the rest


# ------------------------------------------------------------------ pure builders
def more(shown: int, total: int) -> str:
    """ " and 470 more" when a list is cut; "" when everything is shown."""
    rest = total - shown
    return " " + _("and {count} more").format(count=i18n.number(rest)) if rest > 0 else ""


def facts(app: AppSummary) -> list[str]:
    via = _("Marketplace") if app.is_marketplace else _("Provider")
    lines = [
        _("*Vendor:* {vendor}").format(vendor=ui.escape(app.vendor) or "—"),
        _("*Purchased via:* {via}").format(via=via),
        _("*Licenses:* {assigned} assigned / {available} available / {total} total").format(
            assigned=i18n.number(app.assigned), available=i18n.number(app.available), total=i18n.number(app.total)),
        _("*Renewal date:* {date}").format(date=i18n.date(app.renewal_date) if app.renewal_date else "—"),
    ]
    if app.provider_contact:  # always as text: a phone number is no link, and a link should be readable
        lines.append(_("*Provider contact:* {contact}").format(contact=ui.escape(app.provider_contact)))
    return lines


def group_line(group: Assignee) -> str:
    """One group: at most ~200 characters (a mention, two counts, five waiting mentions)."""
    line = ui.group_ref(group.id) + until_note(group) + ": " + _("{count} licensed").format(count=group.licensed)
    if group.waiting:
        names = ", ".join(ui.user_ref(u) for u in group.first_waiting)
        line += ", " + _("{count} waiting: not enough licenses").format(count=i18n.number(group.waiting))
        if names:
            line += f" — {names}{more(len(group.first_waiting), group.waiting)}"
    return line


def until_note(entry: Assignee) -> str:
    """ " (until 31 Dec 2026)" for a time-limited assignment; "" for a permanent one."""
    return " " + _("(until {date})").format(date=i18n.date(entry.until)) if entry.until else ""


def idle_line(idle: IdleCount) -> str:
    """ "Idle 30+ days: N": holders whose last reported activity is that old; those never reported apart."""
    line = _("*Idle {days}+ days:* {count}").format(days=idle.days, count=i18n.number(idle.idle))
    if idle.no_data:
        line += " · " + _("no usage data: {count}").format(count=i18n.number(idle.no_data))
    return line


def details_view(overview: AppOverview, rights: Rights, provisioning: ProvisioningStatus | None = None,
                 idle: IdleCount | None = None) -> dict[str, Any]:
    """The license details modal; only the buttons this person may use. `provisioning`: the app's SCIM
    provisioning, when it has any; `idle`: its holders' usage (for admins)."""
    app = overview.app
    lines = facts(app) + ([idle_line(idle)] if idle is not None else [])
    blocks: list[dict[str, Any]] = [ui.section("\n".join(lines))]
    if app.notes:
        blocks.append(ui.context(ui.escape(app.notes)[:2000]))
    blocks.append(ui.divider())

    head = _("*Users* ({count}):").format(count=i18n.number(overview.users_total))
    if overview.users:
        users = [ui.user_ref(u.id) + until_note(u) + ("" if u.seated else " " + _("(waiting)"))
                 for u in overview.users]
        blocks += ui.sections([", ".join(users) + more(len(users), overview.users_total)], head=head)
    else:
        blocks.append(ui.section(head + " " + _("none")))

    head = _("*Groups* ({count}):").format(count=i18n.number(overview.groups_total))
    if overview.groups:
        lines = [group_line(g) for g in overview.groups]
        if overview.groups_total > len(lines):
            lines.append(_("and {count} more groups").format(count=overview.groups_total - len(lines)))
        blocks += ui.sections(lines, head=head)
    else:
        blocks.append(ui.section(head + " " + _("none")))

    if overview.waiting:
        names = ", ".join(ui.user_ref(u) for u in overview.waiting)
        blocks.append(ui.context(_("Waiting for a license (oldest first): {names}").format(names=names)
                                 + more(len(overview.waiting), overview.waiting_total)))
    if overview.assignees_total:
        label = ngettext("See all {count} assignee", "See all {count} assignees", overview.assignees_total)
        label = label.format(count=i18n.number(overview.assignees_total))
        blocks.append(ui.actions([ui.button(label, SEE_ALL, app.name)], block_id="details_more"))
    if provisioning is not None:
        blocks.extend(provisioning_blocks(provisioning, rights))

    buttons = []
    if rights.assign:
        buttons.append(ui.button(_("Assign licenses"), OPEN_ASSIGN, app.name, style="primary"))
        buttons.append(ui.button(_("Unassign licenses"), OPEN_UNASSIGN, app.name))
    if rights.reclaim and overview.users_total:  # someone holds it directly: there is someone to ask
        buttons.append(ui.button(_("Reclaim licenses"), OPEN_RECLAIM, app.name))
    if rights.change_seats:
        if app.is_marketplace:
            buttons.append(ui.button(_("Add or remove licenses"), OPEN_SEATS, app.name))
        elif contact_url(app.provider_contact):
            url = contact_url(app.provider_contact)
            buttons.append(ui.button(_("Contact provider"), CONTACT_PROVIDER, app.name, url=url))
    if not rights.holds and not rights.is_admin:  # a plain user: asking is what they can do here
        buttons.append(ui.button(_("Request a license"), REQUEST_FROM_DETAILS, app.name, style="primary"))
    if app.install_url and rights.install:
        buttons.append(ui.button(_("Install this product"), INSTALL_PRODUCT, app.name, url=app.install_url))
    if rights.edit_apps:
        buttons.append(ui.button(_("Edit app"), OPEN_EDIT, app.name))
    if buttons:
        blocks.append(ui.actions(buttons, block_id="details_actions"))
    return ui.modal(app.name, blocks, callback_id="license_details", close=_("Close"), metadata={"app": app.name})


def assignee_line(entry: Assignee) -> str:
    """One entry of "See all": who, through what, and in which state; at most ~250 characters."""
    if entry.kind == SourceKind.GROUP:
        line = ui.group_ref(entry.id) + until_note(entry) + " · " + _("group") + " · " + _("{count} licensed").format(
            count=entry.licensed)
        if entry.waiting:
            line += ", " + _("{count} waiting").format(count=entry.waiting)
        return line
    sources = [_("direct") + until_note(entry) if kind == SourceKind.USER else ui.group_ref(subject)
               for kind, subject in entry.sources]
    shown = ", ".join(sources[:3]) + more(3, len(sources))
    state = _("licensed") if entry.seated else _("waiting: not enough licenses")
    return f"{ui.user_ref(entry.id)} · {shown} · {state}"


def assignees_view(app: AppSummary, page: Page[Assignee]) -> dict[str, Any]:
    """ "See all N assignees": 50 entries a page, groups first, then users, each with its source and state."""
    head = _("*{app}*: {count} assignees, groups first, then users").format(app=ui.escape(app.name),
                                                                           count=page.total)
    blocks = ui.sections([assignee_line(e) for e in page.items] or [_("No assignees.")], head=head)
    blocks += ui.pager(page, ASSIGNEES_PAGE, {"a": app.name})
    return ui.modal(_("All assignees"), blocks, callback_id=ASSIGNEES_CALLBACK, close=_("Back"),
                    metadata={"app": app.name})


# ------------------------------------------------------------------ subcommand, buttons
def show(inv: Invocation) -> None:
    catalog = inv.deps.service.catalog
    name = catalog.resolve_name(inv.args)  # unknown or ambiguous: answered now, in the ack

    def build() -> dict[str, Any]:
        return details_of(inv.deps, name, inv.user_id)

    inv.open_modal(build)


def details_of(deps: Deps, name: str, user_id: str) -> dict[str, Any]:
    """The details modal of one app for one person, read now (opened, or redrawn after a change)."""
    overview, rights = deps.service.catalog.overview(name, user_id, users=SHOWN_USERS, groups=SHOWN_GROUPS,
                                                     waiting=SHOWN_WAITING)
    idle = deps.service.usage.idle(name) if rights.is_admin else None
    return details_view(overview, rights, deps.service.provisioning.state_of(name), idle)


def turn_page(deps: Deps, body: dict[str, Any]) -> None:
    """ "Previous" / "Next" in the list: the same modal, another page (after the ack)."""
    view = body.get("view") or {}
    state = ui.pager_state(body)
    if not state or not view.get("id"):
        return
    try:
        summary, page = deps.service.catalog.assignees(str(state.get("a") or ""), state["p"], PAGE_SIZE)
        new_view = assignees_view(summary, page)
    except LicensingError as error:  # e.g. the app was retired meanwhile
        new_view = ui.summary_modal(_("All assignees"), f":warning: {ui.say(error)}")
    try:
        deps.client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        log.warning("views.update of the assignees list failed: %s",
                    error.response.get("error") if error.response is not None else "no answer")


SUBCOMMANDS = [
    Subcommand("show", "/licenses show APP", N_("everyone"), N_("the license details"), show, 20),
]


def register(app: App, deps: Deps) -> None:
    @app.action(SEE_ALL)
    def see_all(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user_id = user_of(body)
        name = str(((body.get("actions") or [{}])[0] or {}).get("value") or "")

        def build() -> dict[str, Any]:
            return assignees_view(*deps.service.catalog.assignees(name, 1, PAGE_SIZE))

        deps.later(open_modal, deps, str(body.get("trigger_id") or ""), build, user_id, None, None, push=True)

    @app.action(re.compile(f"^{ASSIGNEES_PAGE}_(previous|next)$"))
    def paged(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        deps.later(turn_page, deps, body)
