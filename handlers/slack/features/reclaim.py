""" "Keep or release?": `/licenses reclaim APP [idle DAYS]` and the details modal's "Reclaim licenses" →
each direct holder's DM "Do you still use APP?" with "Keep my license" / "Release it" → the answer shown on
their DM; a reminder at half time, silence released at the deadline, the summary to the admin who started it.

The core decides everything (bot/reclaims.py): who is asked, that only the holder asked may answer, once,
while the reclaim is open. Clicks are acked at once and answered after the ack; the answer redraws the
holder's DM through the click's response_url. The DMs are the core's notices, written to the outbox with
the change and rendered here when sent (`send`, called by handlers/slack/notifier.py), in the reader's
language.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.domain import Action, Actor
from bot.errors import LicensingError, UnknownApp
from bot.notify import Kind
from bot.outbox import OutboxMessage, Outcome, Sent
from bot.reclaim_errors import AskAnswered
from bot.reclaims import KEPT, NO_ANSWER, RELEASED, Ask, ReclaimStart, ReclaimSummary
from bot.service import LicensingService
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.router import Invocation, Refusal, Subcommand, on_details_button, tell, user_of

log = logging.getLogger("licensebot")

OPEN_RECLAIM = "details_reclaim"  # the details modal's "Reclaim licenses"
RECLAIM_CALLBACK = "license_reclaim"
KEEP_ACTION = "reclaim_keep"
RELEASE_ACTION = "reclaim_release"
IDLE_BLOCK = "idle"
LISTED = 50  # people named per line of the summary, then "and N more"
KINDS = frozenset({Kind.RECLAIM_ASK, Kind.RECLAIM_REMINDER, Kind.RECLAIM_RELEASED, Kind.RECLAIM_SUMMARY})
IDLE_ARGS = re.compile(r"^(?P<app>.*?)\s+idle\s+(?P<days>\S+)\s*$", re.IGNORECASE | re.DOTALL)
IDLE_WITHOUT_DAYS = re.compile(r"^.+?\s+idle\s*$", re.IGNORECASE | re.DOTALL)


# ------------------------------------------------------------------ pure builders
def reclaim_view(app_name: str, days: int) -> dict[str, Any]:
    """The confirmation over the details modal, with the optional "Only those idle for at least N days"."""
    about = _("Every direct holder of *{app}* gets a message: “Do you still use {app}?” with “Keep my license” "
              "and “Release it”. Releasing frees the license at once; a holder who does not answer within "
              "{days} days loses it (a reminder comes at half time). Holders licensed through a group are not "
              "asked.").format(app=app_name, days=days)
    idle = {
        "type": "input",
        "block_id": IDLE_BLOCK,
        "optional": True,
        "label": ui.plain(_("Only those idle for at least N days")),
        "element": {"type": "number_input", "action_id": IDLE_BLOCK, "is_decimal_allowed": False,
                    "min_value": "1", "max_value": "3650"},
        "hint": ui.plain(_("By the usage imported from the vendor; holders without usage data are not asked. "
                           "Empty: every direct holder.")),
    }
    return ui.modal(_("Reclaim licenses"), [ui.section(about), idle], callback_id=RECLAIM_CALLBACK,
                    submit=_("Start"), metadata={"app": app_name})


def started_text(start: ReclaimStart) -> str:
    """To the admin who started it: who was asked, until when, and who was not (licensed through a group)."""
    asked = ngettext("Asked {count} holder of *{app}* whether they still use it.",
                     "Asked {count} holders of *{app}* whether they still use it.", len(start.asked))
    text = asked.format(count=i18n.number(len(start.asked)), app=start.app)
    if start.idle_days is not None:
        text += " " + _("(Only those idle for at least {days} days.)").format(days=start.idle_days)
    text += " " + _("Silence releases the license {when}; you get the summary when it ends.").format(
        when=ui.slack_date(start.ends_at))
    if start.group_holders:
        text += "\n" + _("Not asked, licensed through a group: {names}").format(
            names=ui.user_list(start.group_holders, LISTED))
    return text


def answer_buttons(ask: Ask) -> dict[str, Any]:
    return ui.actions([ui.button(_("Keep my license"), KEEP_ACTION, str(ask.id), style="primary"),
                       ui.button(_("Release it"), RELEASE_ACTION, str(ask.id), style="danger")],
                      block_id=f"reclaim_{ask.id}")


def answered_line(ask: Ask) -> str:
    if ask.state == KEPT:
        return ":white_check_mark: " + _("You keep your license of *{app}*. Thank you for answering.").format(
            app=ask.app)
    if ask.state == RELEASED:
        return ":wave: " + _("You released your license of *{app}*: it goes to someone who needs it. Thank you! "
                             "Ask again with `/licenses request {app}` if you need it back.").format(app=ask.app)
    if ask.state == NO_ANSWER:
        return ":hourglass: " + _("Your license of *{app}* was released: you did not answer by {when}. Ask again "
                                  "with `/licenses request {app}` if you need it.").format(
            app=ask.app, when=ui.slack_date(ask.ends_at))
    return ":hourglass: " + _("This question about *{app}* has closed.").format(app=ask.app)


def ask_message(ask: Ask, reminder: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """A holder's question with its two buttons while it is open; once answered (or ended), the answer."""
    if ask.state != "asked" or not ask.open:
        line = answered_line(ask)
        return line, [ui.section(line)]
    question = _("Do you still use *{app}*?").format(app=ask.app)
    if reminder:
        question = ":alarm_clock: " + _("Reminder:") + " " + question
    why = _("Licenses are counted: one you do not use could go to a colleague. If you do not answer by {when}, "
            "your license is released.").format(when=ui.slack_date(ask.ends_at))
    return f"{question} {why}", [ui.section(question), ui.section(why), answer_buttons(ask)]


def summary_message(summary: ReclaimSummary) -> tuple[str, list[dict[str, Any]]]:
    """To the admin who started it, when it ends: kept, released, released for no answer, not asked."""
    head = _("*The reclaim of {app} has ended.*").format(app=summary.app)
    lines = [
        _("Kept ({count}): {names}").format(count=len(summary.kept), names=ui.user_list(summary.kept, LISTED)),
        _("Released ({count}): {names}").format(count=len(summary.released),
                                                names=ui.user_list(summary.released, LISTED)),
        _("Released for no answer ({count}): {names}").format(count=len(summary.no_answer),
                                                              names=ui.user_list(summary.no_answer, LISTED)),
        _("Not asked, licensed through a group ({count}): {names}").format(
            count=len(summary.group_holders), names=ui.user_list(summary.group_holders, LISTED)),
    ]
    freed = len(summary.released) + len(summary.no_answer)
    text = head + " " + ngettext("{count} license given back.", "{count} licenses given back.", freed).format(
        count=i18n.number(freed))
    return text, [ui.section(head), *ui.sections(lines)]


# ------------------------------------------------------------------ the outbox's messages (notifier.py)
def send(client: WebClient, service: LicensingService, message: OutboxMessage) -> Outcome:
    """One reclaim DM, drawn from the state as it is now."""
    to = message.recipient
    if message.kind == Kind.RECLAIM_SUMMARY:
        text, blocks = summary_message(service.reclaims.summary(int(message.facts["reclaim"])))
        client.chat_postMessage(channel=to, text=text, blocks=blocks)
        return Sent()
    ask = service.reclaims.ask(int(message.facts["ask"]))
    if message.kind == Kind.RECLAIM_RELEASED:
        line = answered_line(ask)
        client.chat_postMessage(channel=to, text=line, blocks=[ui.section(line)])
        return Sent()
    if message.kind == Kind.RECLAIM_REMINDER and (ask.state != "asked" or not ask.open):
        return Sent()  # answered since: nothing to remind of
    text, blocks = ask_message(ask, reminder=message.kind == Kind.RECLAIM_REMINDER)
    client.chat_postMessage(channel=to, text=text, blocks=blocks)
    return Sent()


# ------------------------------------------------------------------ the command, the form, the clicks
def reclaim_command(inv: Invocation) -> None:
    args = inv.args.strip()
    match = IDLE_ARGS.match(args)
    app, days = (match["app"], match["days"]) if match else (args, None)
    if not app.strip():
        raise Refusal(_("Name an app: `/licenses reclaim APP [idle DAYS]`."))
    try:
        started = inv.deps.service.reclaims.start(inv.actor, app, days)
    except UnknownApp:
        if days is None and IDLE_WITHOUT_DAYS.match(args):  # "reclaim Contoso idle": the number was forgotten
            raise Refusal(_("Say how many days: `/licenses reclaim APP idle DAYS`, e.g. `idle 30`.")) from None
        raise
    inv.reply(started_text(started))


def answer_clicked(deps: Deps, user_id: str, ask_id: int, keep: bool, respond: Respond) -> None:
    """After the ack: the core decides; the holder's DM is redrawn with the answer, anyone else is told why not."""
    try:
        ask = deps.service.reclaims.answer(Actor(user_id), ask_id, keep)
    except AskAnswered as error:
        # the holder clicked a question already closed (answered before, or ended at its deadline): told why
        # nothing changed, and the DM loses the buttons that can no longer do anything
        tell(deps, user_id, None, respond, f":warning: {ui.say(error)}")
        with contextlib.suppress(LicensingError):  # gone meanwhile (its app retired): nothing left to redraw
            redraw(deps.service.reclaims.ask(ask_id), respond)
        return
    except LicensingError as error:
        tell(deps, user_id, None, respond, f":warning: {ui.say(error)}")
        return
    redraw(ask, respond)
    deps.after_change(user_id)


def redraw(ask: Ask, respond: Respond) -> None:
    """The holder's DM drawn again from the question as it stands, through the click's response_url."""
    text, blocks = ask_message(ask)
    try:
        respond(text=text, blocks=blocks, replace_original=True)
    except Exception:  # noqa: BLE001 - the answer is recorded; an old response_url only leaves the buttons shown
        log.info("could not redraw the reclaim question %s", ask.id)


def _ask_id(body: dict[str, Any]) -> int | None:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _confirm(deps: Deps, user_id: str, name: str) -> dict[str, Any]:
    deps.service.roles.require(Actor(user_id), Action.RECLAIM)  # refused before the form opens
    return reclaim_view(deps.service.catalog.resolve_name(name), deps.service.reclaims.days)


SUBCOMMANDS = [
    Subcommand("reclaim", "/licenses reclaim APP [idle DAYS]", N_("license, user or global admin"),
               N_("asks each direct holder “Keep or release?”"), reclaim_command, 45),
]


def register(app: App, deps: Deps) -> None:
    on_details_button(app, deps, OPEN_RECLAIM, _confirm)

    @app.view(RECLAIM_CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        name = str(ui.decode_metadata(view).get("app") or "")
        days = ui.selected_values(view, IDLE_BLOCK)
        try:
            start = deps.service.reclaims.start(Actor(user_of(body)), name, days,
                                                idempotency_key=ui.view_key("reclaim", view))
        except LicensingError as error:
            if error.field == "idle" or error.code == "nobody-to-ask":
                ack(**ui.field_errors(IDLE_BLOCK, ui.say(error)))
            else:
                ack(response_action="update", view=ui.summary_modal(_("Reclaim not started"),
                                                                     f":warning: {ui.say(error)}"))
            return
        ack(response_action="update", view=ui.summary_modal(_("Reclaim started"), started_text(start)))

    def clicked(body: dict[str, Any], respond: Respond, keep: bool) -> None:
        ask_id = _ask_id(body)
        if ask_id is not None:
            deps.later(answer_clicked, deps, user_of(body), ask_id, keep, respond)

    @app.action(KEEP_ACTION)
    def keep_clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        clicked(body, respond, True)

    @app.action(RELEASE_ACTION)
    def release_clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        clicked(body, respond, False)
