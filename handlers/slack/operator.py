"""The operator's command that reads Slack: `licensebot sync`.

It needs SLACK_BOT_TOKEN (and SLACK_API_URL off slack.com), not the signing secret: it only reads the
Web API's user groups and users, and acts as the operator (`cli` in the audit). The people a change
concerns (a waiter who got a seat) are told by the running `licensebot serve`: the messages are written to
the outbox with the change.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from slack_sdk.errors import SlackApiError

from bot.config import SlackApiSettings, load
from bot.domain import Actor
from bot.runtime import build_runtime
from bot.sync import GroupSync
from handlers.cli import bulk, usage
from handlers.cli.bulk import DirectoryChoice
from handlers.cli.main import CliError
from handlers.slack.client import checked_client
from handlers.slack.directory import CLI_WAIT, SlackDirectory


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
    directory = SlackDirectory(client, read_wait=CLI_WAIT)
    with build_runtime(settings, directory, pooled=False) as runtime:
        print("reading user groups and users from Slack…", file=out, flush=True)
        try:
            report = GroupSync(runtime.service, directory, Actor.cli()).run(progress=ProgressLine(out))
        except SlackApiError as error:
            reason = error.response.get("error") if error.response is not None else "no answer"
            raise CliError(f"Slack refused {error.response.api_url.rsplit('/', 1)[-1]}: {reason}; "
                           "nothing more was changed (what was applied before stays, and is consistent)") from None
    if report.removed_users:
        print(f"deleted Slack accounts lost their licenses: {', '.join(report.removed_users)}", file=out)
    if report.missing_groups:
        print(f"assigned groups Slack does not know (left as they are): {', '.join(report.missing_groups)}", file=out)
    print(report.summary(), file=out, flush=True)
    return 0


# ------------------------------------------------------------------ assignments, with Slack's directory
def _slack_directory() -> DirectoryChoice:
    """Slack's directory (names, emails) when SLACK_BOT_TOKEN is set; None leaves the CLI on its own."""
    if not os.environ.get("SLACK_BOT_TOKEN"):
        return None
    settings = load(SlackApiSettings)
    client, _ = checked_client(settings.slack_bot_token, settings.slack_api_url)
    return SlackDirectory(client, read_wait=CLI_WAIT), "Slack's directory (users.list)"


def cmd_assignments_import(args: argparse.Namespace, out: TextIO) -> int:
    return bulk.import_assignments(args, out, _slack_directory())


def cmd_assignments_export(args: argparse.Namespace, out: TextIO) -> int:
    return bulk.export_assignments(args, out, _slack_directory())


def cmd_usage_import(args: argparse.Namespace, out: TextIO) -> int:
    return usage.import_usage(args, out, _slack_directory())
