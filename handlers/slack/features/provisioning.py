"""Provisioning in the license details modal (SPEC §7): the counts for everyone, the failures with the
vendor's reason and "Retry" for license, user and global admins. "Retry" re-queues the failed users and
hurries the pending ones; the modal is then redrawn with the new counts."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.domain import Actor, Rights
from bot.errors import LicensingError
from bot.provisioning import ProvisioningStatus
from handlers.slack import ui
from handlers.slack.deps import Deps
from handlers.slack.i18n import _
from handlers.slack.router import tell, user_of

log = logging.getLogger("licensebot")

RETRY = "provision_retry"
SUBCOMMANDS: list[Any] = []  # no `/licenses` subcommand: it lives in the details modal
FAILURES_SHOWN = 10
REASON_CHARS = 200


def provisioning_blocks(status: ProvisioningStatus, rights: Rights) -> list[dict[str, Any]]:
    """What the details modal shows of the app's provisioning; failures and "Retry" for admins only."""
    counts = _("*Provisioning (SCIM):* {provisioned} provisioned · {pending} pending · {failed} failed").format(
        provisioned=status.provisioned, pending=status.pending, failed=status.failed)
    blocks: list[dict[str, Any]] = [ui.section(counts, block_id="provisioning")]
    if not rights.assign:
        return blocks
    if status.failures:
        lines = [f"{ui.user_ref(user)}: {_short(reason)}" for user, reason in status.failures[:FAILURES_SHOWN]]
        more = status.failed - len(lines)
        if more > 0:
            lines.append(_("… and {count} more (`licensebot provision status APP`)").format(count=more))
        blocks.append(ui.section(_("*Failed:*") + "\n" + "\n".join(lines), block_id="provisioning_failures"))
    if status.failed or status.pending:
        blocks.append(ui.actions([ui.button(_("Retry"), RETRY, status.app)], block_id="provisioning_actions"))
    return blocks


def _short(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def register(app: App, deps: Deps) -> None:
    @app.action(RETRY)
    def clicked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        deps.later(retry_and_redraw, deps, body)


def retry_and_redraw(deps: Deps, body: dict[str, Any]) -> None:
    from handlers.slack.features.details import details_of  # the details modal imports this module

    user_id = user_of(body)
    view = body.get("view") or {}
    action = (body.get("actions") or [{}])[0]
    name = str(action.get("value") or ui.decode_metadata(view).get("app") or "")
    service = deps.service
    try:
        requeued, hurried = service.provisioning.retry(Actor(user_id), name)  # the role is checked here
        redrawn = details_of(deps, name, user_id)
    except LicensingError as error:
        tell(deps, user_id, None, None, ui.say(error))
        return
    log.info("provisioning of %s retried from Slack by %s: %d re-queued, %d hurried", name, user_id, requeued,
             hurried)
    if not view.get("id"):
        return
    try:
        deps.client.views_update(view_id=view["id"], hash=view.get("hash"),
                                 view=redrawn)
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else "no answer"
        log.warning("views.update of the details modal after a retry failed: %s", reason)
