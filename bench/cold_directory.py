"""Benchmark: what a person waits for while the directory's first load is rate-limited (issue 10, defect 1).

`licensebot serve` starts against the fake Slack whose `usergroups.list` answers 429 with Retry-After
(--retry-after, 10 s by default) to the first call; at once CLIENTS threads send group typeaheads, and
`/licenses list` and `GET /healthz` are timed meanwhile. The anchor is the same three once the directory
is loaded (same process, same run). On main before issue 10, /healthz took 93 s here.

    .venv/bin/python bench/cold_directory.py                  # 20 typeaheads, Retry-After: 10
    .venv/bin/python bench/cold_directory.py --clients 40 --retry-after 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack


def timed(call: Callable[[], Any]) -> float:
    began = time.monotonic()
    call()
    return (time.monotonic() - began) * 1000


def round_of(bot: BotProcess, clients: int) -> dict[str, list[float]]:
    typeahead = slack.options_payload("groups", "groups", "des", user_id=GLOBAL_ADMIN)
    with ThreadPoolExecutor(max_workers=clients + 2) as pool:
        ahead = [pool.submit(timed, lambda: bot.interact(typeahead)) for _ in range(clients)]
        listed = pool.submit(timed, lambda: bot.command("list"))
        health = pool.submit(timed, bot.healthz)
        return {"typeahead": [f.result() for f in ahead], "list": [listed.result()], "healthz": [health.result()]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--retry-after", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        fake.add_users(50)
        for n in range(200):
            fake.add_group(f"S{n:08d}", f"design-{n}", f"Design {n}", [])
        url = f"sqlite:///{tmp}/bench.db"
        seed_catalog(url)
        fake.rate_limit_next("usergroups.list", retry_after=args.retry_after)
        with BotProcess(fake, url, wait_for_directory=False) as bot:
            fake.wait_for("usergroups.list", predicate=lambda c: c.status == 429)
            cold = round_of(bot, args.clients)
            while not any("directory loaded: groups" in line for line in bot.output):
                time.sleep(0.05)
            warm = round_of(bot, args.clients)
        print(f"{args.clients} typeaheads in flight, usergroups.list 429 Retry-After: {args.retry_after} at start")
        print(f"{'':10} {'cold max ms':>12} {'warm max ms':>12} {'ratio':>7}")
        for name in ("typeahead", "list", "healthz"):
            c, w = max(cold[name]), max(warm[name])
            print(f"{name:10} {c:12.1f} {w:12.1f} {c / w:7.2f}")
        print(f"typeahead median ms: cold {statistics.median(cold['typeahead']):.1f}, "
              f"warm {statistics.median(warm['typeahead']):.1f}")
        print(f"usergroups.list calls: {[c.status for c in fake.calls_to('usergroups.list')]}")


if __name__ == "__main__":
    main()
