"""Benchmark: how fast `licensebot serve` acknowledges slash commands under load, next to a bare bolt app.

Layout, the same for both servers: the server is a subprocess behind waitress on loopback; the load comes
from a separate process (CLIENTS threads, one keep-alive connection each, signed `/licenses` commands);
the fake Slack Web API (tests/support/fake_slack) answers `views.open` and `auth.test` in this process.

Loads: `/licenses list` (answered inside the ack from the database) and `/licenses show Contoso` (acks,
then opens the details modal after the ack). The bare app (bench/bare_bolt_app.py, bolt's defaults) only
acks. Latency is measured by the client: from sending the request to reading the whole response.
Peak RSS is the serving process's VmHWM after the load.

    .venv/bin/python bench/ack_latency.py                    # 16 clients, 2,000 requests per load
    .venv/bin/python bench/ack_latency.py --requests 1000 --clients 16 --rounds 3

Targets (issue 4): p99 under 100 ms, and at most 1.25x the bare app's p99.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import slack_signing as slack
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
ADMIN = "UADMIN01"
TARGET_P99_MS, TARGET_RATIO = 100.0, 1.25
LOADS = {"list": "list", "modal": "show Contoso"}


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
        self.proc.wait(15)


def start_licensebot(fake: FakeSlack, database_url: str) -> Server:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url,
           "DATABASE_URL": database_url, "LICENSEBOT_GLOBAL_ADMINS": ADMIN, "LICENSEBOT_SYNC_INTERVAL_MINUTES": "0"}
    exe = Path(sys.executable).parent / "licensebot"
    return Server("licensebot", [str(exe), "serve", "--host", "127.0.0.1", "--port", "0"], env)


def start_bare(fake: FakeSlack) -> Server:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
    return Server("bare bolt", [sys.executable, str(ROOT / "bench" / "bare_bolt_app.py"), "0"], env)


# ------------------------------------------------------------------ load (runs in its own process)
def run_load(url: str, text: str, requests: int, clients: int, rate: float = 0.0) -> list[float]:
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
                                            response_url="http://127.0.0.1:9/unused")
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
    argv = [sys.executable, __file__, "--load", url, text, str(requests), str(clients), str(rate)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


# ------------------------------------------------------------------ report
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(server: Server, text: str, requests: int, clients: int, rounds: int, rate: float) -> dict[str, float]:
    load_from_another_process(server.url, text, max(100, clients * 10), clients)  # warm-up: pools, caches
    latencies: list[float] = []
    started, cpu = time.perf_counter(), server.cpu_seconds()
    for _ in range(rounds):
        latencies += load_from_another_process(server.url, text, requests, clients, rate)
    elapsed, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 99), "max": max(latencies),
            "n": len(latencies), "rps": len(latencies) / elapsed, "cpu_ms": cpu / len(latencies) * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per load and round (default 2000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=300.0,
                        help="requests per second of the paced run, all clients together (default 300)")
    args = parser.parse_args()
    ok = True
    for rate in (0.0, args.rate):
        ok &= run_and_report(args, rate)
    return 0 if ok else 1


def run_and_report(args: argparse.Namespace, rate: float) -> bool:
    results: dict[tuple[str, str], dict[str, float]] = {}
    rss: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp, FakeSlack(bot_token=TOKEN) as fake:
        url = f"sqlite:///{tmp}/licensebot.db"
        seed_catalog(url)
        for start in (lambda: start_bare(fake), lambda: start_licensebot(fake, url)):
            server = start()
            try:
                for load, text in LOADS.items():
                    results[(server.name, load)] = measure(server, text, args.requests, args.clients, args.rounds, rate)
                rss[server.name] = server.peak_rss_mb()
            finally:
                server.stop()
        opened = sum(1 for c in fake.calls_to("views.open") if c.status == 200)

    mode = f"paced at {rate:.0f} requests/s in all" if rate else "saturating: each client sends again at once"
    print(f"\n== {mode}")
    print(f"ack latency, {args.clients} concurrent clients on loopback, {args.requests * args.rounds} requests "
          f"per load (client-side, ms; CPU/req: the server process's CPU time per request, background work included); {os.cpu_count()} CPUs")
    print(f"{'server':12} {'load':6} {'p50':>7} {'p99':>7} {'max':>7} {'req/s':>7} {'CPU/req':>8}  p99 vs bare")
    ok = True
    for (name, load), r in results.items():
        ratio = r["p99"] / results[("bare bolt", load)]["p99"]
        verdict = ""
        if name == "licensebot":
            good = r["p99"] < TARGET_P99_MS and ratio <= TARGET_RATIO
            ok &= good
            verdict = "ok" if good else f"MISSED (target p99 < {TARGET_P99_MS:.0f} ms, ≤ {TARGET_RATIO}x bare)"
        print(f"{name:12} {load:6} {r['p50']:7.1f} {r['p99']:7.1f} {r['max']:7.1f} {r['rps']:7.0f} {r['cpu_ms']:8.2f}  "
              f"{ratio:4.2f}x {verdict}")
    for name, mb in rss.items():
        print(f"peak RSS of {name}: {mb:.0f} MB")
    print(f"views.open calls answered by the fake Slack: {opened}")
    return ok


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        _, _, url, text, requests, clients, rate = sys.argv
        print(json.dumps(run_load(url, text, int(requests), int(clients), float(rate))))
        sys.exit(0)
    sys.exit(main())
