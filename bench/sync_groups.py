"""Benchmark: a full group sync (what `licensebot sync` and serve's periodic sync run) at workspace scale.

The fake Slack server (tests/support/fake_slack, real HTTP on loopback) holds 20,000 users and 50 user groups
of 400 members each; every group is assigned to one of 5 apps. Between the assignment and the sync each
group loses 40 members and gains 40 (10% churn), so the sync has 2,000 joins and 2,000 leaves to apply.
The first sync starts with an empty directory (as `serve` starts, or `licensebot sync`); then a sync with
nothing changed (the steady state of the hourly periodic sync), one after another 10% churn, and the
one a day later that walks users.list (the safety net for lost deletion events).

It prints, per sync: wall time, Slack Web API calls by method, the simulated wall time at Slack's pace
(every method used is rate tier 2, about 20 calls a minute: calls x 3 s), and database time (statements
timed with SQLAlchemy cursor events, plus commits). The target: a periodic sync with nothing changed is 1
call; with churn, calls proportional to the groups, never to the users (users.list is walked only at
start, for an unknown id, and once a day).

    .venv/bin/python bench/sync_groups.py                       # SQLite, and PostgreSQL if
                                                                # LICENSEBOT_TEST_POSTGRES_URL is set
    .venv/bin/python bench/sync_groups.py --no-postgres --groups 50 --members 400 --users 20000,100000
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from bot.sync import GroupSync
from handlers.slack.client import make_client
from handlers.slack.directory import USERS_TTL, SlackDirectory
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.fake_slack import FakeSlack
from tests.support.postgres_schema import fresh_schema

APPS = 5
CHURN = 0.10
TIER2_SECONDS = 3.0  # tier 2: about 20 calls a minute


class DbClock:
    """Time spent inside the database driver: every statement, and every commit."""

    def __init__(self, engine: Engine) -> None:
        self.seconds = 0.0
        self.statements = 0
        self._started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit_before)
        event.listen(engine, "rollback", self._commit_before)

    def _before(self, conn: Any, cursor: Any, *args: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, *args: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())
        self.statements += 1

    def _commit_before(self, conn: Any) -> None:
        # the commit itself is timed by wrapping the DBAPI connection's commit once
        raw = conn.connection.dbapi_connection
        if getattr(raw, "_bench_timed", False):
            return
        original = raw.commit

        def timed() -> None:
            started = time.perf_counter()
            try:
                original()
            finally:
                self.seconds += time.perf_counter() - started

        try:
            raw.commit = timed
            raw._bench_timed = True
        except AttributeError:  # a C-level connection that cannot be patched: statements only
            pass

    def reset(self) -> None:
        self.seconds, self.statements = 0.0, 0


@contextlib.contextmanager
def database(kind: str, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    assert postgres
    with fresh_schema(postgres, "bench") as url:
        yield url


def build_workspace(fake: FakeSlack, users: int, groups: int, members: int) -> tuple[list[str], list[list[str]]]:
    ids = fake.add_users(users)
    rosters = [[ids[(g * members + i) % users] for i in range(members)] for g in range(groups)]
    for g, roster in enumerate(rosters):
        fake.add_group(f"SG{g:07d}", f"group-{g}", f"Group {g}", roster)
    return ids, rosters


def churn(fake: FakeSlack, ids: list[str], rosters: list[list[str]]) -> list[list[str]]:
    """Each group: the first 10% leave, as many join from the next group's roster. Returns the new rosters."""
    changed = []
    for g, roster in enumerate(rosters):
        moved = int(len(roster) * CHURN)
        newcomers = [u for u in rosters[(g + 1) % len(rosters)] if u not in roster][:moved]
        changed.append(roster[moved:] + newcomers)
        fake.set_group_members(f"SG{g:07d}", changed[-1])
    return changed


def seed(url: str, rosters: list[list[str]], members: int) -> None:
    """Apps with room for every member and their churn; each group assigned to one app."""
    engine = make_engine(url)
    upgrade_schema(engine)
    directory = InMemoryDirectory(Group(f"SG{g:07d}", f"group-{g}", f"Group {g}", tuple(r)) for g, r in enumerate(rosters))
    service = LicensingService(UnitOfWorkFactory(engine), directory)
    per_app = -(-len(rosters) // APPS)
    seats = per_app * members * 2
    service.catalog.import_apps(Actor.cli(), [AppRecord(name=f"App {a}", seats=seats, purchased_via="marketplace")
                                      for a in range(APPS)])
    for g in range(len(rosters)):
        service.assignments.assign(Actor.cli(), f"App {g % APPS}", groups=[f"SG{g:07d}"])
    engine.dispose()


def calls_by_method(fake: FakeSlack, since: int) -> dict[str, int]:
    counts = collections.Counter(c.method for c in fake.calls[since:])
    return dict(sorted(counts.items()))


def run(kind: str, url: str, users: int, args: argparse.Namespace) -> None:
    with FakeSlack() as fake:
        ids, rosters = build_workspace(fake, users, args.groups, args.members)
        seed(url, rosters, args.members)
        rosters = churn(fake, ids, rosters)

        engine = make_engine(url)
        clock = DbClock(engine)
        later = [0.0]  # the directory's clock, moved a day on for the daily users.list walk
        directory = SlackDirectory(make_client(fake.bot_token, fake.url), sync_interval=3600.0,
                                   clock=lambda: time.monotonic() + later[0])
        sync = GroupSync(LicensingService(UnitOfWorkFactory(engine), directory), directory, Actor.cli())
        steps = (("start: empty dir, churn", None), ("periodic, no change", None),
                 ("periodic, 10% churn", lambda: churn(fake, ids, rosters)),
                 ("daily, no change", lambda: later.__setitem__(0, later[0] + USERS_TTL)))
        for label, before in steps:
            if before is not None:
                before()
            clock.reset()
            since = len(fake.calls)
            started = time.perf_counter()
            report = sync.run()
            wall = time.perf_counter() - started
            calls = calls_by_method(fake, since)
            paced = sum(calls.values()) * TIER2_SECONDS
            print(f"{kind:7} {users:>7,} {label:24} wall {wall:6.2f} s  at Slack's pace {_minutes(paced):>9}  "
                  f"db {clock.seconds:5.2f} s ({clock.statements} stmts)  slack calls {sum(calls.values())}: "
                  + ", ".join(f"{m} {n}" for m, n in calls.items()))
            print(f"{'':7} {'':>7} {'':24} {report.summary()}")
        engine.dispose()


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="20000,100000", help="comma-separated workspace sizes")
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(part) for part in str(args.users).split(",") if part.strip()]
    print(f"{args.groups} groups x {args.members} members; {APPS} apps; users.list pages of 200; "
          f"Slack's pace: {TIER2_SECONDS:.0f} s a call (tier 2)")
    kinds = ["sqlite"] + ([] if args.no_postgres or not args.postgres else ["postgres"])
    for users in sizes:
        for kind in kinds:
            with database(kind, args.postgres) as url:
                run(kind, url, users, args)


if __name__ == "__main__":
    main()
