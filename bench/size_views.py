"""Benchmark: building the views of issue 15 at size, in-process (server time: the core's reads plus the
Block Kit builder, what a listener does before it answers or calls views.open).

- the license details modal of an app with N assignees in N/50 groups (1,000 and 10,000 assignees);
- "See all N assignees": its first, middle and last page of 50;
- `/licenses list` (a page of 20, and `list WORDS`) with 100 and 1,000 apps.

The anchor is the details modal of an app with 10 assignees, measured in the same run: each figure is also
printed as a ratio to it. Target: p99 < 100 ms each, and the cost of a page independent of the total.

    .venv/bin/python bench/size_views.py                       # SQLite (and PostgreSQL if
    LICENSEBOT_TEST_POSTGRES_URL=postgresql://… .venv/bin/python bench/size_views.py   # the URL is set)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from handlers.slack.features import catalog, details
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory

CLI = Actor.cli()
VIEWER = "UVIEWER01"


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm: statement caches, imports
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def seed(service: LicensingService, directory: InMemoryDirectory, apps: int, sizes: list[int]) -> None:
    records = [AppRecord(name=f"App {i:04d}", vendor="Contoso Ltd" if i % 10 == 0 else "Acme", seats=10,
                         purchased_via="marketplace") for i in range(apps)]
    records += [AppRecord(name=f"Big {n}", vendor="Éditeur", seats=n, purchased_via="marketplace") for n in sizes]
    service.records.import_records(CLI, records)
    for n in sizes:
        groups = [Group(f"S{n:05d}{g:04d}", f"team-{n}-{g}", f"Team {g}",
                        tuple(f"U{n:05d}{g:04d}{m:02d}" for m in range(50))) for g in range(max(1, n // 50))]
        for group in groups:
            directory.put_group(group)
        if n < 50:
            service.assignments.assign(CLI, f"Big {n}", [f"USMALL{m:04d}" for m in range(n)], [])
        else:
            service.assignments.assign(CLI, f"Big {n}", [], [g.id for g in groups])


def run(url: str, runs: int) -> None:
    engine = make_engine(url)
    upgrade_schema(engine)
    directory = InMemoryDirectory()
    service = LicensingService(UnitOfWorkFactory(engine), directory)
    sizes = [10, 1_000, 10_000]
    start = time.perf_counter()
    seed(service, directory, 1_000, sizes)
    print(f"  seeded 1,003 apps and {sum(sizes):,} assignees in {time.perf_counter() - start:.1f} s")
    c = service.catalog

    def details_of(n: int) -> Callable[[], object]:
        return lambda: details.details_view(*c.overview(f"Big {n}", VIEWER))

    def see_all(n: int, page: int) -> Callable[[], object]:
        return lambda: details.assignees_view(*c.assignees(f"Big {n}", page, details.PAGE_SIZE))

    def listing(words: str, page: int = 1) -> Callable[[], object]:
        return lambda: catalog.apps_table(c.list_page(words, page, catalog.LISTED), words)

    anchor, _ = timed(details_of(10), runs)
    print(f"  {'view':46} {'p50 ms':>8} {'p99 ms':>8} {'p50/anchor':>11}")
    cases: list[tuple[str, Callable[[], object]]] = [("details, 10 assignees (anchor)", details_of(10))]
    for n in (1_000, 10_000):
        pages = -(-(n + n // 50) // details.PAGE_SIZE)
        cases += [
            (f"details, {n:,} assignees in {n // 50} groups", details_of(n)),
            (f"see all {n:,}: page 1", see_all(n, 1)),
            (f"see all {n:,}: page {pages // 2} (middle)", see_all(n, pages // 2)),
            (f"see all {n:,}: page {pages} (last)", see_all(n, pages)),
        ]
    cases += [
        ("list, 1,003 apps: page 1", listing("")),
        ("list, 1,003 apps: page 50 (last)", listing("", 50)),
        ("list contoso (101 of 1,003 by vendor)", listing("contoso")),
        ("list editeur (accent-free, 3 of 1,003)", listing("editeur")),
    ]
    for label, fn in cases:
        p50, p99 = timed(fn, runs)
        print(f"  {label:46} {p50:8.2f} {p99:8.2f} {p50 / anchor:10.1f}x")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        run(f"sqlite:///{tmp}/bench.db", args.runs)
    base = os.environ.get("LICENSEBOT_TEST_POSTGRES_URL")
    if base:
        from tests.support.postgres_schema import fresh_schema

        print("PostgreSQL")
        with fresh_schema(base) as url:
            run(url, args.runs)


if __name__ == "__main__":
    main()
