"""Benchmark: what the audit log's hash chain costs per entry, next to the same work without it.

Two loads, each run with the chain (the product) and then without it (an anchor measured in the same run:
`AuditRepository.seal` swapped for a plain insert, no head lock, no hashing):
- `single`: ROUNDS transactions of one entry each (a role granted, then revoked: one entry per change);
- `bulk`: one group sync adding MEMBERS members (one transaction, MEMBERS `group.join` entries).
Then `audit verify` over everything written. SQLite always; PostgreSQL too when
LICENSEBOT_TEST_POSTGRES_URL is set (a scratch schema, dropped after).

    .venv/bin/python bench/audit_chain.py [--rounds 400] [--members 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app_records import AppRecord
from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine, normalize_url, upgrade_schema
from storage.repositories.people import AuditRepository
from storage.uow import UnitOfWorkFactory
from tests.support.postgres_schema import fresh_schema

ADMIN = Actor("UADMIN01")
CHAINED_SEAL = AuditRepository.seal


def plain_seal(self: AuditRepository) -> None:
    """The anchor: the entries inserted as they were before the chain."""
    rows, self._pending = self._pending, []
    self.session.add_all(rows)
    self.session.flush()


def run(url: str, rounds: int, members: int, chained: bool) -> dict[str, float]:
    AuditRepository.seal = CHAINED_SEAL if chained else plain_seal  # type: ignore[method-assign]
    engine = make_engine(url)
    try:
        upgrade_schema(engine)
        directory = InMemoryDirectory()
        service = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])
        service.catalog.import_apps(ADMIN, [AppRecord(name="Bench App", seats=members + 10,
                                                      purchased_via="marketplace")])
        group = Group("SBENCH01", "bench", "Bench", ())
        directory.put_group(group)
        service.assignments.assign(ADMIN, "Bench App", groups=[group.id])

        started = time.perf_counter()
        for n in range(rounds):
            if n % 2 == 0:
                service.roles.grant(ADMIN, "U0BENCH01", "user-admin")
            else:
                service.roles.revoke(ADMIN, "U0BENCH01", "user-admin")
        single = (time.perf_counter() - started) / rounds

        joined = Group(group.id, group.handle, group.name, tuple(f"U0B{n:07d}" for n in range(members)))
        started = time.perf_counter()
        service.membership.apply_group(ADMIN, joined)
        bulk = (time.perf_counter() - started) / members

        verify = 0.0
        if chained:
            started = time.perf_counter()
            check = service.audit.verify(ADMIN)
            assert check.intact, check
            verify = (time.perf_counter() - started) / check.entries
        return {"single": single, "bulk": bulk, "verify": verify}
    finally:
        engine.dispose()
        AuditRepository.seal = CHAINED_SEAL  # type: ignore[method-assign]




def names() -> Iterator[str]:
    yield "SQLite"
    if os.environ.get("LICENSEBOT_TEST_POSTGRES_URL", "").strip():
        yield "PostgreSQL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--members", type=int, default=5000)
    args = parser.parse_args()
    print(f"{'database':<11} {'load':<7} {'chained':>12} {'plain':>12} {'ratio':>6}")
    for name in names():
        figures = {}
        for chained in (False, True):  # the anchor first, then the product, each on a fresh database
            with tempfile.TemporaryDirectory() as tmp:
                if name == "SQLite":
                    url = f"sqlite:///{tmp}/bench.db"
                    figures[chained] = run(url, args.rounds, args.members, chained)
                else:
                    base = normalize_url(os.environ["LICENSEBOT_TEST_POSTGRES_URL"])
                    with fresh_schema(base) as url:
                        figures[chained] = run(url, args.rounds, args.members, chained)
        for load, unit in (("single", "ms/entry"), ("bulk", "ms/entry")):
            chained_ms, plain_ms = figures[True][load] * 1000, figures[False][load] * 1000
            print(f"{name:<11} {load:<7} {chained_ms:>8.3f} ms {plain_ms:>8.3f} ms {chained_ms / plain_ms:>6.2f}"
                  f"   ({unit})")
        print(f"{name:<11} verify  {figures[True]['verify'] * 1e6:>8.1f} µs per entry")


if __name__ == "__main__":
    main()
