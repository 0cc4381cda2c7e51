"""`licensebot`: the local operator's door into the licensing service.

It acts with global-admin rights and is audited as `cli`. Every error is one line on stderr and exit
status 2, never a traceback. handlers/main.py adds the commands that reach Slack to this parser.
The CLI never talks to Slack to tell people: what its changes mean for them is written to the outbox with
the change, and the running `licensebot serve` delivers it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.alerts import low_threshold
from bot.config import Settings, SettingsError, load
from bot.domain import Actor, AppSummary
from bot.errors import LicensingError
from bot.roles import parse_role
from bot.runtime import Runtime, build_runtime
from handlers.cli.audit_verify import add_verify
from handlers.cli.catalog_file import CatalogFileError, parse_catalog
from handlers.cli.lifecycle import add_lifecycle
from handlers.cli.provision import add_provision, cmd_apps_token
from handlers.words import error_text

EXIT_ERROR = 2
CLI = Actor.cli()


class CliError(Exception):
    """One line for the operator, exit status 2."""


Subparsers = Any  # argparse's _SubParsersAction, which it does not export
CommandAdder = Callable[[Subparsers], None]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one clear line, as every other error
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _runtime(args: argparse.Namespace) -> Runtime:
    return build_runtime(load(Settings), pooled=False)


# ------------------------------------------------------------------ apps
def cmd_apps_import(args: argparse.Namespace, out: TextIO) -> None:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    records = parse_catalog(text, source=path.name)  # everything checked before the database is touched
    with _runtime(args) as runtime:
        try:
            results = runtime.service.records.import_records(CLI, records, dry_run=args.dry_run)
        except LicensingError as error:  # a rule the whole file breaks: one line naming the file and the entry
            raise CliError(f"{path.name}: {error_text(error)}") from None
    counts = {kind: sum(1 for r in results if r.change == kind) for kind in ("created", "updated", "unchanged")}
    for r in results:
        if r.change == "updated":
            print(f"{r.change:9}  {r.name} ({', '.join(r.fields)})", file=out)
        elif r.change == "retired":
            print(f"{r.change:9}  {r.name} (retired: left as it is)", file=out)
        else:
            print(f"{r.change:9}  {r.name}", file=out)
    retired = sum(1 for r in results if r.change == "retired")
    summary = (f"{len(results)} apps: {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged" + (f", {retired} retired" if retired else ""))
    print(f"dry run, nothing written: {summary}" if args.dry_run else f"imported {summary}", file=out)


def cmd_apps_list(args: argparse.Namespace, out: TextIO) -> None:
    with _runtime(args) as runtime:
        apps = runtime.service.catalog.list_apps()
    if args.json:
        json.dump([a.as_json() for a in apps], out, indent=2)
        out.write("\n")
        return
    _print_apps(apps, out)


def _print_apps(apps: Sequence[AppSummary], out: TextIO) -> None:
    if not apps:
        print("No apps yet: add them with `licensebot apps import FILE.yml`.", file=out)
        return
    width = max(len(a.name) for a in apps)
    print(f"{'APP':{width}}  {'ASSIGNED':>8}  {'AVAILABLE':>9}  {'TOTAL':>7}  {'WAITING':>7}  VIA", file=out)
    for a in apps:
        print(f"{a.name:{width}}  {a.assigned:>8}  {a.available:>9}  {a.total:>7}  {a.waiting:>7}  {a.purchased_via}",
              file=out)


def cmd_apps_show(args: argparse.Namespace, out: TextIO) -> None:
    with _runtime(args) as runtime:
        details = runtime.service.catalog.details(args.app)
        provisioning = runtime.service.provisioning.state_of(args.app)
    if args.json:
        json.dump({**details.as_json(), "provisioning": provisioning and provisioning.as_json()}, out, indent=2)
        out.write("\n")
        return
    app = details.app
    lines = [
        app.name,
        f"  vendor:         {app.vendor}",
        f"  purchased via:  {app.purchased_via}" + (f" ({app.provider_contact})" if app.provider_contact else ""),
        f"  licenses:       {app.assigned} assigned, {app.available} available, {app.total} total",
        f"  renewal date:   {app.renewal_date or '-'}",
        f"  low licenses:   alert at {low_threshold(app.total, app.low_seat_threshold)} available or fewer"
        + (" (default: 10% of the licenses, at least 1)" if app.low_seat_threshold is None else ""),
        f"  install URL:    {app.install_url or '-'}",
        f"  users:          {', '.join(details.direct_users) or '-'}",
        f"  groups:         {', '.join(g.group_id for g in details.groups) or '-'}",
        f"  waiting:        {', '.join(details.waiting) or '-'}",
    ]
    if provisioning is not None:
        lines.append(f"  provisioning:   {provisioning.provisioned} provisioned, {provisioning.pending} pending, "
                     f"{provisioning.failed} failed ({provisioning.scim_url})")
    print("\n".join(lines), file=out)


# ------------------------------------------------------------------ roles
UNCHECKED_ID = ("note: {user_id} was not checked against the Slack workspace (the CLI has no directory); "
                "`/licenses roles grant @user ROLE` in Slack checks it")

def cmd_roles_change(args: argparse.Namespace, out: TextIO) -> None:
    with _runtime(args) as runtime:
        role = parse_role(args.role)  # `billing` is billing-admin here as in Slack
        if args.action == "grant":
            changed = runtime.service.roles.grant(CLI, args.user_id, role)
            print(f"granted {role} to {args.user_id}" if changed else f"{args.user_id} already is {role}", file=out)
            if changed:  # the CLI has no Slack directory: the id is taken as given, and the operator told
                print(UNCHECKED_ID.format(user_id=args.user_id), file=out)
        else:
            changed = runtime.service.roles.revoke(CLI, args.user_id, role)
            print(f"revoked {role} from {args.user_id}" if changed else f"{args.user_id} was not {role}", file=out)


def cmd_roles_list(args: argparse.Namespace, out: TextIO) -> None:
    with _runtime(args) as runtime:
        bindings = runtime.service.roles.bindings(CLI)
    if args.json:
        json.dump([b.as_json() for b in bindings], out, indent=2)
        out.write("\n")
        return
    if not bindings:
        print("No roles granted yet: `licensebot roles grant USER_ID global-admin`.", file=out)
    for b in bindings:
        print(f"{b.role:14}  {b.user_id}  (granted by {b.granted_by})", file=out)


# ------------------------------------------------------------------ audit
AUDIT_COLUMNS = ["at", "actor", "via", "action", "app", "targets", "seats", "assigned", "available", "detail"]


def cmd_audit_export(args: argparse.Namespace, out: TextIO) -> None:
    since, until = _day(args.since, "--since"), _day(args.until, "--until")
    if since and until and until < since:
        raise CliError(f"--until {until} is before --since {since}")
    with _runtime(args) as runtime:
        entries = runtime.service.audit.export(CLI, since=since, until=until, app_query=args.app, by=args.actor)
        if args.format == "jsonl":
            for entry in entries:
                out.write(json.dumps(entry.as_json(), separators=(",", ":")) + "\n")
            return
        writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            row = entry.as_json()
            row["targets"] = " ".join(row["targets"])
            row["detail"] = readable_detail(row["detail"])
            writer.writerow(row)


def _day(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CliError(f'{option} "{value}" is not a date (YYYY-MM-DD)') from None


def readable_detail(detail: dict[str, Any]) -> str:
    """The CSV's `detail`: `key=value; key=value`, lists as `a, b` (empty ones left out), nested values
    as `key.sub=value` (docs/guide.md). JSON Lines keep the object as it is."""
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list | tuple):
            if value:
                parts.append(f"{prefix}={', '.join(str(v) for v in value)}")
        elif value is not None and value != "":
            parts.append(f"{prefix}={value}")

    walk("", detail)
    return "; ".join(parts)


# ------------------------------------------------------------------ requests
def cmd_requests_expire(args: argparse.Namespace, out: TextIO) -> None:
    """What `serve` does on its schedule, run once: expires overdue requests and marks the reminders due at
    half the TTL. Safe beside a running `serve` (each request expires, and is reminded of, once); the
    messages (the requester told, the approvers' copies updated, the reminders) go out from `serve`."""
    with _runtime(args) as runtime:
        sweep = runtime.service.requests.sweep(CLI)
    print(f"expired {len(sweep.expired)} request(s), reminded the approvers of {len(sweep.reminded)} request(s)",
          file=out)
    if sweep.expired or sweep.reminded:
        print("the running `licensebot serve` sends the messages", file=out)


# ------------------------------------------------------------------ outbox
def cmd_outbox(args: argparse.Namespace, out: TextIO) -> None:
    with _runtime(args) as runtime:
        status = runtime.service.outbox.status()
    if args.json:
        json.dump(status.as_json(), out, indent=2)
        out.write("\n")
        return
    age = status.oldest_pending_seconds
    oldest = "" if age is None else f", the oldest written {age:.0f} s ago"
    print(f"waiting to be sent: {status.pending}{oldest}", file=out)
    print(f"last 24 hours: {status.delivered_last_day} delivered, {status.dropped_last_day} dropped", file=out)
    for drop in status.recent_drops:
        print(f"  dropped #{drop.id} {drop.kind} to {drop.recipient} at {drop.done_at:%Y-%m-%d %H:%M:%S}Z: "
              f"{drop.error}", file=out)


# ------------------------------------------------------------------ parser
def build_parser(more: Sequence[CommandAdder] = ()) -> argparse.ArgumentParser:
    """The operator's commands, plus what `more` adds (the Slack-facing ones, from handlers/main.py)."""
    parser = Parser(prog="licensebot", description="Manage the licenses of third-party apps from Slack.")
    parser.add_argument("--version", action="version", version=f"licensebot {version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in more:
        add(commands)
    from handlers.cli import bulk, ops  # they build on this module

    if "assignments" not in commands.choices:  # handlers/main.py may have added it with Slack's directory
        bulk.add_assignments(commands)
    ops.add_ops(commands)

    apps = commands.add_parser("apps", help="the catalog of apps").add_subparsers(
        dest="apps_command", required=True, parser_class=Parser
    )
    imp = apps.add_parser("import", help="create or update apps from a YAML catalog (all or nothing)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true",
                     help="print what would be created, updated (with the fields) or unchanged; write nothing")
    imp.set_defaults(handler=cmd_apps_import)
    lst = apps.add_parser("list", help="apps with assigned / available / total")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_apps_list)
    show = apps.add_parser("show", help="one app with its users, groups and waiting members")
    show.add_argument("app")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_apps_show)
    token = apps.add_parser("token", help="issue a usage-rights API token for the app (or --revoke them all)")
    token.add_argument("app")
    token.add_argument("--revoke", action="store_true", help="revoke every token of the app")
    token.set_defaults(handler=cmd_apps_token)

    roles = commands.add_parser("roles", help="admin roles").add_subparsers(
        dest="roles_command", required=True, parser_class=Parser
    )
    for action in ("grant", "revoke"):
        change = roles.add_parser(action, help=f"{action} a role")
        change.add_argument("user_id", metavar="USER_ID")
        change.add_argument("role", metavar="ROLE", help="global-admin, billing-admin, license-admin or user-admin")
        change.set_defaults(handler=cmd_roles_change, action=action)
    rlist = roles.add_parser("list", help="who holds which role")
    rlist.add_argument("--json", action="store_true")
    rlist.set_defaults(handler=cmd_roles_list)

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=Parser
    )
    export = audit.add_parser("export", help="every entry (or those the filters keep), oldest first")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--since", metavar="DATE", help="from this day (YYYY-MM-DD, UTC), included")
    export.add_argument("--until", metavar="DATE", help="to this day (YYYY-MM-DD, UTC), included")
    export.add_argument("--app", metavar="APP", help="only this app's entries")
    export.add_argument("--actor", metavar="ID", help="only what this user id (or cli) did")
    export.set_defaults(handler=cmd_audit_export)
    add_verify(audit)

    requests = commands.add_parser("requests", help="license requests").add_subparsers(
        dest="requests_command", required=True, parser_class=Parser
    )
    requests.add_parser(
        "expire", help="expire overdue requests and mark due reminders (the running bot sends the messages)"
    ).set_defaults(handler=cmd_requests_expire)

    add_provision(commands, Parser)
    add_lifecycle(commands, Parser)

    outbox = commands.add_parser("outbox", help="messages waiting to be sent by `licensebot serve`, and recent drops")
    outbox.add_argument("--json", action="store_true")
    outbox.set_defaults(handler=cmd_outbox)
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("licensebot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def lazy(module: str, name: str) -> Callable[[argparse.Namespace, TextIO], Any]:
    """A command imported only when it runs: the catalog commands stay light."""

    def run(args: argparse.Namespace, out: TextIO) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(args, out)

    return run


def run(argv: Sequence[str] | None = None, out: TextIO | None = None, more: Sequence[CommandAdder] = ()) -> int:
    args = build_parser(more).parse_args(argv)
    try:
        result = args.handler(args, out or sys.stdout)
        return int(result or 0)
    except LicensingError as error:
        return _fail(error_text(error))
    except (SettingsError, CliError, CatalogFileError) as error:
        return _fail(str(error))
    except OperationalError as error:
        return _fail(f"cannot use the database: {str(error.orig).strip().splitlines()[0]}")
    except SQLAlchemyError as error:
        return _fail(f"database error: {str(error).strip().splitlines()[0]}")
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        return 0
    except Exception as error:  # one line, never a traceback; LICENSEBOT_DEBUG shows it
        if os.environ.get("LICENSEBOT_DEBUG"):
            raise
        return _fail(f"internal error: {type(error).__name__}: {error} (set LICENSEBOT_DEBUG=1 for details)")


def _fail(message: str) -> int:
    message = " ".join(message.splitlines())  # one line, even when a name in it holds a line break
    print(f"licensebot: error: {message}", file=sys.stderr)
    return EXIT_ERROR

