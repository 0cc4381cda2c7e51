"""`/licenses SUBCOMMAND …`: one slash command, routed to the subcommands each feature declares.

Each subcommand answers inside the ack (an ephemeral reply) or acks empty and does its slow part after
(opening a modal, messaging approvers) on the background pool: Slack's 3-second rule.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.domain import Actor
from bot.errors import LicensingError
from bot.names import fold
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.i18n import N_, _
from handlers.slack.mentions import MAX_TEXT, split_words

log = logging.getLogger("licensebot")
COMMAND = "/licenses"
TRIGGER_BUDGET = 2.5  # seconds after the click a trigger_id may still be used (Slack: 3 s, less the call)
BUSY = N_(":hourglass: Licensebot is busy opening other forms right now. Nothing was changed; please try again in a "
           "moment.")
SLOW = N_(":warning: Slack did not answer in time, so the form did not open. Nothing was changed; please try again.")


class Refusal(Exception):
    """A door-level answer to a person (a command they mistyped): the sentence is ready to show."""


@dataclass
class Invocation:
    """One `/licenses` call, as the subcommands see it."""

    deps: Deps
    router: Router
    user_id: str
    team_id: str
    args: str  # the text after the subcommand's name
    trigger_id: str
    channel_id: str
    ack: Ack
    respond: Respond

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id)

    def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """An ephemeral answer, sent as the ack itself: one round trip, no Slack call."""
        if blocks:
            self.ack(text=text, blocks=blocks, response_type="ephemeral")
        else:
            self.ack(text=text, response_type="ephemeral")

    def open_modal(self, build: Callable[[], dict[str, Any]]) -> None:
        """Acks now; builds and opens the modal right after, while the trigger_id is fresh. When more forms
        wait to open than can open within a trigger's life, says so in the ack instead of queueing one more
        that would only time out (and hold its payload meanwhile)."""
        if self.deps.later.pending >= self.deps.settings.licensebot_interactive_backlog:
            log.warning("%d forms already waiting to open: answered busy", self.deps.later.pending)
            self.ack(text=_(BUSY), response_type="ephemeral")
            return
        self.ack()
        self.deps.later(open_modal, self.deps, self.trigger_id, build, self.user_id, self.channel_id, self.respond,
                        since=time.monotonic())


def open_modal(
    deps: Deps,
    trigger_id: str,
    build: Callable[[], dict[str, Any]],
    user_id: str,
    channel_id: str | None,
    respond: Respond | None,
    *,
    push: bool = False,
    since: float | None = None,
) -> str | None:
    """Opens (or pushes) a view; if Slack refuses, or does not answer in time, tells the person instead of
    failing silently. `since` (time.monotonic()) is when the click or command came: a trigger_id lives 3 s,
    so one that waited in the lane past TRIGGER_BUDGET is not sent to Slack at all (nor retried)."""
    if since is not None and time.monotonic() - since > TRIGGER_BUDGET:
        waited = time.monotonic() - since
        log.warning("views.%s not tried: the trigger waited %.1f s", "push" if push else "open", waited)
        tell(deps, user_id, channel_id, respond, _(SLOW))
        return None
    try:
        view = build()
    except LicensingError as error:
        tell(deps, user_id, channel_id, respond, ui.say(error))
        return None
    except Refusal as refusal:
        tell(deps, user_id, channel_id, respond, str(refusal))
        return None
    method = "push" if push else "open"
    try:
        call = deps.views.views_push if push else deps.views.views_open
        response = call(trigger_id=trigger_id, view=view)
        return str(response["view"]["id"])
    except SlackApiError as error:
        reason = error.response.get("error", "unknown_error") if error.response is not None else "no answer"
        log.warning("views.%s failed: %s", method, reason)
        tell(deps, user_id, channel_id, respond,
             _(":warning: I couldn't open the form (Slack said `{reason}`). Nothing was changed; please try again.")
             .format(reason=reason))
        return None
    except Exception as error:  # noqa: BLE001 - a timeout, a lost connection: the person is told all the same
        log.warning("views.%s failed: %s: %s", method, type(error).__name__, error)
        tell(deps, user_id, channel_id, respond, _(SLOW))
        return None


def user_of(body: dict[str, Any]) -> str:
    """Who clicked or submitted; "" (nobody, who may do nothing) when a malformed payload leaves it out."""
    user = body.get("user")
    return str(user.get("id") or "") if isinstance(user, dict) else ""


def on_details_button(app: App, deps: Deps, action_id: str, build: Callable[[Deps, str, str], dict[str, Any]]) -> None:
    """A button of the license details modal: pushes its flow's first modal, `build(deps, user_id, app)`,
    over the details after the ack (the builder's domain errors, a refused role included, are told)."""

    @app.action(action_id)
    def clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user_id = user_of(body)
        action = (body.get("actions") or [{}])[0]
        name = str(action.get("value") or ui.decode_metadata(body.get("view") or {}).get("app") or "")
        deps.later(open_modal, deps, str(body.get("trigger_id") or ""), lambda: build(deps, user_id, name), user_id,
                   None, None, push=True, since=time.monotonic())


def tell(deps: Deps, user_id: str, channel_id: str | None, respond: Respond | None, text: str) -> None:
    """An ephemeral note to one person: through the response_url, else in the channel, else by DM."""
    if respond is not None and getattr(respond, "response_url", None):
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        except Exception:  # noqa: BLE001 - the response_url may have expired; try the Web API next
            log.info("response_url failed; falling back to the Web API")
    try:
        if channel_id:
            deps.client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
        else:
            deps.client.chat_postMessage(channel=user_id, text=text)
    except SlackApiError:
        try:
            deps.client.chat_postMessage(channel=user_id, text=text)
        except SlackApiError as error:
            log.warning("could not tell %s: %s", user_id, error.response.get("error"))


Handler = Callable[[Invocation], None]


@dataclass(frozen=True)
class Subcommand:
    """`/licenses NAME`: declared by the feature that owns it; the help table is built from these."""

    name: str
    usage: str
    who: str
    does: str
    handler: Handler
    order: int
    aliases: tuple[str, ...] = ()


class Router:
    """The subcommands of one app, by name and alias."""

    def __init__(self, subcommands: list[Subcommand]) -> None:
        self.subcommands = sorted(subcommands, key=lambda s: s.order)
        self._by_name: dict[str, Subcommand] = {}
        for sub in self.subcommands:
            for name in (sub.name, *sub.aliases):
                if name in self._by_name:
                    raise ValueError(f"/licenses {name} is declared twice")
                self._by_name[name] = sub

    def find(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def suggest(self, typed: str) -> list[str]:
        """The sub-commands closest to a mistyped one, best first: "lsit" → ["list"], "asign" → ["assign"]."""
        names = list(self._by_name)
        typed = fold(typed)[:40]
        close = difflib.get_close_matches(typed, names, n=3, cutoff=0.6)
        starting = [n for n in names if typed and n.startswith(typed[:3]) and n not in close]
        return (close + starting)[:3]

    def unknown_text(self, typed: str) -> str:
        shown = ui.escape(typed[:40].replace("`", "'"))
        close = self.suggest(typed)
        if close:
            options = _(" or ").join(f"`/licenses {name}`" for name in close)
            return _("I don't know `/licenses {typed}`. Did you mean {options}?").format(
                typed=shown, options=options) + " " + _("`/licenses help` lists every command.")
        return _("I don't know `/licenses {typed}`.").format(typed=shown) + "\n\n" + self.help_text()

    def help_text(self) -> str:
        lines = [_("*`/licenses` commands*")]
        lines += [f"• `{sub.usage}` — {_(sub.does)} _({_(sub.who)})_" for sub in self.subcommands]
        return "\n".join(lines)


def register(app: App, deps: Deps, router: Router) -> None:
    @app.command(COMMAND)
    def licenses(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        text = str(command.get("text") or "")
        if len(text) > MAX_TEXT:
            ack(text=_("That is too long for a command ({count} characters). Nothing was done.").format(
                count=i18n.number(len(text))),
                response_type="ephemeral")
            return
        words = split_words(text.strip())
        name = words[0].lower() if words else "list"
        args = text.strip()[len(text.strip().split(maxsplit=1)[0]):].strip() if words else ""
        sub = router.find(name)
        user_id = str(command.get("user_id") or "")
        if sub is None:
            ack(text=router.unknown_text(words[0]), response_type="ephemeral")
            return
        invocation = Invocation(
            deps=deps,
            router=router,
            user_id=user_id,
            team_id=str(command.get("team_id") or ""),
            args=args,
            trigger_id=str(command.get("trigger_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            ack=ack,
            respond=respond,
        )
        try:
            sub.handler(invocation)
        except LicensingError as error:
            invocation.reply(f":warning: {ui.say(error)}")
        except Refusal as refusal:
            invocation.reply(f":warning: {refusal}")
