"""Reading the catalog: `/licenses list`, `show` (the license details modal), `install`, `mine`, `help`."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.catalog_cache import WATCH_SECONDS
from bot.domain import AppSummary, HeldLicense, SourceKind
from bot.names import clean_query
from bot.paging import Page
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps, repeat
from handlers.slack.i18n import N_, _
from handlers.slack.router import Invocation, Subcommand

# action ids of the details modal's buttons; the features that own the flows listen for them
OPEN_ASSIGN = "details_assign"
OPEN_UNASSIGN = "details_unassign"
OPEN_SEATS = "details_seats"
CONTACT_PROVIDER = "contact_provider"
INSTALL_PRODUCT = "install_product"
REQUEST_FROM_DETAILS = "details_request"
LIST_PAGE = "list_page"  # "Previous" / "Next" under `/licenses list`: list_page_previous, list_page_next
LISTED = 20  # apps a page of `/licenses list`
log = logging.getLogger("licensebot")

INSTALL_NOTE = N_("You are redirected to the vendor's site to install it in your organisation's environment.")


# ------------------------------------------------------------------ pure builders
def apps_table(page: Page[AppSummary], query: str = "") -> tuple[str, list[dict[str, Any]]]:
    """One page of `/licenses list [WORDS]`: 20 apps, and "Previous" / "Next" when there are more."""
    shown = ui.escape(query[:100])
    if not page.items:
        if query:
            text = _('No app matches "{query}". `/licenses list` shows them all.').format(query=shown)
        else:
            text = _("No apps yet. A billing admin adds one with `/licenses add`, an operator with "
                     "`licensebot apps import FILE.yml`.")
        return text, [ui.section(text)]
    lines = [app_line(a) for a in page.items]
    head = _("*Licenses* (assigned / available / total)")
    if query:
        head += " · " + _('matching "{query}"').format(query=shown)
    blocks = ui.sections(lines, head=head)
    blocks += ui.pager(page, LIST_PAGE, {"q": query[:200]})
    blocks.append(ui.context(_("`/licenses show APP` for details · `/licenses list WORDS` to filter · "
                               "`/licenses help` for every command")))
    first, last, total = (i18n.number(n) for n in (page.first, page.last, page.total))
    where = f" ({first}–{last} / {total})" if page.total > page.size else ""
    return _("Licenses") + where + ":\n" + "\n".join(lines), blocks


def app_line(a: AppSummary) -> str:
    """One app of the list: at most ~300 characters (a name holds 200), so 20 fit any message."""
    line = _("*{name}* — {assigned} assigned / {available} available / {total} total").format(
        name=ui.escape(a.name), assigned=i18n.number(a.assigned), available=i18n.number(a.available),
        total=i18n.number(a.total))
    if a.waiting:
        line += " · " + _("{count} waiting").format(count=i18n.number(a.waiting))
    if a.vendor:
        line += f" · _{ui.escape(a.vendor[:60])}_"
    return line


def contact_url(contact: str) -> str | None:
    contact = (contact or "").strip()
    if contact.startswith(("https://", "http://", "mailto:", "tel:")):
        return contact
    if "@" in contact and " " not in contact:
        return f"mailto:{contact}"
    return None


def provider_blocks(app: AppSummary) -> tuple[str, list[dict[str, Any]]]:
    text = _("*{app}* was bought through its provider: licenses can't be added or removed from Slack. "
             "Contact the provider: {contact}.").format(app=app.name,
                                                        contact=app.provider_contact or _("no contact on record"))
    url = contact_url(app.provider_contact)
    blocks = [ui.section(text)]
    if url:
        blocks.append(ui.actions([ui.button(_("Contact provider"), CONTACT_PROVIDER, app.name, url=url)]))
    return text, blocks


def install_blocks(app: AppSummary) -> tuple[str, list[dict[str, Any]]]:
    text = _("*Install this product:* {app}").format(app=app.name) + "\n" + _(INSTALL_NOTE)
    return text, [
        ui.section(text),
        ui.actions([
            ui.button(_("Install this product"), INSTALL_PRODUCT, app.name, url=app.install_url, style="primary"),
        ]),
    ]


def ends(held: HeldLicense) -> str:
    """ " · until 31 Dec 2026" for a license with an end date (issue 13); "" for a permanent one."""
    return " · " + _("until {date}").format(date=i18n.date(held.until)) if held.until else ""


def mine_text(held: list[HeldLicense], pending: list[str]) -> str:
    if not held and not pending:
        return _("You hold no licenses. Ask for one with `/licenses request APP`.")
    lines = [_("*Your licenses*")] if held else []
    for h in held:
        sources = ", ".join(_("assigned to you") if kind == SourceKind.USER
                            else _("through {group}").format(group=ui.group_ref(s)) for kind, s in h.sources)
        state = "" if h.seated else " — " + _("waiting: not enough licenses")
        lines.append(f"• *{h.app}* ({sources}){ends(h)}{state}")
    if pending:
        lines.append(_("*Your pending requests*"))
        lines.extend(f"• {p}" for p in pending)
    return "\n".join(lines)


# ------------------------------------------------------------------ subcommands
def list_apps(inv: Invocation) -> None:
    query = clean_query(inv.args)
    text, blocks = apps_table(inv.deps.service.catalog.list_page(query, 1, LISTED), query)
    inv.reply(text, blocks)


def list_page_clicked(deps: Deps, body: dict[str, Any], respond: Respond) -> None:
    """ "Next" / "Previous" under `/licenses list`: the same message, another page (after the ack)."""
    state = ui.pager_state(body)
    if not state:
        return
    query = clean_query(str(state.get("q") or ""))[:200]
    text, blocks = apps_table(deps.service.catalog.list_page(query, state["p"], LISTED), query)
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def install(inv: Invocation) -> None:
    service = inv.deps.service
    app = service.catalog.app(inv.args)
    if not service.roles.rights(inv.user_id, app.name).install:
        inv.reply(_("You don't hold a license of *{app}*. Ask for one with `/licenses request {app}`.").format(
            app=app.name))
        return
    if not app.install_url:
        inv.reply(_("*{app}* has no install link on record. Ask a billing admin to add one.").format(app=app.name))
        return
    inv.reply(*install_blocks(app))


def mine(inv: Invocation) -> None:
    service = inv.deps.service
    pending = [pending_line(r) for r in service.requests.pending_of(inv.user_id)]
    inv.reply(mine_text(service.catalog.licenses_of(inv.user_id), pending))


def pending_line(request: Any) -> str:
    return _("*{app}* — asked {when}, waiting for an approver").format(app=request.app.name,
                                                                        when=ui.slack_date(request.created_at))


def show_help(inv: Invocation) -> None:
    inv.reply(inv.router.help_text())


EVERYONE = N_("everyone")
SUBCOMMANDS = [
    Subcommand("list", "/licenses list [WORDS]", EVERYONE,
               N_("the apps with assigned / available / total; WORDS filter by name or vendor"), list_apps, 10),
    Subcommand("install", "/licenses install APP", EVERYONE, N_("the “Install this product” link"), install, 60),
    Subcommand("mine", "/licenses mine", EVERYONE, N_("the apps I hold, through which source, and my pending requests"),
               mine, 90),
    Subcommand("help", "/licenses help", EVERYONE, N_("this table"), show_help, 200),
]


def watch_catalog(deps: Deps, stop: threading.Event) -> None:
    """`serve` keeps what `list` and app names answered (bot/catalog_cache.py); this keeps it in step with
    other processes' changes. A database that cannot answer is logged once, not every round."""
    answering = [True]

    def look(_first: bool) -> None:
        ok = deps.service.catalog.watch()
        if ok != answering[0]:
            answering[0] = ok
            if ok:
                log.info("catalog-watch: the database answers again")
            else:
                log.warning("catalog-watch: cannot read the catalog version; reading the database every time")

    repeat(stop, WATCH_SECONDS, "catalog-watch", look)


def register(app: App, deps: Deps) -> None:
    deps.on_start.append(lambda stop: watch_catalog(deps, stop))

    @app.action(re.compile(f"^{LIST_PAGE}_(previous|next)$"))
    def list_paged(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.later(list_page_clicked, deps, body, respond)

    # Link buttons still send an action: acknowledge it so Slack shows no error.
    @app.action(INSTALL_PRODUCT)
    @app.action(CONTACT_PROVIDER)
    def link_clicked(ack: Ack) -> None:
        ack()
