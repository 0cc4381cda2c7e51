"""Reading the catalog: `/licenses list`, `show` (the license details modal), `install`, `mine`, `help`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain import AppDetails, AppSummary, HeldLicense, Rights, SourceKind
from bot.provisioning import ProvisioningStatus
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.features.provisioning import provisioning_blocks
from handlers.slack.i18n import _
from handlers.slack.router import Invocation, Subcommand

# action ids of the details modal's buttons; the features that own the flows listen for them
OPEN_ASSIGN = "details_assign"
OPEN_UNASSIGN = "details_unassign"
OPEN_SEATS = "details_seats"
CONTACT_PROVIDER = "contact_provider"
INSTALL_PRODUCT = "install_product"
REQUEST_FROM_DETAILS = "details_request"

INSTALL_NOTE = "You are redirected to the vendor's site to install it in your organisation's environment."


# ------------------------------------------------------------------ pure builders
def apps_table(apps: list[AppSummary]) -> tuple[str, list[dict[str, Any]]]:
    if not apps:
        text = "No apps yet. An operator adds them with `licensebot apps import FILE.yml`."
        return text, [ui.section(text)]
    lines = [f"*{a.name}* — {a.assigned} assigned / {a.available} available / {a.total} total"
             + (f" · {a.waiting} waiting" if a.waiting else "") for a in apps]
    blocks: list[dict[str, Any]] = [ui.section("*Licenses* (assigned / available / total)")]
    for start in range(0, len(lines), 20):  # a section holds 3,000 characters
        blocks.append(ui.section("\n".join(lines[start : start + 20])))
    blocks.append(ui.context("`/licenses show APP` for details · `/licenses help` for every command"))
    return "Licenses:\n" + "\n".join(lines), blocks[:50]


def details_view(details: AppDetails, rights: Rights, provisioning: ProvisioningStatus | None = None) -> dict[str, Any]:
    """The license details modal; only the buttons this person may use. `provisioning`: the app's SCIM
    provisioning, when it has any."""
    app = details.app
    via = "Marketplace" if app.is_marketplace else "Provider"
    facts = [
        f"*Vendor:* {app.vendor or '—'}",
        f"*Purchased via:* {via}",
        f"*Licenses:* {app.assigned} assigned / {app.available} available / {app.total} total",
        f"*Renewal date:* {app.renewal_date.isoformat() if app.renewal_date else '—'}",
    ]
    blocks: list[dict[str, Any]] = [ui.section("\n".join(facts))]
    if app.notes:
        blocks.append(ui.context(app.notes))
    blocks.append(ui.divider())
    blocks.append(ui.section("*Users:* " + ui.user_list(details.direct_users)))
    if details.groups:
        lines = []
        for g in details.groups[:40]:
            line = f"{ui.group_ref(g.group_id)}: {len(g.seated)} licensed"
            if g.waiting:
                line += f", waiting: not enough licenses — {ui.user_list(g.waiting, 10)}"
            lines.append(line)
        blocks.append(ui.section("*Groups:*\n" + "\n".join(lines)))
    else:
        blocks.append(ui.section("*Groups:* none"))
    if details.waiting:
        blocks.append(ui.context(f"Waiting for a license (oldest first): {ui.user_list(details.waiting, 20)}"))
    if provisioning is not None:
        blocks.extend(provisioning_blocks(provisioning, rights))

    buttons = []
    if rights.assign:
        buttons.append(ui.button(_("Assign licenses"), OPEN_ASSIGN, app.name, style="primary"))
        buttons.append(ui.button(_("Unassign licenses"), OPEN_UNASSIGN, app.name))
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
    if buttons:
        blocks.append(ui.actions(buttons, block_id="details_actions"))
    return ui.modal(app.name, blocks, callback_id="license_details", close=_("Close"), metadata={"app": app.name})


def contact_url(contact: str) -> str | None:
    contact = (contact or "").strip()
    if contact.startswith(("https://", "http://", "mailto:", "tel:")):
        return contact
    if "@" in contact and " " not in contact:
        return f"mailto:{contact}"
    return None


def provider_blocks(app: AppSummary) -> tuple[str, list[dict[str, Any]]]:
    text = (f"*{app.name}* was bought through its provider: licenses can't be added or removed from Slack. "
            f"Contact the provider: {app.provider_contact or 'no contact on record'}.")
    url = contact_url(app.provider_contact)
    blocks = [ui.section(text)]
    if url:
        blocks.append(ui.actions([ui.button("Contact provider", CONTACT_PROVIDER, app.name, url=url)]))
    return text, blocks


def install_blocks(app: AppSummary) -> tuple[str, list[dict[str, Any]]]:
    text = f"*Install this product:* {app.name}\n{INSTALL_NOTE}"
    return text, [
        ui.section(text),
        ui.actions([
            ui.button("Install this product", INSTALL_PRODUCT, app.name, url=app.install_url, style="primary"),
        ]),
    ]


def mine_text(held: list[HeldLicense], pending: list[str]) -> str:
    if not held and not pending:
        return "You hold no licenses. Ask for one with `/licenses request APP`."
    lines = ["*Your licenses*"] if held else []
    for h in held:
        sources = ", ".join("assigned to you" if kind == SourceKind.USER else f"through {ui.group_ref(s)}"
                            for kind, s in h.sources)
        state = "" if h.seated else " — waiting: not enough licenses"
        lines.append(f"• *{h.app}* ({sources}){state}")
    if pending:
        lines.append("*Your pending requests*")
        lines.extend(f"• {p}" for p in pending)
    return "\n".join(lines)


# ------------------------------------------------------------------ subcommands
def list_apps(inv: Invocation) -> None:
    text, blocks = apps_table(inv.deps.service.catalog.list_apps())
    inv.reply(text, blocks)


def show(inv: Invocation) -> None:
    catalog = inv.deps.service.catalog
    name = catalog.resolve_name(inv.args)  # unknown or ambiguous: answered now, in the ack

    def build() -> dict[str, Any]:
        return details_view(*catalog.details_for(name, inv.user_id), inv.deps.service.provisioning.state_of(name))

    inv.open_modal(build)


def install(inv: Invocation) -> None:
    service = inv.deps.service
    app = service.catalog.app(inv.args)
    if not service.roles.rights(inv.user_id, app.name).install:
        inv.reply(f"You don't hold a license of *{app.name}*. Ask for one with `/licenses request {app.name}`.")
        return
    if not app.install_url:
        inv.reply(f"*{app.name}* has no install link on record. Ask a billing admin to add one.")
        return
    inv.reply(*install_blocks(app))


def mine(inv: Invocation) -> None:
    service = inv.deps.service
    pending = [pending_line(r) for r in service.requests.pending_of(inv.user_id)]
    inv.reply(mine_text(service.catalog.licenses_of(inv.user_id), pending))


def pending_line(request: Any) -> str:
    return f"*{request.app.name}* — asked {ui.slack_date(request.created_at)}, waiting for an approver"


def show_help(inv: Invocation) -> None:
    inv.reply(inv.router.help_text())


SUBCOMMANDS = [
    Subcommand("list", "/licenses list", "everyone", "the apps with assigned / available / total", list_apps, 10),
    Subcommand("show", "/licenses show APP", "everyone", "the license details", show, 20),
    Subcommand("install", "/licenses install APP", "everyone", "the “Install this product” link", install, 60),
    Subcommand("mine", "/licenses mine", "everyone", "the apps I hold, through which source, and my pending requests",
               mine, 90),
    Subcommand("help", "/licenses help", "everyone", "this table", show_help, 200),
]


def register(app: App, deps: Deps) -> None:
    # Link buttons still send an action: acknowledge it so Slack shows no error.
    @app.action(INSTALL_PRODUCT)
    @app.action(CONTACT_PROVIDER)
    def link_clicked(ack: Ack) -> None:
        ack()
