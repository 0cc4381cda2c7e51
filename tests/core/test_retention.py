"""Issue 10, defect 10: processed event ids and idempotency keys are pruned past their window
(LICENSEBOT_RETENTION_HOURS, default 24), once per slot across processes; what is younger stays and
still deduplicates."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time
from sqlalchemy import Engine, func, select

from bot.config import Settings
from bot.directory import InMemoryDirectory
from bot.service import LicensingService
from storage.models import IdempotencyKeyRow, ProcessedEventRow
from storage.uow import UnitOfWorkFactory
from tests.support.core import ADMIN, add_app

DAY = dt.timedelta(hours=24)
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(ProcessedEventRow)) or 0,
                conn.scalar(select(func.count()).select_from(IdempotencyKeyRow)) or 0)


def test_keys_older_than_the_retention_are_pruned_once_per_slot_across_processes(
    service: LicensingService, engine: Engine
) -> None:
    add_app(service, "Contoso CRM", 10)
    with freeze_time(START):
        assert service.membership.claim("Ev0LD0001")
        service.assignments.assign(ADMIN, "Contoso CRM", ["U00000A1"], idempotency_key="view-old")
    with freeze_time(START + dt.timedelta(hours=20)):
        assert service.membership.claim("Ev0NEW001")
        service.assignments.assign(ADMIN, "Contoso CRM", ["U00000A2"], idempotency_key="view-new")
    before = counts(engine)

    with freeze_time(START + dt.timedelta(hours=23)):  # nothing is old enough yet
        pruned = service.membership.prune_keys(DAY)
        assert pruned is not None and (pruned.events, pruned.idempotency_keys) == (0, 0)
    assert counts(engine) == (before[0] + 1, before[1])  # + the slot's own key

    another_process = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id])
    with freeze_time(START + dt.timedelta(hours=25, minutes=1)):
        pruned = service.membership.prune_keys(DAY)
        assert pruned is not None and (pruned.events, pruned.idempotency_keys) == (1, 1)
        assert another_process.membership.prune_keys(DAY) is None  # same hour: already done
        # the young ones still deduplicate; the old event id would be applied again (Slack stopped long ago)
        assert not service.membership.claim("Ev0NEW001")
        assert service.membership.claim("Ev0LD0001")
    with engine.connect() as conn:
        assert list(conn.scalars(select(IdempotencyKeyRow.key))) == ["view-new"]


def test_the_retention_defaults_to_24_hours_and_is_read_from_the_environment(monkeypatch) -> None:
    assert Settings().key_retention == DAY
    monkeypatch.setenv("LICENSEBOT_RETENTION_HOURS", "2")
    assert Settings().key_retention == dt.timedelta(hours=2)


def test_serves_pruner_prunes_the_keys_on_its_schedule(service: LicensingService, engine: Engine) -> None:
    """The outbox's pruner in `serve` (bot/delivery.py) runs the keys' pruning with its own."""
    import threading

    from bot.delivery import Deliverer
    from bot.outbox import Sent

    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    with freeze_time(old):
        assert service.membership.claim("Ev0LD0001")
    assert counts(engine)[0] == 1
    deliverer = Deliverer(service.outbox, lambda message: Sent(), workers=1, prune_every=0.05,
                          housekeeping=lambda: service.membership.prune_keys(DAY))
    stop = threading.Event()
    deliverer.start(stop)
    try:
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
        while service.membership.seen("Ev0LD0001") and dt.datetime.now(dt.UTC) < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        deliverer.join()
    assert not service.membership.seen("Ev0LD0001")
