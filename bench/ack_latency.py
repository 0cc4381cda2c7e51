"""Benchmark: how fast `licensebot serve` acknowledges slash commands under load, next to a bare bolt app.

Layout, the same for both servers: the server is a subprocess behind waitress on loopback; the load comes
from a separate process (CLIENTS threads, one keep-alive connection each, signed `/licenses` commands);
the fake Slack Web API (tests/support/fake_slack) answers `views.open` and `auth.test` in this process.

Loads: `/licenses list` (answered inside the ack from the database) and `/licenses show Contoso` (acks,
then opens the details modal after the ack). The bare app (bench/bare_bolt_app.py, bolt's defaults) only
acks. Latency is measured by the client: from sending the request to reading the whole response.
Peak RSS is the serving process's VmHWM after the load. The fake Slack holds a workspace of --users users
and --groups groups (20,000 and 2,000 by default), which `serve` loads into its directory before the load.

licensebot runs twice in each run: with the garbage collector at Python's defaults ("gc default",
LICENSEBOT_GC_TUNING=off) and as `serve` tunes it (handlers/heap.py). For each, the collections during the
load are read from its GET /metrics (licensebot_gc_pause_seconds): count, total and longest pause bucket,
by generation. With LICENSEBOT_TEST_POSTGRES_URL set (or --postgres URL), the whole run is repeated on
PostgreSQL.

    .venv/bin/python bench/ack_latency.py                    # 16 clients, 2,000 requests per load
    .venv/bin/python bench/ack_latency.py --requests 1000 --clients 16 --rounds 3 --no-paced

Targets (issue 4): p99 under 100 ms, and at most 1.25x the bare app's p99 (issue 16: for p99 too, with
the directory of 20,000 users loaded, peak RSS at most 100 MiB).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import slack_signing as slack
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.postgres_schema import fresh_schema

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
ADMIN = "UADMIN01"
TARGET_P99_MS, TARGET_RATIO = 100.0, 1.25
LOADS = {"list": "list", "modal": "show Contoso"}
RESPOND_TO = [""]  # the fake Slack's response_url (a modal that cannot open in time is told there)


# ------------------------------------------------------------------ servers
class Server:
    """A serving subprocess that prints 'listening on URL/slack/events' and stops on SIGTERM."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if m := re.search(r"listening on (http://\S+?)/slack/events", line):
                self.url = m.group(1)
                break
        else:
            raise RuntimeError(f"{name} did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep the pipe drained

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)  # the background lanes finish what the load queued
        except subprocess.TimeoutExpired:
            print(f"{self.name} did not stop within 60 s: killed", file=sys.stderr)
            self.proc.kill()
            self.proc.wait()


def start_licensebot(fake: FakeSlack, database_url: str, gc_tuning: bool = True) -> Server:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url,
           "DATABASE_URL": database_url, "LICENSEBOT_GLOBAL_ADMINS": ADMIN, "LICENSEBOT_SYNC_INTERVAL_MINUTES": "0",
           "LICENSEBOT_GC_TUNING": "on" if gc_tuning else "off"}
    exe = Path(sys.executable).parent / "licensebot"
    users, groups = len(fake.calls_to("users.list")), len(fake.calls_to("usergroups.list"))
    name = "licensebot" if gc_tuning else "lb gc default"
    server = Server(name, [str(exe), "serve", "--host", "127.0.0.1", "--port", "0"], env)
    # the directory's first load (started at serve's start), done before the load begins
    pages = -(-len(fake._users) // 200)
    fake.wait_for("users.list", count=users + pages, timeout=120)
    fake.wait_for("usergroups.list", count=groups + 1, timeout=120)
    time.sleep(1.0)  # the last page parsed and the heap settled
    return server


def workspace(fake: FakeSlack, users: int, groups: int, members: int = 20) -> None:
    """A workspace of `users` people and `groups` groups of `members` each, for the directory to hold."""
    ids = fake.add_users(users)
    for g in range(groups):
        fake.add_group(f"SB{g:07d}", f"bench-{g}", f"Bench group {g}",
                       [ids[(g * members + i) % len(ids)] for i in range(members)] if ids else [])


def gc_pauses(server: Server) -> dict[str, tuple[int, float, dict[str, int]]] | None:
    """licensebot_gc_pause_seconds by generation: (collections, seconds, cumulative count per bucket)."""
    try:
        text = urllib.request.urlopen(f"{server.url}/metrics", timeout=10).read().decode()
    except OSError:
        return None
    found: dict[str, tuple[int, float, dict[str, int]]] = {}
    for generation in "012":
        label = f'generation="{generation}"'
        buckets = {m.group(1): int(float(m.group(2))) for m in re.finditer(
            r'licensebot_gc_pause_seconds_bucket\{' + label + r',le="([^"]+)"\} (\S+)', text)}
        count = re.search(r'licensebot_gc_pause_seconds_count\{' + label + r'\} (\S+)', text)
        total = re.search(r'licensebot_gc_pause_seconds_sum\{' + label + r'\} (\S+)', text)
        if count and total:
            found[generation] = (int(float(count.group(1))), float(total.group(1)), buckets)
    return found


def pause_summary(before: dict | None, after: dict | None) -> str:
    """Per generation during the load: collections, total pause, and the bucket of the longest one."""
    if not before or not after:
        return "-"
    parts = []
    for generation in "012":
        count = after[generation][0] - before[generation][0]
        seconds = after[generation][1] - before[generation][1]
        during = {b: n - before[generation][2].get(b, 0) for b, n in after[generation][2].items()}
        longest = next((b for b, n in during.items() if n == count), "+Inf") if count else None
        parts.append(f"g{generation} {count}x {seconds * 1000:.0f} ms" + (f" (max ≤{_ms(longest)})" if longest else ""))
    return ", ".join(parts)


def _ms(bound: str) -> str:
    return bound if bound == "+Inf" else f"{float(bound) * 1000:g} ms"


def start_bare(fake: FakeSlack) -> Server:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
    return Server("bare bolt", [sys.executable, str(ROOT / "bench" / "bare_bolt_app.py"), "0"], env)


# ------------------------------------------------------------------ load (runs in its own process)
def run_load(url: str, text: str, requests: int, clients: int, rate: float = 0.0, respond_to: str = "") -> list[float]:
    """Sends `requests` signed commands over `clients` keep-alive connections; returns latencies in ms.

    rate 0: each client sends its next request as soon as the last is answered (saturating). rate R: the
    clients together send R requests a second on a fixed schedule (each client every clients/R seconds,
    staggered), so the latency is the server's answer time, not the queue of a saturated server.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        interval = clients / rate if rate else 0.0
        due = time.perf_counter() + index * interval / clients
        for n in counter:  # shared iterator: threads take the next request number until none is left
            body = slack.slash_command_body(text=text, user_id=ADMIN, trigger_id=f"trig-{index}-{n}",
                                            response_url=respond_to or "http://127.0.0.1:9/unused")
            headers = slack.sign(SECRET, body)
            if interval:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += interval
            started = time.perf_counter()
            conn.request("POST", "/slack/events", body, headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                with lock:
                    errors.append(str(response.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return latencies


def load_from_another_process(url: str, text: str, requests: int, clients: int, rate: float = 0.0) -> list[float]:
    argv = [sys.executable, __file__, "--load", url, text, str(requests), str(clients), str(rate), RESPOND_TO[0]]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


# ------------------------------------------------------------------ report
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(server: Server, text: str, requests: int, clients: int, rounds: int, rate: float) -> dict[str, Any]:
    load_from_another_process(server.url, text, max(100, clients * 10), clients)  # warm-up: pools, caches
    latencies: list[float] = []
    gc_before = gc_pauses(server) if server.name != "bare bolt" else None
    started, cpu = time.perf_counter(), server.cpu_seconds()
    for _ in range(rounds):
        latencies += load_from_another_process(server.url, text, requests, clients, rate)
    elapsed, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu
    gc_after = gc_pauses(server) if gc_before is not None else None
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 99),
            "p99.9": percentile(latencies, 99.9), "max": max(latencies),
            "n": len(latencies), "rps": len(latencies) / elapsed, "cpu_ms": cpu / len(latencies) * 1000,
            "gc": pause_summary(gc_before, gc_after)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per load and round (default 2000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=300.0,
                        help="requests per second of the paced run, all clients together (default 300)")
    parser.add_argument("--no-paced", action="store_true", help="the saturating run only")
    parser.add_argument("--users", type=int, default=20_000, help="users in the workspace (default 20,000)")
    parser.add_argument("--groups", type=int, default=2_000, help="groups in the workspace (default 2,000)")
    parser.add_argument("--postgres", default=os.environ.get("LICENSEBOT_TEST_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{os.cpu_count()} CPUs; workspace {args.users:,} users, {args.groups:,} groups")
    ok = True
    for kind in ["sqlite"] + ([] if args.no_postgres or not args.postgres else ["postgres"]):
        for rate in (0.0,) if args.no_paced else (0.0, args.rate):
            ok &= run_and_report(args, rate, kind)
    return 0 if ok else 1


@contextlib.contextmanager
def database(kind: str, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp:
            yield f"sqlite:///{tmp}/licensebot.db"
        return
    assert postgres
    with fresh_schema(postgres, "bench") as url:
        yield url


def run_and_report(args: argparse.Namespace, rate: float, kind: str) -> bool:
    results: dict[tuple[str, str], dict[str, Any]] = {}
    rss: dict[str, float] = {}
    with database(kind, args.postgres) as url, FakeSlack(bot_token=TOKEN) as fake:
        seed_catalog(url)
        workspace(fake, args.users, args.groups)
        RESPOND_TO[0] = fake.response_url("bench")
        starts = (lambda: start_bare(fake), lambda: start_licensebot(fake, url, gc_tuning=False),
                  lambda: start_licensebot(fake, url))
        for start in starts:
            server = start()
            try:
                for load, text in LOADS.items():
                    results[(server.name, load)] = measure(server, text, args.requests, args.clients, args.rounds, rate)
                rss[server.name] = server.peak_rss_mb()
            finally:
                server.stop()
        opened = sum(1 for c in fake.calls_to("views.open") if c.status == 200)
        told = len(fake.calls_to("response_url"))

    mode = f"paced at {rate:.0f} requests/s in all" if rate else "saturating: each client sends again at once"
    print(f"\n== {kind}, {mode}; load average now {os.getloadavg()[0]:.2f}")
    print(f"ack latency, {args.clients} concurrent clients on loopback, {args.requests * args.rounds} requests "
          f"per load (client-side, ms; CPU/req: the server process's CPU time per request, background work included)")
    print(f"{'server':13} {'load':6} {'p50':>6} {'p99':>6} {'p99.9':>6} {'max':>6} {'req/s':>6} {'CPU/req':>7}  "
          f"p99 vs bare  GC during the load")
    ok = True
    for (name, load), r in results.items():
        ratio = r["p99"] / results[("bare bolt", load)]["p99"]
        verdict = ""
        if name == "licensebot":
            good = r["p99"] < TARGET_P99_MS and ratio <= TARGET_RATIO
            ok &= good
            verdict = "ok" if good else "MISSED"
        print(f"{name:13} {load:6} {r['p50']:6.1f} {r['p99']:6.1f} {r['p99.9']:6.1f} {r['max']:6.1f} {r['rps']:6.0f} "
              f"{r['cpu_ms']:7.2f}  {ratio:4.2f}x {verdict:6} {r['gc'] if name != 'bare bolt' else ''}")
    for name, mb in rss.items():
        print(f"peak RSS of {name}: {mb:.0f} MiB")
    print(f"views.open calls answered by the fake Slack: {opened}; answers through response_url: {told}; target: p99 < {TARGET_P99_MS:.0f} ms and "
          f"≤ {TARGET_RATIO}x bare")
    return ok


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        _, _, url, text, requests, clients, rate, respond_to = sys.argv
        print(json.dumps(run_load(url, text, int(requests), int(clients), float(rate), respond_to)))
        sys.exit(0)
    sys.exit(main())
