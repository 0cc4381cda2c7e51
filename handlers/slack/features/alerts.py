"""Alerts in Slack (bot/alerts.py decides them): a renewal coming, licenses running low, people waiting.

Posted by the outbox (handlers/slack/notifier.py) to the alerts channel, in the default language, or to each
billing and global admin in their own. Each names the app with its numbers as they are when it is sent, and
offers "Add or remove licenses" (marketplace: the seats modal, whose builder checks the clicker's role) or
the provider's contact (provider).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from slack_bolt import Ack, App

from bot.alerts import low_threshold
from bot.domain import AppSummary
from bot.notify import Alert
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.features import seats
from handlers.slack.i18n import _, ngettext
from handlers.slack.router import Subcommand, open_modal, user_of

ALERT_SEATS = "alert_seats"  # "Add or remove licenses" under an alert


def numbers(app: AppSummary) -> str:
    """assigned / available / total, the people waiting, the renewal date."""
    parts = [_("{assigned} assigned / {available} available / {total} total").format(
        assigned=i18n.number(app.assigned), available=i18n.number(app.available), total=i18n.number(app.total))]
    if app.waiting:
        parts.append(_("{n} waiting").format(n=i18n.number(app.waiting)))
    if app.renewal_date:
        parts.append(_("renews on {date}").format(date=i18n.date(app.renewal_date)))
    return " · ".join(parts)


def headline(alert: str, app: AppSummary, facts: dict[str, Any]) -> str:
    name = ui.escape(app.name)
    if alert == Alert.RENEWAL:
        day = dt.date.fromisoformat(str(facts.get("renewal_date") or app.renewal_date))
        days = int(facts.get("days") or 0)
        return ngettext(":calendar: *{app}* renews on {date}, in {days} day.",
                        ":calendar: *{app}* renews on {date}, in {days} days.", days).format(
            app=name, date=i18n.date(day), days=i18n.number(days))
    if alert == Alert.LOW:
        threshold = low_threshold(app.total, app.low_seat_threshold)
        return ngettext(
            ":warning: *{app}* is running low on licenses: {available} available (alert at {threshold} or fewer).",
            ":warning: *{app}* is running low on licenses: {available} available (alert at {threshold} or fewer).",
            app.available).format(app=name, available=i18n.number(app.available), threshold=i18n.number(threshold))
    return _(":hourglass: People are waiting for a license of *{app}*: {n} waiting.").format(
        app=name, n=i18n.number(app.waiting))


def alert_message(alert: str, app: AppSummary, facts: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The alert: what it is about, the app's numbers, and what to do about it."""
    text = headline(alert, app, facts)
    blocks = [ui.section(text), ui.context(numbers(app))]
    if app.is_marketplace:
        blocks.append(ui.actions([ui.button(_("Add or remove licenses"), ALERT_SEATS, app.name)],
                                 block_id="alert_actions"))
    else:
        contact = ui.escape(app.provider_contact) if app.provider_contact else _("no contact on record")
        blocks.append(ui.section(_("Bought through its provider: licenses are added or removed there. "
                                   "Contact the provider: {contact}.").format(contact=contact)))
    return text, blocks


def register(app: App, deps: Deps) -> None:
    @app.action(ALERT_SEATS)
    def add_or_remove(ack: Ack, body: dict[str, Any]) -> None:
        """Opens "Add or remove licenses" for whoever clicks; the builder refuses anyone but a billing or
        global admin, in an ephemeral note (a channel's members all see the button)."""
        ack()
        user_id = user_of(body)
        name = str(((body.get("actions") or [{}])[0]).get("value") or "")
        channel = body.get("channel")
        channel_id = str(channel.get("id") or "") if isinstance(channel, dict) else ""
        deps.later(open_modal, deps, str(body.get("trigger_id") or ""), lambda: seats.build(deps, user_id, name),
                   user_id, channel_id or None, None, since=time.monotonic())


SUBCOMMANDS: list[Subcommand] = []
