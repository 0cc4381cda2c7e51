"""`licensebot lifecycle run`: the life cycle's timed work (expiry, reminders, reclaim deadlines, alerts)
once, now — what `licensebot serve` does on its schedule; a cron line can do it where nothing serves.
Safe beside a running `serve`: each thing due is done once (bot/lifecycle.py). Exit 1 when a step failed."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from bot.config import Settings, load
from bot.runtime import build_runtime

Subparsers = Any


def cmd_lifecycle_run(args: argparse.Namespace, out: TextIO) -> int:
    with build_runtime(load(Settings), pooled=False) as runtime:
        run = runtime.service.lifecycle.run()
    if args.json:
        json.dump(run.as_json(), out, indent=2)
        out.write("\n")
    else:
        for name, count in run.done.items():
            print(f"{name}: {count}", file=out)
        for name, error in run.failed.items():
            print(f"{name}: FAILED ({error}; see the log)", file=out)
        if not run.done and not run.failed:
            print("nothing to do", file=out)
    return 1 if run.failed else 0


def add_lifecycle(commands: Subparsers, parser_class: type[argparse.ArgumentParser]) -> None:
    lifecycle = commands.add_parser("lifecycle", help="the license life cycle's timed work").add_subparsers(
        dest="lifecycle_command", required=True, parser_class=parser_class
    )
    run = lifecycle.add_parser("run", help="do what is due now: expiry, reminders, reclaim deadlines, alerts")
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=cmd_lifecycle_run)
