"""`licensebot`, the console script: the operator's commands (handlers/cli) and the ones that reach Slack
(`serve` from the HTTP door, `sync` from the Slack door), each imported only when it runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from handlers.cli.main import Subparsers, lazy, run


def add_serve(commands: Subparsers) -> None:
    serve = commands.add_parser("serve", help="run the Slack bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (behind a reverse proxy)")
    serve.add_argument("--port", type=int, default=None, help="default: PORT or 3000")
    serve.set_defaults(handler=lazy("handlers.http.server", "cmd_serve"))


def add_slack_operator_commands(commands: Subparsers) -> None:
    commands.add_parser("sync", help="re-read group memberships from Slack and apply joins and leaves").set_defaults(
        handler=lazy("handlers.slack.operator", "cmd_sync")
    )


def add_assignments(commands: Subparsers) -> None:
    """`assignments import|export` with Slack's directory (emails, names) when SLACK_BOT_TOKEN is set."""
    from handlers.cli.bulk import add_assignments as add

    add(commands, lazy("handlers.slack.operator", "cmd_assignments_import"),
        lazy("handlers.slack.operator", "cmd_assignments_export"))


def add_usage(commands: Subparsers) -> None:
    """`usage import` with Slack's directory (emails) when SLACK_BOT_TOKEN is set."""
    from handlers.cli.usage import add_usage as add

    add(commands, lazy("handlers.slack.operator", "cmd_usage_import"))


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    return run(argv, out, more=[add_serve, add_slack_operator_commands, add_assignments, add_usage])


if __name__ == "__main__":
    sys.exit(main())
