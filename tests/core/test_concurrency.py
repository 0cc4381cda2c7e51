"""SPEC §4: seats are never oversubscribed, whatever runs concurrently — several bot processes against one
database included.

Twelve OS processes (multiprocessing, "spawn": fresh interpreters, each with its own engine built from the
URL) wait at a barrier with a warm connection, then all assign the last free seats of one app at once. The
service's clock is slowed (it is called inside the locked transaction, between the seat check and the
commit) so that each transaction stays open long enough for the others to pile up behind it: without the
app lock (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) they would all count the same
free seats and oversubscribe the app, or fail with "database is locked"."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.service import LicensingService
from storage.models import AuditRow, SeatRow
from tests.support.core import ADMIN, add_app

pytestmark = pytest.mark.slow

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 12
SEATS, ALREADY_ASSIGNED = 10, 4
APP = "Contoso CRM"
CLOCK_DELAY = 0.05  # seconds per clock reading, inside the locked transaction


def slow_clock() -> dt.datetime:
    time.sleep(CLOCK_DELAY)
    return dt.datetime.now(dt.UTC)


def assign_in_own_process(url: str, users: list[str], barrier: Any, results: Any) -> None:
    """The body of one racing process: its own engine and service, then assign once the barrier opens."""
    from bot.directory import InMemoryDirectory
    from bot.domain import Actor
    from bot.service import LicensingService
    from storage.db import make_engine
    from storage.uow import UnitOfWorkFactory

    engine = make_engine(url)
    try:
        service = LicensingService(
            UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id], clock=slow_clock
        )
        service.catalog.app(APP)  # connected and warmed up before the race starts
        barrier.wait(timeout=120)
        started = time.monotonic()
        try:
            service.assignments.assign(Actor(ADMIN.user_id), APP, users)
            outcome = ("assigned", "")
        except Exception as error:  # every exception is reported to the test
            outcome = (type(error).__name__, str(error))
        results.put((users, *outcome, started, time.monotonic()))
    finally:
        engine.dispose()


def race(url: str, user_batches: list[list[str]]) -> list[tuple[Any, ...]]:
    barrier = SPAWN.Barrier(len(user_batches))
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=assign_in_own_process, args=(url, users, barrier, results), daemon=True)
        for users in user_batches
    ]
    for p in processes:
        p.start()
    try:
        collected = [results.get(timeout=180) for _ in processes]
    except queue.Empty:
        pytest.fail("a racing process did not report back (crashed or hung)")
    finally:
        for p in processes:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return collected


def count(engine: Engine, statement: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(statement) or 0)


@pytest.mark.parametrize("per_process", [1, 2], ids=["one user each", "two users each"])
def test_processes_racing_for_the_last_seats_never_oversubscribe(
    service: LicensingService, engine: Engine, database_url: str, per_process: int
) -> None:
    add_app(service, APP, SEATS)
    service.assignments.assign(ADMIN, APP, [f"UHELD{i:04d}" for i in range(ALREADY_ASSIGNED)])
    free = SEATS - ALREADY_ASSIGNED
    batches = [[f"UP{p:02d}N{n}" for n in range(per_process)] for p in range(PROCESSES)]

    results = race(database_url, batches)

    winners = [r for r in results if r[1] == "assigned"]
    losers = [r for r in results if r[1] != "assigned"]
    assert len(winners) == free // per_process
    assert {(kind, message) for _, kind, message, _, _ in losers} == {
        ("NotEnoughLicenses", f"not-enough-licenses(needed={per_process}, available=0)")
    }
    # exactly the seat count, held by the holders and the winners
    summary = service.catalog.app(APP)
    assert (summary.total, summary.assigned, summary.available) == (SEATS, SEATS, 0)
    assert count(engine, select(func.count()).select_from(SeatRow)) == SEATS
    assert count(engine, select(func.count(func.distinct(SeatRow.user_id)))) == SEATS
    assert set(service.catalog.details(APP).users) == {f"UHELD{i:04d}" for i in range(ALREADY_ASSIGNED)} | {
        u for users, *_ in winners for u in users
    }
    assert count(engine, select(func.count()).select_from(AuditRow).where(AuditRow.action == "assign")) == (
        1 + len(winners)
    )
    # they really raced: every process had started its assignment before the first one finished
    first_finish = min(finished for *_, finished in results)
    assert all(started < first_finish for *_, started, _ in results)
