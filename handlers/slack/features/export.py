"""`/licenses export [APP]` (admins): who holds which license, as a CSV file in the admin's DM.

The command answers at once; the file is built right after (from the cached directory for names and
emails: no Slack call per person) and uploaded with `files_upload_v2` (files.getUploadURLExternal, the
upload, files.completeUploadExternal) into the DM opened with conversations.open. It is the same CSV as
`licensebot assignments export` (handlers/exports.py).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re

from slack_bolt import App, Respond
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain import Action, Actor
from bot.errors import LicensingError
from handlers.exports import write_holdings_csv
from handlers.slack import i18n, ui
from handlers.slack.deps import Deps
from handlers.slack.i18n import N_, _, ngettext
from handlers.slack.router import Invocation, Subcommand, tell

log = logging.getLogger("licensebot")


def export(inv: Invocation) -> None:
    query = inv.args.strip().strip('"“”') or None
    inv.deps.service.roles.require(inv.actor, Action.EXPORT_ASSIGNMENTS)  # refused in the ack, not later
    inv.reply(_("Preparing the export: the CSV file arrives in your direct messages with me in a moment."))
    inv.deps.later(send_export, inv.deps, inv.user_id, query, inv.channel_id, inv.respond)


def send_export(deps: Deps, user_id: str, query: str | None, channel_id: str | None, respond: Respond | None) -> None:
    try:
        buffer = io.StringIO()
        rows = write_holdings_csv(deps.service.bulk.holdings(Actor(user_id), query), buffer)
    except LicensingError as error:
        tell(deps, user_id, channel_id, respond, f":warning: {ui.say(error)}")
        return
    scope = _slug(query) if query else "all"
    filename = f"licenses-{scope}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.csv"
    comment = ngettext("Who holds which license: {count} row.", "Who holds which license: {count} rows.",
                       rows).format(count=i18n.number(rows))
    try:
        im = deps.client.conversations_open(users=user_id)
        deps.client.files_upload_v2(
            channel=str(im["channel"]["id"]),
            content=buffer.getvalue().encode("utf-8"),
            filename=filename,
            title=filename,
            initial_comment=comment,
        )
    except SlackClientError as error:  # refused (SlackApiError), or the upload itself failed
        response = error.response if isinstance(error, SlackApiError) else None
        reason = str(response.get("error", "unknown_error")) if response is not None else "upload_failed"
        log.warning("export upload failed: %s", reason)
        tell(deps, user_id, channel_id, respond,
             _(":warning: I couldn't send the export (Slack said `{reason}`). Please try again; "
               "operators can also run `licensebot assignments export`.").format(reason=reason))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "app"


SUBCOMMANDS = [
    Subcommand("export", "/licenses export [APP]", N_("admins"),
               N_("who holds which license, as a CSV file in your DMs"), export, 115),
]


def register(app: App, deps: Deps) -> None:
    """Subcommands only."""
