"""The operator's housekeeping: `licensebot backup FILE`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from bot.config import Settings, load
from bot.runtime import BackupUnsupported, backup_database
from handlers.cli.main import CliError, Subparsers


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    target = Path(args.file)
    if target.exists() and not args.force:
        raise CliError(f"{target} already exists (add --force to replace it)")
    if not target.parent.is_dir():
        raise CliError(f"no directory {target.parent} to write {target.name} in")
    try:
        size = backup_database(load(Settings), target)
    except BackupUnsupported as error:
        raise CliError(f"the database is {error.backend}: back it up with pg_dump "
                       "(e.g. pg_dump --format=custom --file=licensebot.dump \"$DATABASE_URL\")") from None
    except FileNotFoundError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write {target}: {error.strerror or error}") from None
    print(f"backed up the database to {target} ({size:,} bytes)", file=out)
    return 0


def add_ops(commands: Subparsers) -> None:
    backup = commands.add_parser(
        "backup", help="copy the SQLite database to FILE, safely while `licensebot serve` runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("file", metavar="FILE")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    backup.set_defaults(handler=cmd_backup)
