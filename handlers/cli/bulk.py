"""`licensebot assignments import FILE.csv [--dry-run]` and `licensebot assignments export`.

The file: a header with `app` and `user` (or `user_id`: a Slack user id, or an email) and optionally `until`
(YYYY-MM-DD, the last day of the assignment); other columns are ignored, so an export can be imported back
(its rows whose `source` is a group are skipped: a group's seats follow the group). All or nothing: every
problem is one line on stderr, exit status 2, nothing written.

Who the people are: a Slack id must be known to the database (holding or waiting for a seat, holding a
role, having asked for a license) or to the directory; an email is looked up in the directory. The CLI alone
has no directory; with SLACK_BOT_TOKEN set, handlers/main.py gives it Slack's (users.list, with emails
through the users:read.email scope). The output says which one was asked.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.bulk import BulkRow
from bot.config import Settings, load
from bot.directory import Directory
from bot.errors import BulkImportRefused
from bot.runtime import build_runtime
from bot.service import LicensingService
from handlers.cli.main import CLI, CliError, Parser, Subparsers
from handlers.exports import write_holdings_csv
from handlers.words import bulk_problem_text

NO_DIRECTORY = "no directory (set SLACK_BOT_TOKEN to look people up in Slack)"
MAX_ROWS = 200_000

# (directory, how the output names it); None: the CLI alone
DirectoryChoice = tuple[Directory, str] | None
T = TypeVar("T")
Handler = Callable[[argparse.Namespace, TextIO], Any]


def csv_records(path: Path, header_of: Callable[[list[str]], list[str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Each non-blank record of a CSV file with its line number, values stripped, keyed by the header as
    `header_of` makes it from the file's (lower-cased) one; `header_of` refuses a header it cannot use with
    a CliError. A file that cannot be read, or is not CSV, is a CliError (one line)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # -sig: spreadsheets write a BOM
            reader = csv.DictReader(handle)
            reader.fieldnames = header_of([(h or "").strip().lower() for h in reader.fieldnames or []])
            for record in reader:
                values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
                if any(values.values()):
                    yield reader.line_num, values
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    except csv.Error as error:
        raise CliError(f"{path.name}: not a CSV file: {error}") from None


def read_rows(path: Path) -> tuple[list[BulkRow], int]:
    """The rows to import and how many group rows of an export were skipped. A file that is not such a
    CSV is a CliError (one line)."""

    def header_of(header: list[str]) -> list[str]:
        if "user" not in header and "user_id" in header:  # an export's header
            header[header.index("user_id")] = "user"
        missing = [c for c in ("app", "user") if c not in header]
        if missing:
            raise CliError(f"{path.name}: the header needs the columns app and user (missing: "
                           f"{', '.join(missing)}); until is optional")
        return header

    rows: list[BulkRow] = []
    skipped = 0
    for line, values in csv_records(path, header_of):
        if values.get("source", "direct") not in ("", "direct"):
            skipped += 1
            continue
        rows.append(BulkRow(line, values.get("app", ""), values.get("user", ""), values.get("until", "")))
        if len(rows) > MAX_ROWS:
            raise CliError(f"{path.name}: more than {MAX_ROWS:,} rows; split the file")
    if not rows and not skipped:
        raise CliError(f"{path.name}: no rows to import")
    return rows, skipped


def checked_import(file: str, directory: DirectoryChoice, apply: Callable[[LicensingService], T]) -> tuple[T, str]:
    """Runs an all-or-nothing import (`apply` over the service) and returns what it did and where people were
    looked up; a refused file is one stderr line per problem, then the CliError that exits 2."""
    source = directory[1] if directory else NO_DIRECTORY
    with build_runtime(load(Settings), directory[0] if directory else None, pooled=False) as runtime:
        try:
            return apply(runtime.service), source
        except BulkImportRefused as error:
            for problem in error.problems:
                print(f"licensebot: error: {bulk_problem_text(problem)}", file=sys.stderr)
            people = any(p.code == "unknown-user" for p in error.problems)
            raise CliError(f"{file}: refused, {len(error.problems)} problem(s); nothing was written"
                           + (f" (people looked up in: {source})" if people else "")) from None


def import_assignments(args: argparse.Namespace, out: TextIO, directory: DirectoryChoice = None) -> int:
    rows, skipped = read_rows(Path(args.file))
    outcome, source = checked_import(args.file, directory,
                                     lambda service: service.bulk.import_rows(CLI, rows, dry_run=args.dry_run))
    if outcome.by_email:
        print(f"{len(outcome.by_email)} email(s) found in {source}", file=out)
    for app in outcome.apps:
        print(f"{app.app}: {len(app.seated)} seated, {len(app.already_held)} already held; "
              f"{app.assigned} of {app.total} assigned", file=out)
    if skipped:
        print(f"skipped {skipped} row(s) held through a group (a group's seats follow the group)", file=out)
    verb = "would seat" if outcome.dry_run else "seated"
    print(f"{len(rows)} row(s): {verb} {outcome.seated} user(s)"
          + (" (dry run: nothing was written)" if outcome.dry_run else ""), file=out)
    return 0


def export_assignments(args: argparse.Namespace, out: TextIO, directory: DirectoryChoice = None) -> int:
    with build_runtime(load(Settings), directory[0] if directory else None, pooled=False) as runtime:
        holdings = runtime.service.bulk.holdings(CLI, args.app)
        if args.format == "jsonl":
            for h in holdings:
                out.write(json.dumps(h.as_json(), separators=(",", ":"), ensure_ascii=False) + "\n")
        else:
            write_holdings_csv(holdings, out)
    return 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    return import_assignments(args, out)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    return export_assignments(args, out)


def add_assignments(commands: Subparsers, import_handler: Handler = cmd_import,
                    export_handler: Handler = cmd_export) -> None:
    """Registers `assignments import|export`; handlers/main.py passes handlers that bring Slack's directory."""
    assignments = commands.add_parser("assignments", help="bulk assignment from a CSV file, and who holds what")
    sub = assignments.add_subparsers(dest="assignments_command", required=True, parser_class=Parser)
    imp = sub.add_parser("import", help="assign licenses from a CSV (app, user, optional until): all or nothing")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--dry-run", action="store_true", help="check everything and say what it would do")
    imp.set_defaults(handler=import_handler)
    exp = sub.add_parser("export", help="every license held: app, user, name, email, source, since, until")
    exp.add_argument("--app", default=None)
    exp.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exp.set_defaults(handler=export_handler)
