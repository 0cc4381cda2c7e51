"""`licensebot usage import FILE.csv`: when each holder last used an app, from the vendor's usage export.

The file: a header with `app`, `user` (a Slack user id, or an email) and `last_active` (YYYY-MM-DD); other
columns are ignored. All or nothing: every problem is one line on stderr naming its line (a missing column
names line 1), exit status 2, nothing written. People are found as `assignments import` finds them
(handlers/cli/bulk.py): Slack's directory when SLACK_BOT_TOKEN is set (handlers/slack/operator.py), else
the people the database knows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.usage import UsageRow
from handlers.cli.bulk import MAX_ROWS, DirectoryChoice, Handler, checked_import, csv_records
from handlers.cli.main import CLI, CliError, Parser

COLUMNS = ("app", "user", "last_active")
Subparsers = Any


def read_usage(path: Path) -> list[UsageRow]:
    def header_of(header: list[str]) -> list[str]:
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            for column in missing:
                print(f"licensebot: error: line 1: the column {column} is missing", file=sys.stderr)
            raise CliError(f"{path.name}: refused, the header needs the columns app, user and last_active; "
                           "nothing was written")
        return header

    rows: list[UsageRow] = []
    for line, values in csv_records(path, header_of):
        rows.append(UsageRow(line, values.get("app", ""), values.get("user", ""), values.get("last_active", "")))
        if len(rows) > MAX_ROWS:
            raise CliError(f"{path.name}: more than {MAX_ROWS:,} rows; split the file")
    if not rows:
        raise CliError(f"{path.name}: no rows to import")
    return rows


def import_usage(args: argparse.Namespace, out: TextIO, directory: DirectoryChoice = None) -> int:
    rows = read_usage(Path(args.file))
    outcome, source = checked_import(args.file, directory, lambda service: service.usage.import_rows(CLI, rows))
    if outcome.by_email:
        print(f"{len(outcome.by_email)} email(s) found in {source}", file=out)
    for app, count in sorted(outcome.apps.items()):
        print(f"{app}: last activity of {count} user(s) recorded", file=out)
    print(f"{len(rows)} row(s): {outcome.rows} (app, user) pair(s) recorded", file=out)
    return 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    return import_usage(args, out)


def add_usage(commands: Subparsers, import_handler: Handler = cmd_import) -> None:
    """Registers `usage import`; handlers/main.py passes a handler that brings Slack's directory."""
    usage = commands.add_parser("usage", help="when each holder last used an app (the vendors' usage exports)")
    sub = usage.add_subparsers(dest="usage_command", required=True, parser_class=Parser)
    imp = sub.add_parser("import", help="record last activity from a CSV (app, user, last_active): all or nothing")
    imp.add_argument("file", metavar="FILE.csv")
    imp.set_defaults(handler=import_handler)
