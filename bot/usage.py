"""Usage (SPEC §9): when each holder last used an app, from the vendor's usage export
(`licensebot usage import FILE.csv`), and how many holders are idle.

An import is all or nothing, like an assignments file: every problem is found first (apps and people by
the same checks as `assignments import`, bot/bulk.py's `RowChecks`; dates malformed or in the future) and
any one refuses the whole file. The file is the vendor's truth: each (app, user) it names gets its date,
replacing what an earlier file said (a later line naming the same pair again: the latest date of the two).

Idle: a holder whose last activity is IDLE_DAYS or more ago. A holder no imported file names is not idle
but "no usage data": only what a vendor reported counts against anyone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.bulk import RowChecks
from bot.domain import Action, Actor
from bot.errors import BulkProblem
from bot.kernel import Kernel

IDLE_DAYS = 30  # the details modal's "Idle 30+ days"


@dataclass(frozen=True)
class UsageRow:
    """One line of a usage file, as written (the core reads and checks every field)."""

    line: int
    app: str
    user: str
    last_active: str


@dataclass(frozen=True)
class UsageImport:
    apps: dict[str, int]  # app name -> users whose date was recorded
    by_email: dict[str, str]

    @property
    def rows(self) -> int:
        return sum(self.apps.values())


@dataclass(frozen=True)
class IdleCount:
    idle: int  # holders last active IDLE_DAYS or more ago
    no_data: int  # holders no imported file names
    days: int = IDLE_DAYS


class UsageService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def import_rows(self, actor: Actor, rows: Sequence[UsageRow]) -> UsageImport:
        """Raises BulkImportRefused with every problem, having written nothing."""
        checks = RowChecks(self.k)
        today = self.k.now().date()
        people = [(row, checks.user(row.line, row.user), self._date(row, today, checks.problems)) for row in rows]
        checks.check_ids(actor, Action.IMPORT_USAGE)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.IMPORT_USAGE)
            wanted: dict[int, dict[str, dt.date]] = {}  # app id -> user -> last active
            for row, user, day in people:
                app = checks.app(uow, row.line, row.app)
                if app is None or user is None or day is None:
                    continue
                per_app = wanted.setdefault(app.id, {})
                per_app[user] = max(day, per_app.get(user, day))
            checks.refuse_if_any()
            now = self.k.now()
            names = {a.id: a.name for a in checks.apps.values()}
            for app_id, dates in wanted.items():
                uow.usage.replace(app_id, dates, now)
                app = uow.apps.get(app_id)
                self.k.audit(uow, actor, "usage.import", app, sorted(dates), {"users": len(dates)})
            uow.commit()
        return UsageImport({names[a]: len(d) for a, d in wanted.items()}, checks.by_email)

    @staticmethod
    def _date(row: UsageRow, today: dt.date, problems: list[BulkProblem]) -> dt.date | None:
        value = row.last_active.strip()
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            problems.append(BulkProblem("bad-last-active", row.line, {"value": value[:40]}))
            return None
        if day > today:
            problems.append(BulkProblem("future-last-active", row.line, {"value": value}))
            return None
        return day

    def idle(self, query: str) -> IdleCount:
        """How many holders of the app are idle IDLE_DAYS or more, and how many have no usage data."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            cutoff = self.k.now().date() - dt.timedelta(days=IDLE_DAYS)
            idle, unknown = uow.usage.idle_holders(row.id, cutoff)
            return IdleCount(idle, unknown)
