"""The Home tab: what each person sees when they open Licensebot in Slack (`app_home_opened` → `views.publish`).

Everyone: "Your licenses" (with the install link where there is one), their pending requests and "Request a
license", which opens the request modal with an app picker. Admins also see every app with a usage bar, the
waitlists, renewals in the next 90 days, the open alerts (an app at or below its low-license threshold, or
with people waiting) and, for approvers, the pending requests with "Approve" / "Deny", which work from here
as from the DMs.

A Home view holds at most 100 blocks: past that it is paged ("Next" / "Previous"). It is published when the
person opens the tab, after they act on it, and after the outbox tells them something (a change concerned
them) — the last only for people this process has seen open their Home, so a change to a 10,000-member group
costs no 10,000 `views.publish` calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.alerts import is_open, low_threshold
from bot.domain import ADMINS, ALLOWED, Action, Actor, AppSummary, HeldLicense, SourceKind
from bot.requests import LicenseRequest
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.features.catalog import ends
from handlers.slack.features.requests import APPROVE_ACTION, DENY_ACTION, request_picker_view
from handlers.slack.i18n import _, ngettext
from handlers.slack.router import Subcommand, open_modal

log = logging.getLogger("licensebot")

HOME_REQUEST = "home_request"  # "Request a license" (opens the request modal with an app picker)
HOME_PAGE = "home_page"  # "Next" / "Previous"
BLOCKS_PER_PAGE = 97  # of Slack's 100: room for the paging row and its note
BAR_CELLS = 10
RENEWAL_DAYS = 90
SECTION_TEXT = 2900  # of a section's 3,000 characters: lines are packed, never cut


@dataclass
class HomeData:
    """What one person's Home shows, read from the core."""

    user_id: str
    held: list[HeldLicense]
    apps: list[AppSummary]
    pending: list[LicenseRequest]  # the person's own requests
    admin: bool = False
    approvals: list[LicenseRequest] = field(default_factory=list)  # for approvers: everyone's pending requests
    today: dt.date = field(default_factory=dt.date.today)


# ------------------------------------------------------------------ pure builders
def usage_bar(assigned: int, total: int) -> str:
    """`▰▰▰▰▰▱▱▱▱▱ 12 / 20`: ten cells, a cell filled per tenth of the licenses assigned."""
    filled = 0 if total <= 0 else min(BAR_CELLS, round(BAR_CELLS * assigned / total))
    if total > 0 and assigned > 0 and filled == 0:
        filled = 1  # one license in use is never shown as none
    return "▰" * filled + "▱" * (BAR_CELLS - filled) + f" {i18n.number(assigned)} / {i18n.number(total)}"


def packed_sections(lines: list[str]) -> list[dict[str, Any]]:
    """Lines as few sections as fit Slack's 3,000 characters each, whole lines only (no mention cut in half)."""
    blocks: list[dict[str, Any]] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= SECTION_TEXT else ui.shorten(line, SECTION_TEXT)
        if chunk and size + len(line) + 1 > SECTION_TEXT:
            blocks.append(ui.section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(ui.section("\n".join(chunk)))
    return blocks


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": ui.plain(text, 150)}


def licenses_blocks(data: HomeData) -> list[dict[str, Any]]:
    by_name = {a.name: a for a in data.apps}
    blocks: list[dict[str, Any]] = [header(_("Your licenses"))]
    if not data.held:
        blocks.append(ui.section(_("You hold no licenses yet.")))
    for held in data.held:
        sources = ", ".join(_("assigned to you") if kind == SourceKind.USER
                            else _("through {group}").format(group=ui.group_ref(s)) for kind, s in held.sources)
        line = f"*{held.app}* ({sources}){ends(held)}"
        app = by_name.get(held.app)
        accessory = None
        if not held.seated:
            line += " — " + _("waiting: not enough licenses")
        elif app is not None and app.install_url:
            accessory = ui.button(_("Install this product"), "install_product", app.name, url=app.install_url)
        blocks.append(ui.section(line, accessory=accessory))
    if data.pending:
        blocks.append(ui.section("*" + _("Your pending requests") + "*"))
        blocks.extend(packed_sections([
            "• " + _("*{app}* — asked {when}, waiting for an approver").format(
                app=r.app.name, when=ui.slack_date(r.created_at)) for r in data.pending]))
    blocks.append(ui.actions([ui.button(_("Request a license"), HOME_REQUEST, "", style="primary")],
                             block_id="home_request"))
    return blocks


def admin_blocks(data: HomeData) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [ui.divider(), header(_("Every app"))]
    if not data.apps:
        blocks.append(ui.section(_("No apps yet. An operator adds them with `licensebot apps import FILE.yml`.")))
    else:
        blocks.extend(packed_sections([
            f"*{a.name}*  `{usage_bar(a.assigned, a.total)}`"
            + (" · " + _("{n} waiting").format(n=i18n.number(a.waiting)) if a.waiting else "") for a in data.apps]))
    alerts = [a for a in data.apps if is_open(a)]  # licenses at or below the threshold, or people waiting
    if alerts:
        blocks.append(ui.section("*" + _("Alerts") + "*"))
        blocks.extend(packed_sections([
            ":warning: " + ngettext("*{app}*: {available} of {total} available (alert at {threshold})",
                                    "*{app}*: {available} of {total} available (alert at {threshold})",
                                    a.available).format(
                app=a.name, available=i18n.number(a.available), total=i18n.number(a.total),
                threshold=i18n.number(low_threshold(a.total, a.low_seat_threshold)))
            + (" · " + _("{n} waiting").format(n=i18n.number(a.waiting)) if a.waiting else "")
            for a in alerts]))
    horizon = data.today + dt.timedelta(days=RENEWAL_DAYS)
    renewals = sorted((a for a in data.apps if a.renewal_date and data.today <= a.renewal_date <= horizon),
                      key=lambda a: (a.renewal_date, a.name))
    blocks.append(ui.section("*" + _("Renewals in the next {days} days").format(days=RENEWAL_DAYS) + "*"))
    if renewals:
        blocks.extend(packed_sections([f"• *{a.name}* — {i18n.date(a.renewal_date)}" for a in renewals
                                       if a.renewal_date]))
    else:
        blocks.append(ui.context(_("None.")))
    if data.approvals:
        blocks.append(header(_("Pending approvals ({n})").format(n=len(data.approvals))))
        for request in data.approvals:
            reason = f"\n>{ui.escape(request.reason)[:300]}" if request.reason else ""
            blocks.append(ui.section(
                _("#{id} {who} asks for *{app}* ({available} available) · {when}").format(
                    id=request.id, who=ui.user_ref(request.requester), app=request.app.name,
                    available=i18n.number(request.app.available), when=ui.slack_date(request.created_at)) + reason))
            blocks.append(ui.actions([
                ui.button(_("Approve"), APPROVE_ACTION, str(request.id), style="primary"),
                ui.button(_("Deny"), DENY_ACTION, str(request.id), style="danger"),
            ], block_id=f"request_{request.id}"))
    return blocks


def pages_of(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Cut into pages of at most BLOCKS_PER_PAGE, never between a request and its buttons."""
    pages: list[list[dict[str, Any]]] = [[]]
    for i, block in enumerate(blocks):
        page = pages[-1]
        keep_with_next = block.get("type") == "section" and i + 1 < len(blocks) \
            and blocks[i + 1].get("type") == "actions" and str(blocks[i + 1].get("block_id", "")).startswith("request_")
        if len(page) + (2 if keep_with_next else 1) > BLOCKS_PER_PAGE and page:
            pages.append([])
        pages[-1].append(block)
    return pages


def home_view(data: HomeData, page: int = 0) -> dict[str, Any]:
    """The Home tab of one person, one page of it."""
    blocks = licenses_blocks(data) + (admin_blocks(data) if data.admin else [])
    pages = pages_of(blocks)
    page = max(0, min(page, len(pages) - 1))
    shown = list(pages[page])
    if len(pages) > 1:
        buttons = []
        if page > 0:
            buttons.append(ui.button(_("Previous"), HOME_PAGE, str(page - 1)))
        if page < len(pages) - 1:
            buttons.append(ui.button(_("Next"), HOME_PAGE, str(page + 1)))
        shown.append(ui.context(_("Page {page} of {pages}").format(page=page + 1, pages=len(pages))))
        shown.append(ui.actions(buttons, block_id="home_pages"))
    view: dict[str, Any] = {"type": "home", "callback_id": "home", "blocks": shown,
                            "private_metadata": ui.encode_metadata({"page": page})}
    View(**view).validate_json()  # Slack's limits, checked before it leaves (a broken view is a bug)
    return view


# ------------------------------------------------------------------ reading and publishing
def home_data(deps: Deps, user_id: str) -> HomeData:
    service = deps.service
    actor = Actor(user_id)
    roles = service.roles.of(user_id)
    approver = bool(roles & ALLOWED[Action.LIST_REQUESTS])
    return HomeData(
        user_id=user_id,
        held=service.catalog.licenses_of(user_id),
        apps=service.catalog.list_apps(),
        pending=service.requests.pending_of(user_id),
        admin=bool(roles & ADMINS),
        approvals=service.requests.pending(actor) if approver else [],
    )


class Homes:
    """Publishing Home views: who opened theirs here (to refresh after a change) and on which page."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._pages: dict[str, int] = {}
        self._lock = threading.Lock()

    def seen(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._pages

    def publish(self, user_id: str, page: int | None = None) -> None:
        with self._lock:
            page = self._pages.get(user_id, 0) if page is None else page
            self._pages[user_id] = page
        view = home_view(home_data(self.deps, user_id), page)
        try:
            self.deps.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))

    def refresh_if_seen(self, user_id: str) -> None:
        """After the outbox told someone something: their Home shows it too, if they have one open here."""
        if user_id and self.seen(user_id):
            self.deps.later(self.publish, user_id)


SUBCOMMANDS: list[Subcommand] = []


def register(app: App, deps: Deps) -> None:
    homes = Homes(deps)
    deps.on_change.append(homes.refresh_if_seen)
    # a seat given or taken by this process (an admin's modal, a group event, the waitlist, expiry): the
    # holders' open Homes show it, whether or not they were told by DM
    deps.service.on_seats_changed(lambda users: deps.after_change(*users))

    @app.event("app_home_opened")
    def opened(event: dict[str, Any]) -> None:
        user_id = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user_id:
            return  # the Messages tab: nothing to publish
        deps.later(homes.publish, user_id)

    @app.action(HOME_REQUEST)
    def request_clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user_id = str((body.get("user") or {}).get("id") or "")

        def build() -> dict[str, Any]:
            held = {h.app for h in deps.service.catalog.licenses_of(user_id)}
            return request_picker_view([a.name for a in deps.service.catalog.list_apps() if a.name not in held])

        deps.later(open_modal, deps, str(body.get("trigger_id") or ""), build, user_id, None, None,
                   since=time.monotonic())

    @app.action(HOME_PAGE)
    def page(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        if user_id and value.isascii() and value.isdigit() and len(value) < 6:
            deps.later(homes.publish, user_id, int(value))
