"""Time-limited licenses in Slack (issue 13): the DMs of the "expiry" and "expiry-reminders" life-cycle
steps (bot/expiry.py) — "Your license of APP ends on DATE" with "Request more time", and "Your license of
APP ended" — and that button, which opens the request modal for the app ("For how long" then extends the
license when an approver approves). The DMs are written to the outbox by the core and rendered here by
handlers/slack/notifier.py, in the reader's language when sent."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from slack_bolt import Ack, App, Respond

from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.features.requests import request_view
from handlers.slack.i18n import _, ngettext
from handlers.slack.router import Subcommand, open_modal, user_of

MORE_TIME = "request_more_time"  # "Request more time": its value is the app's name

SUBCOMMANDS: list[Subcommand] = []


# ------------------------------------------------------------------ pure builders
def ending_message(app: str, until: dt.date, days: int) -> tuple[str, list[dict[str, Any]]]:
    """To a direct holder, 7 and 1 days before the end: the date and "Request more time"."""
    text = ":hourglass_flowing_sand: " + _("Your license of *{app}* ends on {date}.").format(
        app=app, date=i18n.date(until))
    left = ngettext("That is in {count} day. Need it longer? Ask for more time: an approver decides.",
                    "That is in {count} days. Need it longer? Ask for more time: an approver decides.", days)
    blocks = [ui.section(text + " " + left.format(count=days)),
              ui.actions([ui.button(_("Request more time"), MORE_TIME, app, style="primary")], block_id="more_time")]
    return text, blocks


def ended_text(app: str, until: dt.date) -> str:
    """To a holder who lost their seat when the license ended."""
    return ":hourglass: " + _("Your license of *{app}* ended: it was valid until {date}. Ask for it again with "
                              "`/licenses request {app}`.").format(app=app, date=i18n.date(until))


# ------------------------------------------------------------------ the button
def more_time_view(deps: Deps, user_id: str, app: str) -> dict[str, Any]:
    """The request modal for the app, as its holder asks for more time (refused like any request when they
    may not ask: e.g. the license is permanent now)."""
    name = deps.service.requests.check_can_request(user_id, app)
    until = next((h.until for h in deps.service.catalog.licenses_of(user_id) if h.app == name), None)
    return request_view(name, more_time=i18n.date(until) if until else "")


def register(app: App, deps: Deps) -> None:
    @app.action(MORE_TIME)
    def more_time(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        user_id = user_of(body)
        name = str(((body.get("actions") or [{}])[0]).get("value") or "")[:200]
        if not name:
            return
        deps.later(open_modal, deps, str(body.get("trigger_id") or ""), lambda: more_time_view(deps, user_id, name),
                   user_id, None, respond, since=time.monotonic())
