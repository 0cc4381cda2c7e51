"""`licensebot audit verify`: checks the audit log's hash chain. Exit 0 when intact; 1 naming the first
entry where it breaks (rewritten, removed, reordered, or written around the bot)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from bot.config import Settings, load
from bot.domain import Actor, AuditCheck
from bot.runtime import build_runtime

EXIT_TAMPERED = 1


def add_verify(audit: Any) -> None:
    audit.add_parser("verify", help="check that no entry was rewritten, removed or reordered").set_defaults(
        handler=cmd_audit_verify)


def cmd_audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    with build_runtime(load(Settings), pooled=False) as runtime:
        check = runtime.service.audit.verify(Actor.cli())
    if check.intact:
        print(f"audit log intact: {check.entries} entries, each chained to the one before", file=out)
        return 0
    print(f"licensebot: audit log tampered: {describe(check)}", file=sys.stderr)
    return EXIT_TAMPERED


def describe(check: AuditCheck) -> str:
    before = f"entry {check.after}" if check.after is not None else "the start of the log"
    match check.problem:
        case "rewritten":
            return f"entry {check.entry_id} was changed after it was written (its hash does not match its contents)"
        case "unchained":
            return f"entry {check.entry_id} is not part of the chain (written around the bot)"
        case "unlinked":
            return (f"entry {check.entry_id} does not follow {before} "
                    f"(entries between them removed or reordered, or {before} rewritten)")
        case "truncated":
            return (f"the log ends at {before} but its chain's head names entry {check.entry_id} "
                    "(entries removed from the end)")
        case _:
            return "the chain's head record is missing"
