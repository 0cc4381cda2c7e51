"""Benchmark: the Home tab of a global admin at size (issue 14).

A catalog of 500 apps, 20,000 users holding licenses (40 direct assignees an app) and 200 pending
requests, on SQLite (and PostgreSQL when LICENSEBOT_TEST_POSTGRES_URL is set). Each opening is what
`app_home_opened` runs after its ack: read the person's data from the core (`home_data`), build the first
page (`home_view`) and publish it with `views.publish` to the fake Slack server over HTTP. Timed per
opening, 200 openings, after 5 warm-up ones; the build alone is shown beside it.

    .venv/bin/python bench/home_tab.py
    .venv/bin/python bench/home_tab.py --apps 500 --per-app 40 --requests 200 --openings 200

Target (issue 14): p99 < 150 ms for build and publish.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from handlers import heap
from handlers.cli.catalog_file import parse_catalog
from handlers.slack.client import make_client
from handlers.slack.features.home import home_data, home_view
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.fake_slack import FakeSlack
from tests.support.postgres_schema import fresh_schema

ADMIN = "UADMIN01"
CLI = Actor.cli()


def catalog(apps: int, seats: int) -> str:
    lines = ["apps:"]
    for i in range(apps):
        lines += [f"  - name: App {i:04d}", f"    vendor: Vendor {i % 37}", f"    seats: {seats}",
                  "    purchased_via: marketplace", f"    install_url: https://vendor{i}.example/install",
                  f"    renewal_date: 2027-{1 + i % 12:02d}-15"]
    return "\n".join(lines) + "\n"


def fill(url: str, apps: int, per_app: int, requests: int) -> LicensingService:
    engine = make_engine(url)
    upgrade_schema(engine)
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory())
    service.catalog.import_apps(CLI, parse_catalog(catalog(apps, per_app + 10)))
    service.roles.grant(CLI, ADMIN, "global-admin")
    for a in range(apps):
        users = [f"U{a * per_app + u:09d}" for u in range(per_app)]
        service.assignments.assign(CLI, f"App {a:04d}", users, [])
    for r in range(requests):
        service.requests.create(Actor(f"UREQ{r:06d}"), f"App {r % apps:04d}", "for the quarter's audit")
    return service


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, label: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    service = fill(url, args.apps, args.per_app, args.requests)
    print(f"{label}: {args.apps} apps, {args.apps * args.per_app:,} assigned users, {args.requests} pending "
          f"requests (filled in {time.perf_counter() - started:.1f} s)")
    heap.settle()  # as `serve` does after start-up (handlers/heap.py): the catalog's objects out of the collector's way
    with FakeSlack() as fake:
        deps: Any = SimpleNamespace(service=service, client=make_client(fake.bot_token, fake.url))
        builds, totals, blocks = [], [], 0
        for i in range(args.openings + 5):
            t0 = time.perf_counter()
            view = home_view(home_data(deps, ADMIN))
            t1 = time.perf_counter()
            deps.client.views_publish(user_id=ADMIN, view=view)
            t2 = time.perf_counter()
            if i >= 5:
                builds.append((t1 - t0) * 1000)
                totals.append((t2 - t0) * 1000)
            blocks = len(view["blocks"])
    for name, values in (("build", builds), ("build + views.publish", totals)):
        print(f"  {name:<22} p50 {statistics.median(values):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms"
              f"   max {max(values):7.1f} ms")
    print(f"  first page: {blocks} blocks (Slack allows 100)")


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/home.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--per-app", type=int, default=40)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--openings", type=int, default=200)
    args = parser.parse_args()
    heap.tune()  # `serve`'s collector settings (LICENSEBOT_GC_TUNING=off: Python's defaults)
    with sqlite_url() as url:
        run(url, "SQLite", args)
    postgres = os.environ.get("LICENSEBOT_TEST_POSTGRES_URL")
    if postgres:
        with fresh_schema(postgres, prefix="bench_home") as url:
            run(url, "PostgreSQL", args)


if __name__ == "__main__":
    main()
