"""Benchmark: the "Groups" typeahead of "Assign licenses" over a workspace of 5,000 user groups.

`licensebot serve` runs as a process (SQLite) against the fake Slack server holding 5,000 groups; the
bench sends signed `block_suggestion` requests over HTTP, as Slack does for each keystroke, and times
each round trip on the client. After one warm-up request it counts the Slack API calls the bot made
while answering: the target is zero (the directory is cached), and p99 under 50 ms.

Three runs: one person typing (sequential requests), 8 people typing at once (8 client threads), and the
directory alone in-process (SlackDirectory.search_groups plus building the options), to show how much of
the round trip is the search itself.

    .venv/bin/python bench/typeahead.py
    .venv/bin/python bench/typeahead.py --groups 5000 --requests 2000 --clients 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.slack import ui
from handlers.slack.client import make_client
from handlers.slack.directory import SlackDirectory
from handlers.slack.features.assign import group_option
from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

WORDS = ["design", "engineering", "sales", "support", "finance", "legal", "ops", "data", "mobile", "web"]


def build_groups(fake: FakeSlack, count: int) -> list[str]:
    members = fake.add_users(200)
    handles = []
    for g in range(count):
        handle = f"{WORDS[g % len(WORDS)]}-{g}"
        fake.add_group(f"SG{g:07d}", handle, f"{WORDS[g % len(WORDS)].title()} team {g}", members[g % 150:][:20])
        handles.append(handle)
    return handles


def keystrokes(handles: list[str], n: int) -> list[str]:
    """What people type: growing prefixes of handles, words found inside names, and an empty box."""
    queries = []
    for i in range(n):
        handle = handles[(i * 7919) % len(handles)]
        kind = i % 5
        if kind == 4:
            queries.append("")
        elif kind == 3:
            queries.append("team " + handle.rsplit("-", 1)[1][:2])
        else:
            queries.append(handle[: 1 + (i % len(handle))])
    return queries


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return (f"p50 {p(0.50):6.2f} ms   p95 {p(0.95):6.2f} ms   p99 {p(0.99):6.2f} ms   "
            f"max {ordered[-1] * 1000:6.2f} ms   (n={len(ordered)}, mean {statistics.mean(ordered) * 1000:.2f} ms)")


def over_http(bot: BotProcess, queries: list[str], clients: int) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()

    def client(part: list[str]) -> None:
        for query in part:
            body = slack.interactivity_body(slack.options_payload("groups", "groups", query, user_id=GLOBAL_ADMIN))
            started = time.perf_counter()
            status, _, _ = bot.post(body)
            elapsed = time.perf_counter() - started
            assert status == 200, status
            with lock:
                timings.append(elapsed)

    threads = [threading.Thread(target=client, args=(queries[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def in_process(fake: FakeSlack, queries: list[str]) -> list[float]:
    directory = SlackDirectory(make_client(fake.bot_token, fake.url))
    directory.search_groups("")  # warm
    timings = []
    for query in queries:
        started = time.perf_counter()
        [group_option(g) for g in directory.search_groups(query, ui.OPTIONS_MAX)]
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as tmp:
        handles = build_groups(fake, args.groups)
        url = f"sqlite:///{tmp}/bench.db"
        seed_catalog(url)
        queries = keystrokes(handles, args.requests)
        with BotProcess(fake, url) as bot:
            over_http(bot, ["d"], 1)  # warm-up: the first keystroke (or start-up) loads the directory
            time.sleep(0.5)  # start-up's own warm-up of users, if still running
            before = len(fake.calls)
            print(f"{args.groups:,} groups; {args.requests:,} options requests over HTTP to `licensebot serve`")
            print(f"  1 client            {percentiles(over_http(bot, queries, 1))}")
            print(f"  {args.clients} clients           {percentiles(over_http(bot, queries, args.clients))}")
            after = fake.calls[before:]
            print(f"  Slack API calls after warm-up: {len(after)}"
                  + (" (" + ", ".join(sorted({c.method for c in after})) + ")" if after else ""))
        print(f"  in-process search   {percentiles(in_process(fake, queries))}")


if __name__ == "__main__":
    main()
