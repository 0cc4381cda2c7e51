"""Issue 10, defect 9: twin grants of one role racing on one database answer "already holds the role"
(`grant` returns False) for all but one, never an IntegrityError from `uq_role_binding`.

Threads, each with its own unit of work, wait at a barrier and grant the same role at once. The clock is
slowed: it is read between the "already held?" check and the insert, so every thread passes the check
before any commits (on PostgreSQL; SQLite's BEGIN IMMEDIATE serializes them)."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import Engine

from bot.directory import InMemoryDirectory
from bot.service import LicensingService
from storage.uow import UnitOfWorkFactory
from tests.support.core import ADMIN, audit_actions

THREADS = 8
TARGET = "UTARGET1"


def slow_clock() -> dt.datetime:
    time.sleep(0.2)
    return dt.datetime.now(dt.UTC)


def test_twin_role_grants_at_once_give_one_grant_and_no_error(engine: Engine) -> None:
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id],
                               clock=slow_clock)
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    guard = threading.Lock()

    def grant() -> None:
        barrier.wait(timeout=30)
        try:
            outcome: object = service.roles.grant(ADMIN, TARGET, "license-admin")
        except Exception as error:  # reported to the test, whatever it is
            outcome = error
        with guard:
            results.append(outcome)

    threads = [threading.Thread(target=grant) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(repr, results)) == sorted(["True"] + ["False"] * (THREADS - 1))
    assert audit_actions(engine).count("role.grant") == 1
    assert [(b.user_id, b.role) for b in service.roles.bindings(ADMIN) if b.user_id == TARGET] == [
        (TARGET, "license-admin")]
