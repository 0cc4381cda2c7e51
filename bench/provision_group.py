"""Benchmark: provisioning a user group of 1,000 members into the real scim2-server (loopback), next to the
same SCIM calls made by a plain scim2-client loop in the same run.

What is timed: from `assign` (the seats and 1,000 "provision" messages written in one transaction) until
every member is "provisioned", delivered by the outbox's Deliverer as `licensebot serve` runs it (4
workers; and 1 worker, the same shape as the plain loop). Vendor calls are counted by the SCIM door; with a
healthy vendor each new user costs 3 (look up by externalId, by userName, create) and nothing is retried.
The plain loop makes exactly those 3 calls per user with scim2-client, one after the other.

    .venv/bin/python bench/provision_group.py                # 1,000 members
    .venv/bin/python bench/provision_group.py --members 2000

Target (issue 12): calls ∝ users, no retries when healthy; wall time within 1.5x of the plain loop.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Email, Name, ScimProvider, SearchRequest, User

from bot.app_records import AppRecord
from bot.delivery import Deliverer
from bot.directory import Group, InMemoryDirectory
from bot.directory import User as SlackUser
from bot.domain import Actor
from bot.notify import Kind
from bot.outbox import OutboxMessage, Outcome, Sent
from bot.service import LicensingService
from handlers.scim.vendor import ScimVendor
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.scim_server import TOKEN, ScimServer

CLI = Actor.cli()
TOKEN_ENV = "BENCH_SCIM_TOKEN"
TARGET_RATIO = 1.5


def user_id(n: int) -> str:
    return f"U{n:08d}"


def provision_with_licensebot(members: int, workers: int) -> dict[str, float]:
    os.environ[TOKEN_ENV] = TOKEN
    vendors: list[ScimVendor] = []

    def factory(url: str, token: str) -> ScimVendor:
        vendor = ScimVendor(url, token)
        vendors.append(vendor)
        return vendor

    with ScimServer() as scim, tempfile.TemporaryDirectory(prefix="licensebot-bench-") as tmp:
        url = f"sqlite:///{tmp}/licensebot.db"
        engine = make_engine(url)
        upgrade_schema(engine)
        group = Group("SBENCH01", "bench", "Bench", tuple(user_id(n) for n in range(members)))
        directory = InMemoryDirectory([group], [SlackUser(user_id(n), f"user{n}", f"User {n}",
                                                          email=f"user{n}@example.com") for n in range(members)])
        service = LicensingService(UnitOfWorkFactory(engine), directory)
        service.provisioning.connect(factory)
        service.catalog.import_apps(CLI, [AppRecord.model_validate({
            "name": "Contoso CRM", "seats": members, "purchased_via": "marketplace",
            "provisioning": {"scim_url": scim.url, "token_env": TOKEN_ENV}})])

        def slack(message: OutboxMessage) -> Outcome:
            return Sent()

        deliverer = Deliverer(service.outbox, slack, workers=workers, poll=0.05,
                              routes={Kind.PROVISION: service.provisioning.deliver})
        stop = threading.Event()
        started = time.perf_counter()
        deliverer.start(stop)
        service.assignments.assign(CLI, "Contoso CRM", groups=[group.id])
        assigned = time.perf_counter() - started
        while True:
            status = service.provisioning.status("Contoso CRM")
            if status.pending == 0:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        stop.set()
        deliverer.join()
        retried = sum(m.attempts for m in service.outbox.queued())
        with engine.connect() as conn:
            attempts = conn.exec_driver_sql("SELECT sum(attempts), count(*) FROM outbox WHERE kind = 'provision'").one()
        active = sum(1 for _ in scim_active(scim))
        engine.dispose()
    calls = sum(v.calls for v in vendors)
    return {"seconds": elapsed, "assign_seconds": assigned, "calls": calls, "messages": int(attempts[1]),
            "tries": int(attempts[0] or 0), "failed": status.failed, "active": active, "queued_retries": retried}


def provision_with_a_plain_loop(members: int) -> dict[str, float]:
    """The same 3 calls per user, with scim2-client alone: no database, no outbox."""
    with ScimServer() as scim:
        http = httpx2.Client(base_url=scim.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        client = SyncSCIMClient(http, provider=ScimProvider(models=[User]))
        started = time.perf_counter()
        calls = 0
        for n in range(members):
            for scim_filter in (f'externalId eq "{user_id(n)}"', f'userName eq "user{n}@example.com"'):
                client.query(User, query_parameters=SearchRequest(filter=scim_filter, count=2))
                calls += 1
            client.create(User(user_name=f"user{n}@example.com", external_id=user_id(n), display_name=f"User {n}",
                               name=Name(formatted=f"User {n}", given_name="User", family_name=str(n)),
                               emails=[Email(value=f"user{n}@example.com", primary=True, type=Email.Type.work)],
                               active=True))
            calls += 1
        elapsed = time.perf_counter() - started
        active = sum(1 for _ in scim_active(scim))
        http.close()
    return {"seconds": elapsed, "calls": calls, "active": active}


def scim_active(scim: ScimServer) -> Any:
    return (u for u in scim.users().values() if u.active)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args()
    plain = provision_with_a_plain_loop(args.members)
    ours = {workers: provision_with_licensebot(args.members, workers) for workers in (4, 1)}
    print(f"provisioning a group of {args.members} members into scim2-server on loopback; {os.cpu_count()} CPUs; "
          "SQLite")
    print(f"{'run':34} {'wall s':>7} {'calls':>6} {'calls/user':>10} {'retries':>7} {'active':>6}  vs plain loop")
    print(f"{'plain scim2-client loop':34} {plain['seconds']:7.2f} {plain['calls']:6.0f} "
          f"{plain['calls'] / args.members:10.2f} {0:7d} {plain['active']:6.0f}  1.00x")
    ok = True
    for workers, r in ours.items():
        ratio = r["seconds"] / plain["seconds"]
        retries = int(r["tries"] - r["messages"])
        good = retries == 0 and r["failed"] == 0 and r["active"] == args.members and r["calls"] == plain["calls"]
        if workers == 4:
            good &= ratio <= TARGET_RATIO
        ok &= good
        label = f"licensebot, outbox with {workers} worker(s)"
        print(f"{label:34} {r['seconds']:7.2f} {r['calls']:6.0f} {r['calls'] / args.members:10.2f} {retries:7d} "
              f"{r['active']:6.0f}  {ratio:4.2f}x {'ok' if good else 'MISSED'}  (assign itself: "
              f"{r['assign_seconds']:.2f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
