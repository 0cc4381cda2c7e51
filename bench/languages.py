"""Benchmark: what speaking French costs the Slack door's builders (issue 14).

Pure builders, no database, no network: the Home tab of a global admin with 500 apps (and 200 pending
approvals), one page of `/licenses list`, an approver's copy of a request and the help table, each built
in English (the anchor: gettext's NullTranslations) and in French (the catalog, Babel's dates and numbers).
Printed: p50 / p99 per build in each language and the French / English ratio of the medians.

    .venv/bin/python bench/languages.py [--runs 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain import AppSummary
from bot.paging import Page
from bot.requests import PENDING, LicenseRequest
from handlers.slack import i18n
from handlers.slack.features import FEATURES, catalog, home, requests
from handlers.slack.router import Router

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def app(i: int) -> AppSummary:
    return AppSummary(name=f"App {i:04d}", vendor="Contoso", purchased_via="marketplace", total=2_000 + i,
                      assigned=1_500 + i, waiting=i % 7, provider_contact="", install_url="https://x.example",
                      renewal_date=dt.date(2026, 12, 1) + dt.timedelta(days=i % 120), notes="")


def request(i: int, summary: AppSummary) -> LicenseRequest:
    return LicenseRequest(id=i, app=summary, requester=f"U{i:010d}", reason="For the pipeline", status=PENDING,
                          created_at=NOW, expires_at=NOW + dt.timedelta(hours=72))


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    apps = [app(i) for i in range(500)]
    approvals = [request(i, apps[i % 500]) for i in range(200)]
    data = home.HomeData("U0000000001", held=[], apps=apps, pending=[], admin=True, approvals=approvals,
                         today=dt.date(2026, 11, 27))
    router = Router([sub for feature in FEATURES for sub in getattr(feature, "SUBCOMMANDS", [])])
    builders: dict[str, Callable[[], object]] = {
        "Home tab, 500 apps, 200 approvals": lambda: home.home_view(data),
        "/licenses list, one page": lambda: catalog.apps_table(Page(apps[:20], 500, 0, 20), ""),
        "an approver's copy": lambda: requests.approval_message(approvals[0]),
        "/licenses help": router.help_text,
    }
    print(f"{'builder':<36} {'en p50':>8} {'en p99':>8} {'fr p50':>8} {'fr p99':>8} {'fr/en':>6}")
    for name, build in builders.items():
        with i18n.speaking("en"):
            en = timed(build, runs)
        with i18n.speaking("fr"):
            fr = timed(build, runs)
        print(f"{name:<36} {en[0]:8.3f} {en[1]:8.3f} {fr[0]:8.3f} {fr[1]:8.3f} {fr[0] / en[0]:6.2f}  (ms)")


if __name__ == "__main__":
    main()
