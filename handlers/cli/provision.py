"""`licensebot provision status|retry|reconcile APP`: the operator's view of provisioning; and `licensebot
apps token APP`, the vendor's key to the usage-rights API.

`status` reads the database; `retry` re-queues the failed users and hurries the pending ones (the running
`licensebot serve` delivers them); `reconcile` asks the vendor's SCIM endpoint for its users and lists the
drift both ways, and with `--fix` corrects the vendor side to match the seats.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from bot.config import Settings, load
from bot.domain import Actor
from bot.runtime import build_runtime

CLI = Actor.cli()
Subparsers = Any


def cmd_apps_token(args: argparse.Namespace, out: TextIO) -> None:
    """Issues a usage-rights API token for the app (printed once, alone on the last line; only its hash is
    kept), or revokes every token of the app."""
    with build_runtime(load(Settings), pooled=False) as runtime:
        if args.revoke:
            gone = runtime.service.usage_rights.revoke(CLI, args.app)
            print(f"revoked {gone} token(s) of {runtime.service.catalog.resolve_name(args.app)}", file=out)
            return
        token = runtime.service.usage_rights.issue(CLI, args.app)
        name = runtime.service.catalog.resolve_name(args.app)
    print(f"usage-rights API token for {name} (shown once: store it now; `--revoke` revokes every token):",
          file=out)
    print(token, file=out)


def cmd_provision_status(args: argparse.Namespace, out: TextIO) -> None:
    with build_runtime(load(Settings), pooled=False) as runtime:
        status = runtime.service.provisioning.status(args.app)
    if args.json:
        json.dump(status.as_json(), out, indent=2)
        out.write("\n")
        return
    token = "set" if status.token_set else "NOT SET in this environment"
    print(status.app, file=out)
    print(f"  SCIM endpoint:  {status.scim_url} (token from {status.token_env}: {token}; "
          f"on losing the seat: {status.deprovision})", file=out)
    print(f"  users:          {status.provisioned} provisioned, {status.pending} pending, {status.failed} failed",
          file=out)
    for user, reason in status.failures:
        print(f"  failed  {user}: {reason}", file=out)
    for user, error in status.retrying:
        print(f"  retrying  {user}: {error}", file=out)
    if status.failed > len(status.failures):
        print(f"  … and {status.failed - len(status.failures)} more failed", file=out)


def cmd_provision_retry(args: argparse.Namespace, out: TextIO) -> None:
    with build_runtime(load(Settings), pooled=False) as runtime:
        requeued, hurried = runtime.service.provisioning.retry(CLI, args.app)
        name = runtime.service.catalog.resolve_name(args.app)
    print(f"{name}: {requeued} failed user(s) queued again, {hurried} pending user(s) due now; "
          "the running `licensebot serve` provisions them", file=out)


def cmd_provision_reconcile(args: argparse.Namespace, out: TextIO) -> None:
    from handlers.scim.vendor import scim_vendor

    with build_runtime(load(Settings), pooled=False) as runtime:
        runtime.service.provisioning.connect(scim_vendor)
        drift = runtime.service.provisioning.reconcile(CLI, args.app, fix=args.fix)
    if args.json:
        json.dump(drift.as_json(), out, indent=2)
        out.write("\n")
        return
    print(f"{drift.app}: {len(drift.active_without_seat)} active at the vendor without a seat, "
          f"{len(drift.seat_without_active)} seat(s) without an active vendor user", file=out)
    for user in drift.active_without_seat:
        print(f"  active without a seat:  {user.user_name} (externalId {user.external_id or '-'})", file=out)
    for user_id in drift.seat_without_active:
        print(f"  seat without an active user:  {user_id}", file=out)
    for who, action in drift.fixed:
        print(f"  fixed: {who} {action}", file=out)
    for who, reason in drift.not_fixed:
        print(f"  NOT fixed: {who}: {reason}", file=out)
    if not args.fix and (drift.active_without_seat or drift.seat_without_active):
        print("run again with --fix to correct the vendor side", file=out)


def add_provision(commands: Subparsers, parser_class: type[argparse.ArgumentParser]) -> None:
    provision = commands.add_parser("provision", help="SCIM provisioning into the vendors' apps").add_subparsers(
        dest="provision_command", required=True, parser_class=parser_class
    )
    status = provision.add_parser("status", help="provisioned / pending / failed users of an app, and why")
    status.add_argument("app")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_provision_status)
    retry = provision.add_parser("retry", help="queue the failed users again and hurry the pending ones")
    retry.add_argument("app")
    retry.set_defaults(handler=cmd_provision_retry)
    reconcile = provision.add_parser("reconcile", help="compare the seats with the vendor's users (--fix corrects "
                                                       "the vendor)")
    reconcile.add_argument("app")
    reconcile.add_argument("--fix", action="store_true")
    reconcile.add_argument("--json", action="store_true")
    reconcile.set_defaults(handler=cmd_provision_reconcile)
