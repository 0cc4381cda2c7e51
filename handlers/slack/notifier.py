"""The outbox's messages, told on Slack: DMs to waiters who got a seat, approvers' copies of a request and
their updates, reminders, outcomes to requesters, alerts (to the alerts channel or the admins).

`SlackDelivery` is what `licensebot serve`'s deliverer (bot/delivery.py) calls for each message: it reads
the state the message is about as it is now, renders it in the reader's language (`i18n.speaking`), makes
one Web API call with the outbox's client (no retry handlers: no worker ever sleeps on a 429), and says
how it went — Sent, Retry (429 with its Retry-After, 5xx, lost connections, timeouts) or Drop (an error
that will not change, e.g. channel_not_found).
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import Deliverer
from bot.domain import CHANNEL_ID
from bot.errors import LicensingError
from bot.notify import Kind
from bot.outbox import Drop, OutboxMessage, Outcome, Retry, Sent
from bot.service import LicensingService
from handlers.slack import i18n
from handlers.slack.client import OUTBOX_TIMEOUT, outbox_client
from handlers.slack.deps import Deps, LocaleOf, no_locale
from handlers.slack.features import reclaim
from handlers.slack.features.alerts import alert_message
from handlers.slack.features.expiry import ended_text, ending_message
from handlers.slack.features.groups import seated_notice
from handlers.slack.features.requests import approval_message, reminder_text, requester_note, unreached_note

log = logging.getLogger("licensebot")

# ok: false answers that may pass: Slack's own trouble
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})
# the token or the app's setup is at fault: once an operator fixes it, the message can still go
SETUP_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                          "missing_scope", "no_permission", "ekm_access_denied", "team_access_not_granted"})
DEFAULT_RETRY_AFTER = 5.0  # a 429 without Retry-After
KINDS = frozenset(kind.value for kind in Kind)


class SlackDelivery:
    def __init__(self, client: WebClient, service: LicensingService, locale_of: LocaleOf = no_locale,
                 told: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.service = service
        self.locale_of = locale_of
        self.told = told  # after a message reached someone: what shows their state (the Home tab) is refreshed

    def __call__(self, message: OutboxMessage) -> Outcome:
        try:
            # a channel reads the default language (LICENSEBOT_DEFAULT_LOCALE); a person their own
            reader = None if CHANNEL_ID.match(message.recipient) else self.locale_of(message.recipient)
            with i18n.speaking(reader):
                outcome = self.send(message)
            if self.told is not None and isinstance(outcome, Sent):
                self.told(message.recipient)
            return outcome
        except LicensingError as error:  # e.g. the request went with its app: nothing left to tell
            return Drop(f"{error.code}")
        except SlackApiError as error:
            return outcome_of_refusal(error)
        except (OSError, http.client.HTTPException) as error:  # no answer: refused, reset, timed out
            return Retry(f"{type(error).__name__}: {error}")

    def send(self, message: OutboxMessage) -> Outcome:
        """One Web API call (or none, when there is nothing left to say)."""
        client, requests, to = self.client, self.service.requests, message.recipient
        if message.kind == Kind.SEATED:
            client.chat_postMessage(channel=to, text=seated_notice(str(message.facts["app"])))
            return Sent()
        if message.kind in (Kind.ENDED, Kind.ENDING):  # issue 13: time-limited licenses
            app, until = str(message.facts["app"]), dt.date.fromisoformat(str(message.facts["until"]))
            if message.kind == Kind.ENDED:
                client.chat_postMessage(channel=to, text=ended_text(app, until))
            else:
                text, blocks = ending_message(app, until, int(message.facts["days"]))
                client.chat_postMessage(channel=to, text=text, blocks=blocks)
            return Sent()
        if message.kind not in KINDS:
            return Drop(f"unknown message kind {message.kind!r}")
        if message.kind in reclaim.KINDS:
            return reclaim.send(client, self.service, message)
        if message.kind == Kind.ALERT:
            summary = self.service.alerts.app(int(message.facts["app_id"]))
            if summary is None:  # retired or gone since: nothing left to say
                return Sent()
            text, blocks = alert_message(str(message.facts["alert"]), summary, message.facts)
            client.chat_postMessage(channel=to, text=text, blocks=blocks)
            return Sent()
        request = requests.get(message.request_id)
        match message.kind:
            case Kind.APPROVAL:
                text, blocks = approval_message(request)
                posted = client.chat_postMessage(channel=to, text=text, blocks=blocks)
                return Sent(str(posted["channel"]), str(posted["ts"]))
            case Kind.APPROVAL_UPDATE | Kind.REMINDER:
                copy = requests.copy_of(request.id, to)
                if copy is None:  # their copy never went out (dropped): nothing to update or reply under
                    return Sent()
                if message.kind == Kind.REMINDER:
                    client.chat_postMessage(channel=copy.channel, thread_ts=copy.ts, text=reminder_text(request))
                else:
                    text, blocks = approval_message(request)
                    client.chat_update(channel=copy.channel, ts=copy.ts, text=text, blocks=blocks)
            case Kind.OUTCOME:
                text, blocks = requester_note(request)
                client.chat_postMessage(channel=to, text=text, blocks=blocks)
            case Kind.UNREACHED:
                if not requests.copies(request.id):  # the lane's copies went first: none of them arrived
                    client.chat_postMessage(channel=to, text=unreached_note(request, int(message.facts["approvers"])))
        return Sent()


def outcome_of_refusal(error: SlackApiError) -> Retry | Drop:
    """A refusal from Slack: Retry when it may pass, Drop when it will not."""
    response = error.response
    status = int(response.status_code or 0)
    code = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    if status == 429:
        return Retry("ratelimited (HTTP 429)", retry_after=_seconds(response.headers) or DEFAULT_RETRY_AFTER)
    if status >= 500 or status == 408:
        return Retry(f"HTTP {status}" + (f": {code}" if code else ""))
    if status != 200:
        return Drop(f"HTTP {status}" + (f": {code}" if code else ""))
    if code in TRANSIENT_ERRORS:
        return Retry(code)
    if code in SETUP_ERRORS:
        log.error("outbox: Slack refused the bot's token or scopes (%s): messages wait until it is fixed", code)
        return Retry(code)
    return Drop(code or "refused without a reason")


def _seconds(headers: Any) -> float | None:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if headers else None
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None
    return None


def prune_keys(deps: Deps) -> None:
    """Processed event ids and idempotency keys past LICENSEBOT_RETENTION_HOURS (once across processes)."""
    pruned = deps.service.membership.prune_keys(deps.settings.key_retention)
    if pruned is not None and (pruned.events or pruned.idempotency_keys):
        log.info("pruned %d processed event id(s) and %d idempotency key(s)", pruned.events, pruned.idempotency_keys)


def start_delivery(deps: Deps) -> Deliverer:
    """The outbox's deliverer for `serve`: started and stopped with it (deps.on_start / on_stop)."""
    settings = deps.settings
    client = outbox_client(settings.slack_bot_token, settings.slack_api_url)
    deliverer = Deliverer(
        deps.service.outbox,
        SlackDelivery(client, deps.service, lambda user_id: deps.locale_of(user_id), deps.after_change),
        workers=settings.licensebot_outbox_workers,
        retention=settings.outbox_retention,
        send_timeout=OUTBOX_TIMEOUT,
        # provisioning goes to the vendor's SCIM endpoint, not to Slack (bot/provisioning.py, handlers/scim)
        routes={Kind.PROVISION: deps.service.provisioning.deliver},
        housekeeping=lambda: prune_keys(deps),
    )
    deps.on_start.append(deliverer.start)
    deps.on_stop.append(deliverer.join)
    return deliverer
