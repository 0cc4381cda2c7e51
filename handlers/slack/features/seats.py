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
from handlers.slack.router import Invocation, Subcommand, on_details_button, user_of

SAVE = "seats_save"
TOTAL = "total"  # block and action id of the number input
TITLE = "Add or remove licenses"


def seats_view(app: AppSummary) -> dict[str, Any]:
    facts = ui.section(f"*{app.name}*: {app.assigned} assigned / {app.available} available / {app.total} total")
    total = {
        "type": "input",
        "block_id": TOTAL,
        "label": ui.plain("Total licenses"),
        "element": {
            "type": "number_input",
            "action_id": TOTAL,
            "is_decimal_allowed": False,
            "initial_value": str(app.total),
            "min_value": "0",
            "max_value": str(MAX_SEATS),
        },
        "hint": ui.plain(f"At least {app.assigned}, the licenses assigned now."),
    }
    return ui.modal(TITLE, [facts, total], callback_id=SAVE, submit="Save", metadata={"app": app.name})


def saved_view(outcome: SeatsOutcome) -> dict[str, Any]:
    app = outcome.app
    change = outcome.after - outcome.before
    what = f"added {change}" if change > 0 else (f"removed {-change}" if change < 0 else "no change")
    lines = [
        f"*{app.name}* now has *{outcome.after} licenses* ({what}; was {outcome.before}).",
        f"{app.assigned} assigned / {app.available} available / {app.total} total.",
    ]
    if outcome.filled:
        lines.append(f"Given to the people waiting: {ui.user_list(outcome.filled, 20)}.")
    return ui.summary_modal("Licenses saved", "\n".join(lines), callback_id="seats_done")


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
    Subcommand("seats", "/licenses seats APP", "billing or global admin",
               "opens “Add or remove licenses”, or answers with the provider contact", seats, 50),
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
