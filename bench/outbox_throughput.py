"""Benchmark: how fast `licensebot serve` empties an outbox of 10,000 DMs on PostgreSQL, with one and with
two `serve` processes, next to a floor measured in the same run.

The DMs are real: 10,000 members of a group licensed to an app with no free seat wait, then the app gets
10,000 more seats and they are all seated in one transaction, which writes one outbox message each (what
`licensebot apps import` raising seats does). The serve processes are already running, idle; they poll
the outbox and deliver to the fake Slack (tests/support/fake_slack) over HTTP on loopback.

The floor: the same number of chat.postMessage calls made by a plain sequential loop, in its own process
(as serve is), with the same HTTP client (slack-sdk's WebClient, built by handlers.slack.client.
outbox_client) against the same fake Slack. It is measured before and after the serve runs; the ratio is
taken against the faster of the two. Rates are counted at the fake: from the first call it receives to
the last, the same way for every figure. Every run also checks that no message was delivered twice.

    LICENSEBOT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/outbox_throughput.py
    .venv/bin/python bench/outbox_throughput.py --postgres postgresql://postgres@127.0.0.1:5432/test --messages 2000

Target (issue 11): one process at least 0.8x the floor; no message delivered twice.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.slack.features.groups import seated_notice
from tests.support.bot_process import BOT_TOKEN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.postgres_schema import fresh_schema
from tests.support.slack_e2e import WAITLIST_APP, join_waitlist, service_on

TARGET_RATIO = 0.8
TEXT = seated_notice(WAITLIST_APP)


def users(n: int) -> list[str]:
    return [f"U{i:08d}" for i in range(n)]


# ------------------------------------------------------------------ the floor: a plain loop in its own process
def floor_loop(url: str, count: int) -> None:
    """Runs in a child process: `count` chat.postMessage calls, one after the other."""
    from handlers.slack.client import outbox_client

    client = outbox_client(BOT_TOKEN, url)
    for user_id in users(count):
        client.chat_postMessage(channel=user_id, text=TEXT)
    print(time.process_time())  # the CPU it took, for the parent


def measure_floor(fake: FakeSlack, count: int) -> tuple[float, float]:
    """(messages a second, CPU milliseconds a message in the sending process)."""
    fake.reset_calls()
    done = subprocess.run([sys.executable, __file__, "--floor-loop", fake.url, str(count)], check=True,
                          capture_output=True, text=True)
    return rate(fake, count), float(done.stdout.split()[-1]) * 1000 / count


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def accepted(fake: FakeSlack) -> int:
    with fake._cond:
        return sum(1 for c in fake.calls if c.status == 200 and c.method == "chat.postMessage")


def rate(fake: FakeSlack, count: int) -> float:
    """Messages a second, first call to last, as the fake saw them; checks each user got exactly one."""
    calls = [c for c in fake.calls_to("chat.postMessage") if c.status == 200]
    per_user = Counter(c.args.get("channel") for c in calls)
    twice = [u for u, n in per_user.items() if n > 1]
    assert not twice, f"{len(twice)} users got their DM more than once, e.g. {twice[:3]}"
    assert len(per_user) == count and set(per_user) == set(users(count)), f"{len(per_user)} of {count} delivered"
    assert all(c.args.get("text") == TEXT for c in calls)
    span = max(c.at for c in calls) - min(c.at for c in calls)
    return (count - 1) / span


# ------------------------------------------------------------------ serve
def measure_serve(fake: FakeSlack, base: str, count: int, processes: int) -> tuple[float, float, float]:
    """(messages a second, seconds from the commit to the last delivery, CPU milliseconds a message in the
    serve processes) with `processes` serve running."""
    fake.reset_calls()
    with fresh_schema(base, "bench") as url:
        seed_catalog(url)
        join_waitlist(url, users(count))  # they wait: no message yet
        bots = [BotProcess(fake, url).start() for _ in range(processes)]
        try:
            with service_on(url) as service:
                time.sleep(1.0)  # serve's start-up work (the directory's warm-up) is over
                cpu_before = sum(cpu_seconds(b.proc.pid) for b in bots)  # type: ignore[union-attr]
                committed = time.monotonic()
                service.assignments.set_seats(_cli(), WAITLIST_APP, count)  # one transaction: 10,000 messages
                while accepted(fake) < count:  # counted in memory: no load on the database meanwhile
                    time.sleep(0.2)
                done = time.monotonic()
                while service.outbox.status().pending:  # the last marks land
                    time.sleep(0.2)
                cpu = sum(cpu_seconds(b.proc.pid) for b in bots) - cpu_before  # type: ignore[union-attr]
        finally:
            for bot in bots:
                bot.stop()
        return rate(fake, count), done - committed, cpu * 1000 / count


def _cli():  # type: ignore[no-untyped-def]
    from bot.domain import Actor

    return Actor.cli()


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL", ""))
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--floor-loop", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_loop:
        floor_loop(args.floor_loop[0], int(args.floor_loop[1]))
        return 0
    if not args.postgres:
        print("needs PostgreSQL: --postgres URL or LICENSEBOT_TEST_POSTGRES_URL", file=sys.stderr)
        return 2
    count = args.messages
    print(f"outbox throughput: {count:,} DMs, PostgreSQL; load average at start {load()}")
    with FakeSlack() as fake:
        floors = [measure_floor(fake, count)]
        print(f"  floor (plain loop, same client)      {floors[0][0]:8.0f} msg/s   {floors[0][1]:.2f} ms CPU/msg")
        results = {}
        for processes in (1, 2):
            results[processes] = measure_serve(fake, args.postgres, count, processes)
            per_second, total, cpu = results[processes]
            print(f"  serve x{processes} (4 workers each)          {per_second:8.0f} msg/s   {cpu:.2f} ms CPU/msg  "
                  f"(commit to last delivery {total:.1f} s; no message twice)")
        floors.append(measure_floor(fake, count))
        print(f"  floor again                          {floors[1][0]:8.0f} msg/s   {floors[1][1]:.2f} ms CPU/msg")
    floor = max(f[0] for f in floors)
    for processes, (per_second, _, _) in results.items():
        verdict = f"  ({'meets' if per_second >= TARGET_RATIO * floor else 'MISSES'} the {TARGET_RATIO}x target)"
        print(f"  ratio serve x{processes} / floor: {per_second / floor:.2f}" + (verdict if processes == 1 else ""))
    print(f"load average at end {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
