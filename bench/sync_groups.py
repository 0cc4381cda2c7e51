"""Benchmark: a full group sync (what `licensebot sync` and serve's periodic sync run) at workspace scale.

The fake Slack server (tests/support/fake_slack, real HTTP on loopback) holds 20,000 users and 50 user groups
of 400 members each; every group is assigned to one of 5 apps. Between the assignment and the sync each
group loses 40 members and gains 40 (10% churn), so the sync has 2,000 joins and 2,000 leaves to apply.
A second sync follows with nothing changed (the steady state of a periodic sync).

It prints, per sync: wall time, Slack Web API calls by method, and database time (statements timed
with SQLAlchemy cursor events, plus commits). The target: Slack calls proportional to the number of
groups and of users.list pages — never to the number of users or members.

    .venv/bin/python bench/sync_groups.py                       # SQLite, and PostgreSQL if
                                                                # LICENSEBOT_TEST_POSTGRES_URL is set
    .venv/bin/python bench/sync_groups.py --no-postgres --groups 50 --members 400 --users 20000
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
from handlers.slack.directory import SlackDirectory
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.fake_slack import FakeSlack
from tests.support.postgres_schema import fresh_schema

APPS = 5
CHURN = 0.10


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


def churn(fake: FakeSlack, ids: list[str], rosters: list[list[str]]) -> None:
    """Each group: the first 10% leave, as many join from the next group's roster."""
    for g, roster in enumerate(rosters):
        moved = int(len(roster) * CHURN)
        newcomers = [u for u in rosters[(g + 1) % len(rosters)] if u not in roster][:moved]
        fake.set_group_members(f"SG{g:07d}", roster[moved:] + newcomers)


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


def run(kind: str, url: str, args: argparse.Namespace) -> None:
    with FakeSlack() as fake:
        ids, rosters = build_workspace(fake, args.users, args.groups, args.members)
        seed(url, rosters, args.members)
        churn(fake, ids, rosters)

        engine = make_engine(url)
        clock = DbClock(engine)
        directory = SlackDirectory(make_client(fake.bot_token, fake.url))
        sync = GroupSync(LicensingService(UnitOfWorkFactory(engine), directory), directory, Actor.cli())
        for label in ("sync after 10% churn", "sync, nothing changed"):
            clock.reset()
            since = len(fake.calls)
            started = time.perf_counter()
            report = sync.run()
            wall = time.perf_counter() - started
            calls = calls_by_method(fake, since)
            print(f"{kind:8} {label:24} wall {wall:6.2f} s   db {clock.seconds:6.2f} s "
                  f"({clock.statements} statements)   slack calls {sum(calls.values())}: "
                  + ", ".join(f"{m} {n}" for m, n in calls.items()))
            print(f"{'':8} {'':24} {report.summary()}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--members", type=int, default=400)
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    pages = -(-args.users // 200)
    print(f"{args.groups} groups x {args.members} members, {args.users:,} users "
          f"(users.list pages of 200: {pages}); {APPS} apps")
    kinds = ["sqlite"] + ([] if args.no_postgres or not args.postgres else ["postgres"])
    for kind in kinds:
        with database(kind, args.postgres) as url:
            run(kind, url, args)


if __name__ == "__main__":
    main()
