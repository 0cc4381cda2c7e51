"""The operator's commands that reach Slack: `licensebot sync` and `licensebot requests expire`.

Both need SLACK_BOT_TOKEN (and SLACK_API_URL off slack.com), not the signing secret: they only call the
Web API, as the operator (`cli` in the audit). The people a change concerns are told by DM as when the bot
does it: a SlackNotifier sends the core's notices from this process.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from slack_sdk.errors import SlackApiError

from bot.config import SlackApiSettings, load
from bot.domain import Actor
from bot.runtime import build_runtime
from bot.sync import GroupSync
from handlers.cli.main import CliError
from handlers.slack.client import checked_client
from handlers.slack.directory import SlackDirectory
from handlers.slack.notifier import SlackNotifier


class ProgressLine:
    """`groups 12/50`, redrawn in place on a terminal; elsewhere (a log, a pipe) about ten plain lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            self.out.write(f"\r groups {done}/{total}" + ("\n" if done == total else ""))
            self.out.flush()
        elif done == total or (done and done % max(1, total // 10) == 0):
            print(f"groups {done}/{total}", file=self.out, flush=True)


def cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    """Re-reads the user groups from Slack and applies joins and leaves."""
    settings = load(SlackApiSettings)
    client, _ = checked_client(settings.slack_bot_token, settings.slack_api_url)  # before anything changes
    directory = SlackDirectory(client)
    runtime = build_runtime(settings, directory, pooled=False)
    runtime.service.use_notifier(SlackNotifier(client, runtime.service))
    print("reading user groups and users from Slack…", file=out, flush=True)
    try:
        report = GroupSync(runtime.service, directory, Actor.cli()).run(progress=ProgressLine(out))
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else "no answer"
        raise CliError(f"Slack refused {error.response.api_url.rsplit('/', 1)[-1]}: {reason}; "
                       "nothing more was changed (what was applied before stays, and is consistent)") from None
    finally:
        runtime.close()
    if report.removed_users:
        print(f"deleted Slack accounts lost their licenses: {', '.join(report.removed_users)}", file=out)
    if report.missing_groups:
        print(f"assigned groups Slack does not know (left as they are): {', '.join(report.missing_groups)}", file=out)
    print(report.summary(), file=out, flush=True)
    return 0


def cmd_requests_expire(args: argparse.Namespace, out: TextIO) -> int:
    """What `serve` does on its schedule, run once: expires overdue requests (the requester is told, the
    approvers' copies updated) and sends the reminders due at half the TTL. Safe beside a running `serve`:
    each request expires, and is reminded of, once."""
    settings = load(SlackApiSettings)
    client, _ = checked_client(settings.slack_bot_token, settings.slack_api_url)  # before anything changes
    runtime = build_runtime(settings, pooled=False)
    try:
        runtime.service.use_notifier(SlackNotifier(client, runtime.service))
        sweep = runtime.service.requests.sweep(Actor.cli())
    finally:
        runtime.close()
    print(f"expired {len(sweep.expired)} request(s), sent reminders for {len(sweep.reminded)} request(s)", file=out)
    return 0
