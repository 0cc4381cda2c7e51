"""Benchmark: assign ONE user group of 10,000 members to an app through LicensingService.assign.

It reports the wall time of the call next to a floor measured in the same run, on the same database: a
plain DB-API `executemany` inserting the same 10,000 rows into a table shaped like `seats` (id, app_id,
user_id, since; unique (app_id, user_id)) in one transaction, committed. Each figure is measured on a
fresh database (SQLite: a new file in a temporary directory; PostgreSQL: a new schema, dropped after).

    .venv/bin/python bench/assign_group.py                      # SQLite, and PostgreSQL if
                                                                # LICENSEBOT_TEST_POSTGRES_URL is set
    .venv/bin/python bench/assign_group.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/assign_group.py --members 10000 --runs 5 --no-postgres

Target (issue 3): the figure at most 3x the floor, and under 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.postgres_schema import fresh_schema

ADMIN = Actor("UBENCHADM")
GROUP = "SBENCH001"
APP = "Contoso CRM"
TARGET_RATIO, TARGET_SECONDS = 3.0, 1.0


# ------------------------------------------------------------------ fresh databases
@contextlib.contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def fresh_postgres(base: str) -> Callable[[], contextlib.AbstractContextManager[str]]:
    return lambda: fresh_schema(base, "bench")


# ------------------------------------------------------------------ the two measurements
def members(n: int) -> list[str]:
    return [f"U{i:08d}" for i in range(n)]


def time_assign(url: str, n: int) -> float:
    """Wall time of LicensingService.assign for one group of n members (schema and app set up before)."""
    engine = make_engine(url)
    try:
        upgrade_schema(engine)
        directory = InMemoryDirectory([Group(GROUP, "everyone", "Everyone", tuple(members(n)))])
        service = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])
        service.catalog.import_apps(ADMIN, [AppRecord(name=APP, seats=n, purchased_via="marketplace")])
        started = time.perf_counter()
        outcome = service.assignments.assign(ADMIN, APP, groups=[GROUP])
        elapsed = time.perf_counter() - started
        assert outcome.app.assigned == n and len(outcome.seated) == n, outcome.app
        return elapsed
    finally:
        engine.dispose()


def time_floor(url: str, n: int) -> float:
    """Plain DB-API executemany of the same n rows into a seats-shaped table, one transaction, committed."""
    engine: Engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    id_column = "id INTEGER PRIMARY KEY" if sqlite else "id BIGSERIAL PRIMARY KEY"
    placeholder = "?" if sqlite else "%s"
    now = dt.datetime.now(dt.UTC)
    since = now.isoformat(sep=" ") if sqlite else now  # how SQLAlchemy stores it on each
    rows = [(1, user, since) for user in members(n)]
    try:
        raw = engine.raw_connection()  # the engine's own connection setup (SQLite: WAL, synchronous=NORMAL)
        try:
            cur = raw.cursor()
            cur.execute(
                f"CREATE TABLE floor_seats ({id_column}, app_id BIGINT NOT NULL, user_id VARCHAR(64) NOT NULL, "
                "since TIMESTAMP NOT NULL, CONSTRAINT uq_floor_app_user UNIQUE (app_id, user_id))"
            )
            raw.commit()
            started = time.perf_counter()
            if sqlite:
                cur.execute("BEGIN")
            cur.executemany(
                f"INSERT INTO floor_seats (app_id, user_id, since) VALUES ({placeholder}, {placeholder}, {placeholder})",
                rows,
            )
            raw.commit()
            elapsed = time.perf_counter() - started
            cur.execute("SELECT count(*) FROM floor_seats")
            assert cur.fetchone()[0] == n
            return elapsed
        finally:
            raw.close()
    finally:
        engine.dispose()


# ------------------------------------------------------------------ report
def measure(
    label: str, fresh: Callable[[], contextlib.AbstractContextManager[str]], n: int, runs: int
) -> tuple[list[float], list[float]]:
    figures, floors = [], []
    for _ in range(runs):  # interleaved, so both see the same machine load
        with fresh() as url:
            figures.append(time_assign(url, n))
        with fresh() as url:
            floors.append(time_floor(url, n))
    best, median = min(figures), statistics.median(figures)
    floor_best, floor_median = min(floors), statistics.median(floors)
    ratio = best / floor_best
    verdict = "OK" if ratio <= TARGET_RATIO and best < TARGET_SECONDS else "MISSES TARGET"
    print(
        f"{label:10}  assign: best {best * 1000:7.1f} ms  median {median * 1000:7.1f} ms   "
        f"floor: best {floor_best * 1000:6.1f} ms  median {floor_median * 1000:6.1f} ms   "
        f"ratio: best {ratio:4.2f}x  median {median / floor_median:4.2f}x   {verdict}"
    )
    return figures, floors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL", ""),
                        help="PostgreSQL URL (default: LICENSEBOT_TEST_POSTGRES_URL)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    print(f"assign one group of {args.members:,} members; best and median of {args.runs} runs; "
          f"target: <= {TARGET_RATIO:g}x the floor and < {TARGET_SECONDS:g} s")
    measure("sqlite", fresh_sqlite, args.members, args.runs)
    if args.no_postgres:
        print("postgresql  skipped (--no-postgres)")
    elif args.postgres:
        measure("postgresql", fresh_postgres(args.postgres), args.members, args.runs)
    else:
        print("postgresql  skipped (no --postgres URL and no LICENSEBOT_TEST_POSTGRES_URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
