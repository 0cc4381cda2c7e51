"""Benchmark: `assignments import` of 10,000 rows (10 apps x 1,000 people, ids and emails mixed) through
BulkService.import_rows, the way the CLI runs it after reading the file.

Printed next to an anchor measured in the same run on a fresh database of the same kind: the same 10,000
seats given by ONE group assignment per app (`assign(groups=[…])`, 10 calls), the bulk path the
product already had. Both give the same seats; the import also writes one direct assignment and one grant
per row, and checks every row first (apps, people, dates, counts).

    .venv/bin/python bench/bulk_import.py                  # SQLite, and PostgreSQL if
                                                            # LICENSEBOT_TEST_POSTGRES_URL is set
    .venv/bin/python bench/bulk_import.py --rows 10000 --apps 10 --no-postgres
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app_records import AppRecord
from bot.bulk import BulkRow
from bot.directory import Group, InMemoryDirectory, User
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.postgres_schema import fresh_schema

ADMIN = Actor("UBENCHADM")


@contextlib.contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def setup(url: str, rows: int, apps: int) -> tuple[LicensingService, list[BulkRow], list[str], Callable[[], None]]:
    engine = make_engine(url)
    upgrade_schema(engine)
    per_app = rows // apps
    users = [User(f"U{i:08d}", f"user{i}", f"User {i}", email=f"user{i}@example.com") for i in range(per_app)]
    groups = [Group(f"SBENCH{a:03d}", f"team{a}", f"Team {a}", tuple(u.id for u in users)) for a in range(apps)]
    directory = InMemoryDirectory(groups, users)
    service = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])
    names = [f"App {a:02d}" for a in range(apps)]
    service.catalog.import_apps(ADMIN, [AppRecord(name=n, seats=per_app, purchased_via="marketplace")
                                        for n in names])
    lines = [BulkRow(2 + a * per_app + i, names[a], u.email if i % 2 else u.id, "")
             for a in range(apps) for i, u in enumerate(users)]
    return service, lines, names, engine.dispose


def time_import(url: str, rows: int, apps: int) -> float:
    service, lines, _, close = setup(url, rows, apps)
    try:
        started = time.perf_counter()
        outcome = service.bulk.import_rows(ADMIN, lines)
        elapsed = time.perf_counter() - started
        assert outcome.seated == rows, outcome.seated
        return elapsed
    finally:
        close()


def time_anchor(url: str, rows: int, apps: int) -> float:
    service, _, names, close = setup(url, rows, apps)
    try:
        started = time.perf_counter()
        for a, name in enumerate(names):
            service.assignments.assign(ADMIN, name, groups=[f"SBENCH{a:03d}"])
        return time.perf_counter() - started
    finally:
        close()


def run(label: str, fresh: Callable[[], contextlib.AbstractContextManager[str]], rows: int, apps: int) -> None:
    with fresh() as url:
        anchor = time_anchor(url, rows, apps)
    with fresh() as url:
        imported = time_import(url, rows, apps)
    print(f"{label:10}  import of {rows:,} rows: {imported:6.2f} s   anchor (same seats, {apps} group assigns): "
          f"{anchor:6.2f} s   ratio {imported / anchor:5.1f}x   {rows / imported:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL", ""))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    run("SQLite", fresh_sqlite, args.rows, args.apps)
    if args.postgres and not args.no_postgres:
        run("PostgreSQL", lambda: fresh_schema(args.postgres, "bench"), args.rows, args.apps)


if __name__ == "__main__":
    main()
