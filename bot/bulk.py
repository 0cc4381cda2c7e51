"""Bulk assignment from a file, and who holds what (SPEC §11 "Bulk").

`import_rows` takes the rows of an assignments file (app, user as a Slack id or an email, optional until)
and applies them all or not at all: every problem is found first (unknown apps and people, bad dates, not
enough licenses for an app with the counts), and any one refuses the whole file. People are looked up in
the directory before any transaction opens (Slack's may page through users.list): no lock waits on Slack.
The seats are then given by the assignment rules themselves (`AssignmentService.assign_within`: the same
counts, audit and locks as `/licenses assign`), every app in one transaction, locked in id order.

`holdings` is the other way: each seat with its source (a direct assignment, or a group), for
`licensebot assignments export` and `/licenses export`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.assignments import AssignmentService
from bot.domain import USER_ID, Action, Actor, iso
from bot.errors import AmbiguousApp, AppNameMissing, BulkImportRefused, BulkProblem, NotEnoughLicenses, UnknownApp
from bot.kernel import Kernel
from storage.models import AppRow
from storage.uow import UnitOfWork

PROVISIONING_NONE = "none"  # until provisioning (SCIM) lands, no seat is provisioned anywhere


@dataclass(frozen=True)
class BulkRow:
    """One line of an assignments file, as written (the core reads and checks every field)."""

    line: int
    app: str
    user: str
    until: str = ""


@dataclass(frozen=True)
class AppImport:
    app: str
    seated: list[str]  # got a seat now
    already_held: list[str]
    total: int
    assigned: int  # after the import


@dataclass
class BulkImportOutcome:
    apps: list[AppImport]
    by_email: dict[str, str] = field(default_factory=dict)  # email -> user id, as the directory resolved it
    dry_run: bool = False

    @property
    def seated(self) -> int:
        return sum(len(a.seated) for a in self.apps)


@dataclass(frozen=True)
class Holding:
    """One seat and one of its sources: a user holding an app through two groups comes twice."""

    app: str
    user_id: str
    name: str
    email: str
    source: str  # "direct", or the group's handle (its id when the directory does not know it)
    since: dt.datetime
    until: dt.date | None
    provisioning: str = PROVISIONING_NONE

    COLUMNS = ("app", "user_id", "name", "email", "source", "since", "until", "provisioning")

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "user_id": self.user_id,
            "name": self.name,
            "email": self.email,
            "source": self.source,
            "since": iso(self.since),
            "until": self.until.isoformat() if self.until else "",
            "provisioning": self.provisioning,
        }


def looks_like_email(value: str) -> bool:
    name, at, domain = value.partition("@")
    return bool(at and name and "." in domain and not any(c.isspace() for c in value))


class RowChecks:
    """The checks every file the operator imports shares (assignments, usage): its apps and its people, each
    resolved once per file, every problem kept (`problems`) for one refusal naming them all.

    People: a Slack id must be known to the database or to the directory, an email is looked up in the
    directory (Slack's when the CLI has SLACK_BOT_TOKEN). Call `user` for every row before any transaction
    opens (the directory may page through Slack), then `check_ids` once."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.problems: list[BulkProblem] = []
        self.by_email: dict[str, str] = {}  # email -> user id, as the directory resolved it
        self.apps: dict[str, AppRow] = {}  # by name
        self._by_query: dict[str, AppRow | BulkProblem] = {}
        self._ids_to_check: dict[str, int] = {}  # a Slack id -> its first line

    def user(self, line: int, value: str) -> str | None:
        """The user id a row names (an id or an email), or None with its problem recorded."""
        value = value.strip()
        if USER_ID.match(value):
            self._ids_to_check.setdefault(value, line)
            return value
        if looks_like_email(value):
            user = self.k.directory.user_by_email(value)
            if user is None:
                self.problems.append(BulkProblem("unknown-user", line, {"value": value, "by_email": True}))
                return None
            self.by_email[value] = user.id
            return user.id
        self.problems.append(BulkProblem("bad-user", line, {"value": value[:80]}))
        return None

    def check_ids(self, actor: Actor, action: Action) -> None:
        """The Slack ids named: each known to the database or to the directory (the actor's role checked)."""
        with self.k.uow(lone_read=True) as uow:
            self.k.require(uow, actor, action)
            known = uow.holdings.known_users(list(self._ids_to_check))
        for user_id, line in self._ids_to_check.items():
            if user_id not in known and self.k.directory.user(user_id) is None:
                self.problems.append(BulkProblem("unknown-user", line, {"value": user_id, "by_email": False}))

    def app(self, uow: UnitOfWork, line: int, query: str) -> AppRow | None:
        """The row's app; each way of writing an app is resolved once per file."""
        if query not in self._by_query:
            try:
                found = self.k.resolve(uow, query)
                self._by_query[query] = self.apps.setdefault(found.name, found)
            except (UnknownApp, AmbiguousApp) as error:
                code = "unknown-app" if isinstance(error, UnknownApp) else "ambiguous-app"
                self._by_query[query] = BulkProblem(code, None, {"value": error.query, "candidates": error.candidates})
            except AppNameMissing:
                self._by_query[query] = BulkProblem("no-app", None)
        result = self._by_query[query]
        if isinstance(result, BulkProblem):
            self.problems.append(BulkProblem(result.code, line, result.facts))
            return None
        return result

    def refuse_if_any(self) -> None:
        if self.problems:
            raise BulkImportRefused(sorted(self.problems, key=lambda p: (p.line is None, p.line or 0)))


class BulkService:
    def __init__(self, kernel: Kernel, assignments: AssignmentService) -> None:
        self.k = kernel
        self.assignments = assignments

    # ------------------------------------------------------------------ import
    def import_rows(self, actor: Actor, rows: Sequence[BulkRow], *, dry_run: bool = False) -> BulkImportOutcome:
        """All or nothing: raises BulkImportRefused with every problem, having written nothing. A dry run
        checks everything the same way (the counts under the same locks) and then rolls back."""
        checks = RowChecks(self.k)
        problems = checks.problems
        today = self.k.now().date()
        wanted: dict[str, dict[str, tuple[dt.date | None, int]]] = {}  # app name -> user -> (until, line)
        # the people first, with no transaction open: the directory may have to page through Slack
        people = [(row, checks.user(row.line, row.user), self._until(row, today, problems)) for row in rows]
        checks.check_ids(actor, Action.ASSIGN)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.ASSIGN)
            apps = checks.apps
            for row, user, until in people:
                app = checks.app(uow, row.line, row.app)
                if app is None or user is None or until is False:
                    continue
                day = until if isinstance(until, dt.date) else None
                per_app = wanted.setdefault(app.name, {})
                if user in per_app and per_app[user][0] != day:
                    first = per_app[user][1]
                    problems.append(BulkProblem("two-untils", row.line, {"value": user, "first_line": first}))
                per_app.setdefault(user, (day, row.line))
            # locks in id order: two imports (or an import and an assign) never wait on each other in a circle
            locked = {name: uow.apps.lock(apps[name].id) for name in sorted(wanted, key=lambda n: apps[n].id)}
            for name, users in wanted.items():
                row_ = locked[name]
                seated = uow.licenses.seated_users(row_.id)
                needed = len(set(users) - seated)
                available = max(0, row_.total_seats - len(seated))
                if needed > available:
                    problems.append(BulkProblem("not-enough", None,
                                                {"app": name, "needed": needed, "available": available}))
            checks.refuse_if_any()
            outcome = BulkImportOutcome([], checks.by_email, dry_run)
            for name, users in wanted.items():
                outcome.apps.append(self._assign(uow, actor, locked[name], users))
            if not dry_run:  # a dry run leaves with its unit of work, rolled back
                uow.commit()
        return outcome

    def _assign(self, uow: UnitOfWork, actor: Actor, row: AppRow, users: dict[str, tuple[dt.date | None, int]]
                ) -> AppImport:
        ids = list(users)
        try:
            result, counts = self.assignments.assign_within(uow, actor, row, ids, [], {})
        except NotEnoughLicenses as error:  # counted above under the same lock: cannot happen, but never half
            raise BulkImportRefused([BulkProblem("not-enough", None, {"app": row.name, "needed": error.needed,
                                                                        "available": error.available})]) from None
        by_until: dict[dt.date | None, list[str]] = {}
        for user_id, (until, _) in users.items():
            by_until.setdefault(until, []).append(user_id)
        for until, group in by_until.items():
            uow.holdings.set_until(row.id, group, until, self.k.now())
        if counts is not None:
            detail = {**result, "via": "import"}
            untils = {u: until.isoformat() for u, (until, _) in users.items() if until is not None}
            if untils:
                detail["until"] = untils
            self.k.audit(uow, actor, "assign", row, [*ids, *result["seated"]], detail, counts=counts)
        uow.flush()
        assigned = uow.licenses.seated_count(row.id)
        return AppImport(row.name, result["seated"], result["already_held"], row.total_seats, assigned)

    @staticmethod
    def _until(row: BulkRow, today: dt.date, problems: list[BulkProblem]) -> dt.date | bool | None:
        """The date, None when empty, False when refused."""
        value = row.until.strip()
        if not value:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            problems.append(BulkProblem("bad-until", row.line, {"value": value[:40]}))
            return False
        if day < today:
            problems.append(BulkProblem("past-until", row.line, {"value": value}))
            return False
        return day

    # ------------------------------------------------------------------ export
    def holdings(self, actor: Actor, app_query: str | None = None) -> Iterator[Holding]:
        """Every seat with each of its sources, by app and user; names, emails and group handles from the
        directory (empty when it does not know them)."""
        directory = self.k.directory
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.EXPORT_ASSIGNMENTS)
            app_id = self.k.resolve(uow, app_query).id if app_query else None
            handles: dict[str, str] = {}
            for h in uow.holdings.holdings(app_id):
                user = directory.user(h.user_id)
                if h.kind == "group":
                    if h.subject_id not in handles:
                        group = directory.group(h.subject_id)
                        handles[h.subject_id] = group.handle if group is not None and group.handle else h.subject_id
                    source = handles[h.subject_id]
                else:
                    source = "direct"
                yield Holding(
                    app=h.app,
                    user_id=h.user_id,
                    name=(user.real_name or user.name) if user is not None else "",
                    email=user.email if user is not None else "",
                    source=source,
                    since=h.since,
                    until=h.until,  # a direct or a group assignment may end (issue 13)
                )
