"""The outbox at the service (bot/notify.py, bot/outbox.py, bot/delivery.py), on SQLite and PostgreSQL:
notices become one message per person in the change's transaction; a lane goes out in order, one message
at a time; failures are retried with backoff or dropped; delivered messages are pruned.

The door's part (one Slack call per message) is played here by a plain function that records what it was
given: the Slack door itself is tested against the fake Slack (tests/slack/test_outbox*.py)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.delivery import Deliverer
from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.errors import NotEnoughLicenses
from bot.notify import Kind
from bot.outbox import BACKOFF_CAP, GIVE_UP_AFTER, LEASE, Drop, OutboxMessage, Outcome, Retry, Sent, backoff
from bot.service import LicensingService
from storage.db import make_engine, upgrade_schema
from storage.models import OutboxRow
from storage.uow import UnitOfWorkFactory
from tests.support.core import A1, A2, A3, ADMIN, DESIGN, LICENSE_ADMIN, add_app

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class Door:
    """Stands for Slack: records each message it is given and answers what the test says."""

    def __init__(self) -> None:
        self.seen: list[OutboxMessage] = []
        self.at: list[float] = []  # when each was given, by time.monotonic()
        self.answers: dict[str, list[Outcome]] = {}  # by recipient: the next answers, then Sent()
        self.guard = threading.Lock()

    def __call__(self, message: OutboxMessage) -> Outcome:
        with self.guard:
            self.seen.append(message)
            self.at.append(time.monotonic())
            queue = self.answers.get(message.recipient) or []
            return queue.pop(0) if queue else Sent("D" + message.recipient, f"{1700000000 + message.id}.000100")

    def kinds(self) -> list[tuple[str, str]]:
        return [(m.kind, m.recipient) for m in self.seen]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def core(engine: Engine, directory: InMemoryDirectory, clock: Clock) -> LicensingService:
    core = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id], clock=clock)
    core.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    return core


def deliver_all(deliverer: Deliverer, limit: int = 1000) -> int:
    done = 0
    while done < limit and deliverer.deliver_one():
        done += 1
    return done


def rows(engine: Engine) -> list[OutboxRow]:
    with engine.connect() as conn:
        return list(conn.execute(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ writing
def test_a_request_becomes_one_message_per_person_in_its_lane(core: LicensingService) -> None:
    add_app(core)
    request = core.requests.create(Actor(A1), "Contoso CRM")
    lane = f"request:{request.id}"
    assert [(m.kind, m.recipient, m.lane) for m in core.outbox.queued()] == [
        (Kind.APPROVAL, ADMIN.user_id, lane),
        (Kind.APPROVAL, LICENSE_ADMIN.user_id, lane),
        (Kind.UNREACHED, A1, lane),  # after the copies: said only if none of them got out
    ]
    assert core.outbox.queued()[-1].facts == {"request": request.id, "approvers": 2}

    core.requests.deny(LICENSE_ADMIN, request.id, "no")
    assert [(m.kind, m.recipient) for m in core.outbox.queued()[3:]] == [
        (Kind.APPROVAL_UPDATE, ADMIN.user_id),  # the copies still on their way are updated after them
        (Kind.APPROVAL_UPDATE, LICENSE_ADMIN.user_id),
        (Kind.OUTCOME, A1),
    ]


def test_an_approver_asking_is_not_sent_their_own_request(core: LicensingService) -> None:
    add_app(core)
    request = core.requests.create(LICENSE_ADMIN, "Contoso CRM")
    assert [(m.kind, m.recipient) for m in core.outbox.queued()] == [
        (Kind.APPROVAL, ADMIN.user_id), (Kind.UNREACHED, LICENSE_ADMIN.user_id)]
    assert core.outbox.queued()[-1].facts == {"request": request.id, "approvers": 1}


def test_a_refused_change_writes_no_message(core: LicensingService, engine: Engine) -> None:
    add_app(core, seats=1)
    core.assignments.assign(ADMIN, "Contoso CRM", [A2])
    request = core.requests.create(Actor(A1), "Contoso CRM")
    before = len(rows(engine))
    with pytest.raises(NotEnoughLicenses):
        core.requests.approve(ADMIN, request.id)
    assert len(rows(engine)) == before


def test_updates_go_to_the_copies_delivered_and_to_those_still_queued(core: LicensingService) -> None:
    add_app(core)
    request = core.requests.create(Actor(A1), "Contoso CRM")
    door = Door()
    deliverer = Deliverer(core.outbox, door, workers=1)
    assert deliverer.deliver_one()  # ADMIN's copy is out (and recorded); LICENSE_ADMIN's is still queued
    core.roles.revoke(ADMIN, LICENSE_ADMIN.user_id, "license-admin")  # no longer an approver: their copy stays
    core.requests.approve(ADMIN, request.id)
    deliver_all(deliverer)
    assert door.kinds() == [
        (Kind.APPROVAL, ADMIN.user_id), (Kind.APPROVAL, LICENSE_ADMIN.user_id), (Kind.UNREACHED, A1),
        (Kind.APPROVAL_UPDATE, ADMIN.user_id), (Kind.APPROVAL_UPDATE, LICENSE_ADMIN.user_id), (Kind.OUTCOME, A1),
    ]
    assert sorted(c.approver for c in core.requests.copies(request.id)) == [ADMIN.user_id, LICENSE_ADMIN.user_id]
    assert core.outbox.queued() == []


# ------------------------------------------------------------------ order and leases
def test_a_lane_waits_for_its_head_and_other_lanes_go_on(core: LicensingService, clock: Clock) -> None:
    add_app(core)
    first = core.requests.create(Actor(A1), "Contoso CRM")
    core.requests.create(Actor(A2), "Contoso CRM")
    door = Door()
    door.answers[ADMIN.user_id] = [Retry("HTTP 503")]  # the first copy of each request fails once
    deliverer = Deliverer(core.outbox, door, workers=1)

    deliver_all(deliverer)

    # request 1: ADMIN's copy failed, so LICENSE_ADMIN's (behind it) waits; request 2 went out whole
    assert door.kinds() == [(Kind.APPROVAL, ADMIN.user_id), (Kind.APPROVAL, ADMIN.user_id),
                            (Kind.APPROVAL, LICENSE_ADMIN.user_id), (Kind.UNREACHED, A2)]
    [waiting_head, *rest] = core.outbox.queued()
    assert (waiting_head.kind, waiting_head.recipient, waiting_head.attempts) == (Kind.APPROVAL, ADMIN.user_id, 1)
    assert [m.lane for m in rest] == [f"request:{first.id}"] * 2

    clock.tick(seconds=backoff(1, rand=lambda: 1.0))  # the longest first backoff
    deliver_all(deliverer)
    assert door.kinds()[4:] == [(Kind.APPROVAL, ADMIN.user_id), (Kind.APPROVAL, LICENSE_ADMIN.user_id),
                                (Kind.UNREACHED, A1)]
    assert core.outbox.queued() == []


def test_several_deliverers_send_each_message_once_and_each_lane_in_order(
    core: LicensingService, database_url: str
) -> None:
    """Two deliverers of four workers each, each on its own engine (two processes, as far as the database
    can tell): PostgreSQL shares the work out; on SQLite the second waits for the first's lock."""
    add_app(core)
    for n in range(30):
        core.requests.create(Actor(f"U{n:07d}X"), "Contoso CRM")  # 30 lanes of 3 messages
    queued = core.outbox.queued()
    assert len(queued) == 90
    doors = [Door(), Door()]
    stop = threading.Event()
    engines = [make_engine(database_url) for _ in range(2)]
    deliverers = [Deliverer(LicensingService(UnitOfWorkFactory(e), InMemoryDirectory(),
                                             global_admins=[ADMIN.user_id]).outbox, door, workers=4, poll=0.05)
                  for e, door in zip(engines, doors, strict=True)]
    try:
        for deliverer in deliverers:
            deliverer.start(stop)
        _wait(lambda: sum(len(d.seen) for d in doors) >= 90 and not core.outbox.queued())
    finally:
        stop.set()
        for deliverer in deliverers:
            deliverer.join()
        for e in engines:
            e.dispose()
    seen = [m for door in doors for m in door.seen]
    assert sorted(m.id for m in seen) == sorted(m.id for m in queued)  # each once
    by_lane: dict[str, list[tuple[int, float]]] = {}
    for door in doors:
        for message, at in zip(door.seen, door.at, strict=True):
            by_lane.setdefault(message.lane, []).append((message.id, at))
    for sends in by_lane.values():  # in order within a lane, whoever sent them
        assert [i for i, _ in sorted(sends, key=lambda s: s[1])] == sorted(i for i, _ in sends)
    if database_url.startswith("sqlite"):
        assert doors[1].seen == []  # the first holds the lock for as long as it runs


def _wait(done: Any, timeout: float = 60.0) -> None:
    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    while not done():
        assert dt.datetime.now() < deadline, "the outbox was not emptied in time"
        threading.Event().wait(0.05)


def test_a_leased_message_is_nobody_else_s_until_its_lease_runs_out(core: LicensingService, clock: Clock) -> None:
    """A process that dies holding leases: what it had not settled goes out from another once LEASE is
    over; what it had settled is never sent again."""
    add_app(core)
    core.requests.create(Actor(A1), "Contoso CRM")
    core.requests.create(Actor(A2), "Contoso CRM")
    dead = core.outbox.lease("dead", 8)
    batch = dead.__enter__()  # never closed: the process is gone before it could give anything back
    assert [(m.kind, m.recipient) for m in batch.messages] == [(Kind.APPROVAL, ADMIN.user_id)] * 2  # two lanes' heads
    assert batch.settle(batch.messages[0], Sent("DUADMIN01", "1700000000.000100")) == "delivered"

    with core.outbox.lease("alive", 8) as other:
        # the first lane moved on; the second's head is still leased, so nothing behind it either
        assert [(m.kind, m.recipient) for m in other.messages] == [(Kind.APPROVAL, LICENSE_ADMIN.user_id)]
    clock.tick(seconds=LEASE.total_seconds() + 1)
    with core.outbox.lease("alive", 8) as other:
        assert (batch.messages[1].id, ADMIN.user_id) in [(m.id, m.recipient) for m in other.messages]
        for message in other.messages:
            assert other.settle(message, Sent()) == "delivered"
    assert batch.settle(batch.messages[1], Sent()) == "lost"  # the dead one's late word changes nothing


def test_what_a_batch_does_not_settle_is_given_back(core: LicensingService) -> None:
    add_app(core)
    for user in (A1, A2, A3):
        core.requests.create(Actor(user), "Contoso CRM")
    with core.outbox.lease("worker", 8) as batch:
        assert len(batch.messages) == 3  # the three requests' first copies
        batch.settle(batch.messages[0], Sent())
    with core.outbox.lease("another", 8) as batch:  # at once: no lease left to wait for
        assert len(batch.messages) == 3  # the first lane's next message, and the two given back


def test_on_sqlite_one_process_delivers_and_takes_over_a_dead_one_s_leases(
    sqlite_url: str, directory: InMemoryDirectory
) -> None:
    engines = [make_engine(sqlite_url) for _ in range(2)]
    try:
        upgrade_schema(engines[0])
        services = [LicensingService(UnitOfWorkFactory(e), directory, global_admins=[ADMIN.user_id]) for e in engines]
        add_app(services[0])
        services[0].requests.create(Actor(A1), "Contoso CRM")
        services[0].outbox.lease("a process that died", 8).__enter__()  # leased, never given back
        first, second = (Deliverer(s.outbox, Door()) for s in services)
        assert first._may_deliver() and not second._may_deliver()
        assert first.deliver_one()  # at once: the dead process's lease was given back with the lock
        first.join()  # releases the lock: the second takes over
        assert second._may_deliver()
        second.join()
    finally:
        for e in engines:
            e.dispose()


# ------------------------------------------------------------------ failures
def test_a_failure_that_may_pass_is_retried_later_and_honours_retry_after(core: LicensingService, clock: Clock,
                                                                          engine: Engine) -> None:
    add_app(core)
    core.requests.create(Actor(A1), "Contoso CRM")
    door = Door()
    door.answers[ADMIN.user_id] = [Retry("ratelimited (HTTP 429)", retry_after=30), Retry("HTTP 502")]
    deliverer = Deliverer(core.outbox, door, workers=1)

    assert deliverer.deliver_one() and not deliverer.deliver_one()
    head = rows(engine)[0]
    assert (head.status, head.attempts, head.last_error) == ("pending", 1, "ratelimited (HTTP 429)")
    assert T0 + dt.timedelta(seconds=30) <= head.available_at <= T0 + dt.timedelta(seconds=35.5)
    clock.tick(seconds=29)
    assert not deliverer.deliver_one()  # Retry-After is not over (the deliverer pauses, the message waits)
    clock.tick(seconds=7)
    assert deliverer.deliver_one()  # the 502: two tries failed
    assert rows(engine)[0].attempts == 2
    clock.tick(seconds=backoff(2, rand=lambda: 1.0))
    assert deliver_all(deliverer) == 3
    assert [r.status for r in rows(engine)] == ["delivered"] * 3


def test_a_refusal_that_will_not_change_is_recorded_and_dropped(core: LicensingService, engine: Engine) -> None:
    add_app(core)
    core.requests.create(Actor(A1), "Contoso CRM")
    door = Door()
    door.answers[ADMIN.user_id] = [Drop("channel_not_found")]
    deliverer = Deliverer(core.outbox, door, workers=1)
    assert deliver_all(deliverer) == 3
    assert [(r.recipient, r.status, r.last_error) for r in rows(engine)] == [
        (ADMIN.user_id, "dropped", "channel_not_found"),
        (LICENSE_ADMIN.user_id, "delivered", None),
        (A1, "delivered", None),
    ]
    status = core.outbox.status()
    assert (status.pending, status.delivered_last_day, status.dropped_last_day) == (0, 2, 1)
    assert [(d.recipient, d.error) for d in status.recent_drops] == [(ADMIN.user_id, "channel_not_found")]
    assert not deliverer.deliver_one()  # never tried again


def test_a_message_still_failing_a_day_later_is_given_up(
    core: LicensingService, directory: InMemoryDirectory, clock: Clock, engine: Engine
) -> None:
    add_app(core, seats=3)
    core.assignments.assign(ADMIN, "Contoso CRM", groups=[DESIGN])  # A1, A2, A3 seated
    directory.set_members(DESIGN, [A1, A2, A3, "UWAITER1"])
    core.membership.apply_group(ADMIN, directory.group(DESIGN))  # the newcomer waits
    core.assignments.set_seats(ADMIN, "Contoso CRM", 4)  # the waiter is seated: one DM
    door = Door()
    door.answers["UWAITER1"] = [Retry("HTTP 500")] * 1000
    deliverer = Deliverer(core.outbox, door, workers=1)
    tries = 0
    while core.outbox.queued():
        if deliverer.deliver_one():
            tries += 1
        clock.tick(seconds=BACKOFF_CAP)
    [row] = [r for r in rows(engine) if r.kind == Kind.SEATED]  # the admins' alerts (full, waitlist) went out
    tries = sum(m.kind == Kind.SEATED for m in door.seen)
    assert row.status == "dropped" and row.last_error == f"gave up after {tries} tries: HTTP 500"
    assert (row.done_at - row.created_at) >= GIVE_UP_AFTER
    assert 10 < tries < 24 * 3600 / (BACKOFF_CAP / 2)  # backed off, not hammered


def test_a_failing_door_is_logged_and_retried(core: LicensingService, engine: Engine,
                                             caplog: pytest.LogCaptureFixture) -> None:
    add_app(core)
    core.requests.create(Actor(A1), "Contoso CRM")

    def broken(message: OutboxMessage) -> Outcome:
        raise KeyError("a bug")

    assert Deliverer(core.outbox, broken).deliver_one()
    head = rows(engine)[0]
    assert (head.status, head.attempts, head.last_error) == ("pending", 1, "KeyError: 'a bug'")
    assert "sending message" in caplog.text and "KeyError" in caplog.text


def test_backoff_doubles_is_jittered_and_capped() -> None:
    assert [backoff(n, rand=lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [backoff(n, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff(40, rand=lambda: 1.0) == BACKOFF_CAP
    assert backoff(1, retry_after=30, rand=lambda: 0.0) == 30.0
    assert 30.0 < backoff(1, retry_after=30, rand=lambda: 1.0) <= 35.0
    assert backoff(1, retry_after=0, rand=lambda: 0.0) == 1.0


# ------------------------------------------------------------------ pruning
def test_delivered_and_dropped_messages_are_pruned_after_the_retention(core: LicensingService, clock: Clock,
                                                                        engine: Engine) -> None:
    add_app(core)
    core.requests.create(Actor(A1), "Contoso CRM")
    door = Door()
    door.answers[LICENSE_ADMIN.user_id] = [Drop("user_not_found")]
    deliver_all(Deliverer(core.outbox, door))
    clock.tick(days=2)
    core.requests.create(Actor(A2), "Contoso CRM")  # three more, still queued
    assert core.outbox.prune(dt.timedelta(days=3)) == 0
    clock.tick(days=1, seconds=1)
    assert core.outbox.prune(dt.timedelta(days=3)) == 3  # the delivered two and the dropped one
    assert [r.status for r in rows(engine)] == ["pending"] * 3
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(OutboxRow)) == 3

