"""Benchmark: the usage-rights API of `licensebot serve` (GET /api/v1/usage-rights) under 16 concurrent
clients on loopback, next to a floor measured in the same run: the same path on the same WSGI app, waitress
server and database answering a constant JSON body behind the same auth check (bench/usage_rights_floor.py).

Data: one app with 1,000 users in the fake Slack directory, 600 holding a seat, 100 waiting, 300 with
nothing; each request asks about a random one of them, half by Slack id and half by email. The load runs in
a separate process (one keep-alive connection per client thread); latency is measured by the client.

    .venv/bin/python bench/usage_rights.py                  # 16 clients, 4,000 requests per server
    .venv/bin/python bench/usage_rights.py --requests 8000 --rounds 2

Targets (issue 12): p99 < 10 ms, and at least 0.5x the floor's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ack_latency import SECRET, TOKEN, Server, percentile, start_licensebot
from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.fake_slack import FakeSlack

USERS, SEATS, WAITING = 1000, 600, 100
TARGET_P99_MS, TARGET_RATIO = 10.0, 0.5
CLI = Actor.cli()


def user_id(n: int) -> str:
    return f"U{n:08d}"


def seed(database_url: str, fake: FakeSlack) -> str:
    """The app, its seats and waiters; returns an API token for it."""
    for n in range(USERS):
        fake.add_user(user_id(n), name=f"user{n}")
    group = Group("SBENCH01", "bench", "Bench", tuple(user_id(n) for n in range(SEATS)))
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        directory = InMemoryDirectory([group])
        service = LicensingService(UnitOfWorkFactory(engine), directory)
        service.catalog.import_apps(CLI, [AppRecord(name="Contoso CRM", seats=SEATS, purchased_via="marketplace")])
        service.assignments.assign(CLI, "Contoso CRM", groups=[group.id])
        directory.set_members(group.id, [user_id(n) for n in range(SEATS + WAITING)])  # no seat left: they wait
        joined = directory.group(group.id)
        assert joined is not None
        service.membership.apply_group(CLI, joined)
        return service.usage_rights.issue(CLI, "Contoso CRM")
    finally:
        engine.dispose()


def start_floor(fake: FakeSlack, database_url: str) -> Server:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url,
           "DATABASE_URL": database_url}
    return Server("floor", [sys.executable, str(ROOT / "bench" / "usage_rights_floor.py")], env)


# ------------------------------------------------------------------ load (runs in its own process)
def run_load(url: str, token: str, requests: int, clients: int, seed_: int, rate: float = 0.0) -> dict[str, object]:
    """rate 0: each client asks again as soon as it is answered (saturating: the latency is mostly the queue
    of 16 clients on a busy server). rate R: the clients together send R requests a second on a fixed,
    staggered schedule, so the latency is the server's answer time."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    headers = {"Authorization": f"Bearer {token}"}

    def client(index: int) -> None:
        rng = random.Random(seed_ * 100 + index)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        seen: dict[int, int] = {}
        interval = clients / rate if rate else 0.0
        due = time.perf_counter() + index * interval / clients
        for _ in counter:
            if interval:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += interval
            n = rng.randrange(USERS)
            who = user_id(n) if rng.random() < 0.5 else quote(f"user{n}@example.com")
            started = time.perf_counter()
            conn.request("GET", f"/api/v1/usage-rights?user={who}", headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            seen[response.status] = seen.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "statuses": statuses}


def load_from_another_process(url: str, token: str, requests: int, clients: int, seed_: int,
                              rate: float = 0.0) -> dict[str, object]:
    argv = [sys.executable, __file__, "--load", url, token, str(requests), str(clients), str(seed_), str(rate)]
    return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def measure(server: Server, token: str, requests: int, clients: int, rounds: int, rate: float) -> dict[str, float]:
    load_from_another_process(server.url, token, max(200, clients * 10), clients, 0)  # warm-up: caches, pools
    latencies: list[float] = []
    bad = 0
    started = time.perf_counter()
    for n in range(rounds):
        result = load_from_another_process(server.url, token, requests, clients, n + 1, rate)
        latencies += result["latencies"]  # type: ignore[operator]
        bad += sum(c for s, c in result["statuses"].items() if s != "200")  # type: ignore[union-attr]
    elapsed = time.perf_counter() - started
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 99), "max": max(latencies),
            "n": len(latencies), "rps": len(latencies) / elapsed, "not_200": bad}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per server and round (default 4000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=200.0,
                        help="requests per second of the paced run, all clients together (default 200)")
    args = parser.parse_args()
    results: dict[tuple[str, float], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp, FakeSlack(bot_token=TOKEN) as fake:
        url = f"sqlite:///{tmp}/licensebot.db"
        token = seed(url, fake)
        for start in (lambda: start_floor(fake, url), lambda: start_licensebot(fake, url)):
            server = start()
            try:
                for rate in (0.0, args.rate):
                    results[(server.name, rate)] = measure(server, token, args.requests, args.clients, args.rounds,
                                                           rate)
            finally:
                server.stop()
    print(f"usage-rights API, {args.clients} concurrent clients on loopback, {args.requests * args.rounds} requests "
          f"per server and load (client-side, ms); {os.cpu_count()} CPUs; SQLite")
    print(f"{'server':12} {'load':>10} {'p50':>7} {'p99':>7} {'max':>7} {'req/s':>7} {'not 200':>8}  req/s vs floor")
    ok = True
    for (name, rate), r in results.items():
        ratio = r["rps"] / results[("floor", rate)]["rps"]
        load = f"{rate:.0f}/s" if rate else "saturating"
        verdict = ""
        if name == "licensebot":
            # throughput is judged saturating, latency paced (saturating, p99 is the queue of 16 clients)
            good = r["not_200"] == 0 and (ratio >= TARGET_RATIO if not rate else r["p99"] < TARGET_P99_MS)
            ok &= good
            verdict = "ok" if good else ("MISSED (target ≥ 0.5x the floor)" if not rate else
                                         f"MISSED (target p99 < {TARGET_P99_MS:.0f} ms)")
        print(f"{name:12} {load:>10} {r['p50']:7.2f} {r['p99']:7.2f} {r['max']:7.1f} {r['rps']:7.0f} "
              f"{r['not_200']:8.0f}  {ratio:4.2f}x {verdict}")
    return 0 if ok else 1

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        _, _, url, token, requests, clients, seed_, rate = sys.argv
        print(json.dumps(run_load(url, token, int(requests), int(clients), int(seed_), float(rate))))
        sys.exit(0)
    sys.exit(main())
