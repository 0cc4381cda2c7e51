"""The bolt app: request checks as middleware, then the `/licenses` router and each feature's listeners."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from handlers.slack import i18n, router, ui
from handlers.slack.deps import Deps
from handlers.slack.features import FEATURES
from handlers.slack.i18n import _
from handlers.slack.locales import speak_to_sender
from handlers.slack.notifier import start_delivery

log = logging.getLogger("licensebot")


class _TokenUnusedFilter(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns on every start
    that the token "will be unused": it is the client's own token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_TOKEN_UNUSED = _TokenUnusedFilter()


def create_app(deps: Deps) -> App:
    settings = deps.settings
    logging.getLogger(f"slack_bolt.{App.__name__}").addFilter(_TOKEN_UNUSED)  # the same filter: added once
    app = App(
        signing_secret=settings.slack_signing_secret or None,
        client=deps.client,
        # Listeners answer through ack() inside the request; slow work goes to deps.later. This skips
        # bolt's default path, which polls for the ack every 10 ms.
        process_before_response=True,
        request_verification_enabled=not settings.socket_mode,
        raise_error_for_unhandled_request=False,
    )
    i18n.set_default(settings.licensebot_default_locale)
    app.use(workspace_guard(deps.team_id))
    app.use(speak_to_sender(deps.locale_of))  # after the guard: nobody from elsewhere costs a users.info call
    app.error(listener_failed)
    router.register(app, deps, router.Router([sub for feature in FEATURES for sub in feature.SUBCOMMANDS]))
    for feature in FEATURES:
        feature.register(app, deps)
    # the outbox: every message that follows a change, sent by this process's workers
    deps.deliverer = start_delivery(deps)
    return app


def workspace_guard(team_id: str) -> Callable[..., BoltResponse | None]:
    """Bolt does not compare the request's workspace with the token's: requests from elsewhere stop here."""

    def guard(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        sent_from = {team for team in (req.context.team_id, *_payload_teams(req)) if team is not None}
        if sent_from != {team_id}:
            log.warning("refused a request from workspace %r (this bot serves %s)", sorted(sent_from), team_id)
            return BoltResponse(status=401, body="This app does not serve that workspace.")
        return next()

    return guard


def _payload_teams(req: BoltRequest) -> list[str | None]:
    """The person's workspace too: bolt names a view's by where it was opened (`app_installed_team_id`),
    so someone from another workspace submitting a modal of ours would otherwise pass."""
    body = req.body if isinstance(req.body, dict) else {}
    team, user = body.get("team"), body.get("user")
    return [team.get("id") if isinstance(team, dict) else None, user.get("team_id") if isinstance(user, dict) else None]


def listener_failed(error: Exception, body: dict[str, Any], logger: logging.Logger) -> BoltResponse:
    """A bug in a listener: logged with its traceback; the person gets a plain sentence, never a 5xx."""
    logger.exception("listener failed: %s", error)
    kind = body.get("type") if isinstance(body, dict) else None
    text = _("Something went wrong on our side and nothing was changed. Please try again.")
    if kind == "view_submission":
        errors = _first_input_error(body, text)
        # on the first input; a modal without one is replaced by the sentence (Slack refuses "errors": {})
        payload: dict[str, Any] = {"response_action": "errors", "errors": errors} if errors else {
            "response_action": "update", "view": ui.summary_modal(_("Not done"), f":warning: {text}")}
        return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    if kind in ("block_suggestion",):
        return BoltResponse(status=200, body=json.dumps({"options": []}), headers={"content-type": "application/json"})
    return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                        headers={"content-type": "application/json"})


def _first_input_error(body: dict[str, Any], text: str) -> dict[str, str]:
    """{first input block's id: text}, or {} when there is none (or the view is not shaped as Slack's)."""
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str):
            return {block["block_id"]: text}
    return {}
