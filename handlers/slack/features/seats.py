"""Seats: `/licenses seats APP` and the details modal's "Add or remove licenses" button.

Marketplace apps get the "Add or remove licenses" modal (the new total, prefilled with the current one);
apps bought through a provider get the provider's contact instead: their seats change only there.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App

from bot.domain import MAX_SEATS, Action, Actor, AppSummary, SeatsOutcome
from bot.errors import LicensingError, ProviderPurchase
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.features.catalog import OPEN_SEATS, provider_blocks
from handlers.slack.features.unassign import counts
from handlers.slack.i18n import N_, _, pgettext
from handlers.slack.router import Invocation, Subcommand, on_details_button, user_of

SAVE = "seats_save"
TOTAL = "total"  # block and action id of the number input


def seats_view(app: AppSummary) -> dict[str, Any]:
    facts = ui.section(f"*{app.name}*: " + counts(app.assigned, app.available, app.total))
    total = {
        "type": "input",
        "block_id": TOTAL,
        "label": ui.plain(_("Total licenses")),
        "element": {
            "type": "number_input",
            "action_id": TOTAL,
            "is_decimal_allowed": False,
            "initial_value": str(app.total),
            "min_value": "0",
            "max_value": str(MAX_SEATS),
        },
        "hint": ui.plain(_("At least {count}, the licenses assigned now.").format(count=app.assigned)),
    }
    # the button's words; French says the title shorter (Slack cuts titles at 24 characters)
    title = pgettext("modal title", "Add or remove licenses")
    return ui.modal(title, [facts, total], callback_id=SAVE, submit=_("Save"), metadata={"app": app.name})


def saved_view(outcome: SeatsOutcome) -> dict[str, Any]:
    app = outcome.app
    change = outcome.after - outcome.before
    what = (_("added {count}").format(count=change) if change > 0
            else _("removed {count}").format(count=-change) if change < 0 else _("no change"))
    lines = [
        _("*{app}* now has *{count} licenses* ({what}; was {before}).").format(
            app=app.name, count=outcome.after, what=what, before=outcome.before),
        counts(app.assigned, app.available, app.total) + ".",
    ]
    if outcome.filled:
        lines.append(_("Given to the people waiting: {who}.").format(who=ui.user_list(outcome.filled, 20)))
    return ui.summary_modal(_("Licenses saved"), "\n".join(lines), callback_id="seats_done")


def build(deps: Deps, user_id: str, query: str) -> dict[str, Any]:
    deps.service.roles.require(Actor(user_id), Action.CHANGE_SEATS)  # the details button comes here unchecked
    app = deps.service.catalog.app(query)
    if not app.is_marketplace:
        raise ProviderPurchase(app.name, app.provider_contact)
    return seats_view(app)


def seats(inv: Invocation) -> None:
    inv.deps.service.roles.require(inv.actor, Action.CHANGE_SEATS)
    app = inv.deps.service.catalog.app(inv.args)  # unknown or ambiguous: answered now, in the ack
    if not app.is_marketplace:
        inv.reply(*provider_blocks(app))
        return
    inv.open_modal(lambda: build(inv.deps, inv.user_id, app.name))


SUBCOMMANDS = [
    Subcommand("seats", "/licenses seats APP", N_("billing or global admin"),
               N_("opens “Add or remove licenses”, or answers with the provider contact"), seats, 50),
]


def register(app: App, deps: Deps) -> None:
    service = deps.service

    on_details_button(app, deps, OPEN_SEATS, build)

    @app.view(SAVE)
    def save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            outcome = service.assignments.set_seats(
                Actor(user_of(body)),
                str(ui.decode_metadata(view).get("app") or ""),
                ui.selected_values(view, TOTAL) or "",
                idempotency_key=ui.view_key("seats", view),
            )
        except LicensingError as error:  # the modal's one input carries every error, in its words
            ack(**ui.field_errors(TOTAL, ui.say(error)))
            return
        ack(response_action="update", view=saved_view(outcome))

    @app.view_closed(re.compile(r"^seats_"))
    def closed(ack: Ack) -> None:
        ack()
