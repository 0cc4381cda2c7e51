"""Alerts at the service (bot/alerts.py), on SQLite and PostgreSQL: renewal milestones once each, even
after a second run or a restart; low licenses and waitlists once per crossing, decided in the change's own
transaction; the lifecycle's safety net never tells twice; the alerts channel, else billing and global admins."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from bot.alerts import is_low, low_threshold, milestone_due
from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.errors import NotEnoughLicenses, PermissionDenied
from bot.notify import Kind
from bot.service import LicensingService
from storage.models import OutboxRow, RenewalAlertRow
from storage.uow import UnitOfWorkFactory
from tests.support.core import (
    A1,
    A2,
    A3,
    ADMIN,
    B1,
    B2,
    BILLING_ADMIN,
    DESIGN,
    LICENSE_ADMIN,
    add_app,
    record,
    sync_members,
)

CHANNEL = "CALERTS01"
T0 = dt.datetime(2027, 1, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def days(self, days: int) -> None:
        self.now += dt.timedelta(days=days)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(engine: Engine, directory: InMemoryDirectory, clock: Clock, channel: str | None = None) -> LicensingService:
    """A service over the database (a new one is a restarted process)."""
    return LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id], clock=clock,
                            alerts_channel=channel)


@pytest.fixture
def core(engine: Engine, directory: InMemoryDirectory, clock: Clock) -> LicensingService:
    svc = make(engine, directory, clock)
    svc.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    svc.roles.grant(ADMIN, BILLING_ADMIN.user_id, "billing-admin")
    return svc


def alerts(svc: LicensingService) -> list[tuple[str, dict[str, Any]]]:
    """(recipient, facts) of every alert written so far, in order."""
    return [(m.recipient, m.facts) for m in svc.outbox.queued() if m.kind == Kind.ALERT]


def told(svc: LicensingService, recipient: str = BILLING_ADMIN.user_id) -> list[str]:
    """What one reader was told, in order: "low", "waitlist", "renewal 30"…"""
    return [f["alert"] + (f" {f['days']}" if "days" in f else "")
            for to, f in alerts(svc) if to == recipient]


# ------------------------------------------------------------------ the rules, as plain functions
def test_the_default_threshold_is_a_tenth_rounded_up_and_at_least_one() -> None:
    assert [low_threshold(total, None) for total in (0, 1, 9, 10, 11, 25, 100)] == [1, 1, 1, 1, 2, 3, 10]
    assert low_threshold(25, 0) == 0 and low_threshold(25, 7) == 7
    assert is_low(10, 9, None) and not is_low(10, 8, None)
    assert not is_low(0, 0, None)  # no licenses at all: nothing to run low on


def test_the_milestone_due_is_the_nearest_one_not_passed() -> None:
    assert [milestone_due(d) for d in (120, 91, 90, 31, 30, 20, 8, 7, 1, 0, -1)] == [
        None, None, 90, 90, 30, 30, 30, 7, 7, 7, None]


# ------------------------------------------------------------------ renewals
def test_each_renewal_milestone_is_told_once_even_twice_run_or_restarted(
        core: LicensingService, engine: Engine, directory: InMemoryDirectory, clock: Clock) -> None:
    add_app(core, "Contoso CRM", renewal_date=T0.date() + dt.timedelta(days=100))
    assert core.alerts.run_renewals() == 0  # 100 days away: nothing yet
    clock.days(10)  # 90 days left
    assert core.alerts.run_renewals() == 1
    assert core.alerts.run_renewals() == 0  # a second run
    restarted = make(engine, directory, clock)
    assert restarted.alerts.run_renewals() == 0  # a new process over the same database
    assert restarted.lifecycle.run().done["renewal-alerts"] == 0
    clock.days(59)  # 31 days left: between milestones
    assert core.alerts.run_renewals() == 0
    clock.days(1)  # 30
    assert restarted.alerts.run_renewals() == 1 and core.alerts.run_renewals() == 0
    clock.days(23)  # 7
    assert core.lifecycle.run().done["renewal-alerts"] == 1
    clock.days(7)  # the day itself, then after
    assert core.alerts.run_renewals() == 0
    clock.days(1)
    assert core.alerts.run_renewals() == 0
    assert told(core) == ["renewal 90", "renewal 30", "renewal 7"]
    assert told(core, ADMIN.user_id) == told(core)  # global admins too
    assert told(core, LICENSE_ADMIN.user_id) == []  # not license admins
    facts = alerts(core)[0][1]
    assert facts["renewal_date"] == (T0.date() + dt.timedelta(days=100)).isoformat()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RenewalAlertRow)) == 3


def test_a_renewal_set_20_days_away_tells_only_the_30_day_milestone(core: LicensingService, clock: Clock) -> None:
    add_app(core, "Contoso CRM", renewal_date=T0.date() + dt.timedelta(days=20))
    assert core.alerts.run_renewals() == 1
    assert told(core) == ["renewal 20"]  # the 30-day milestone, 20 days before
    assert [f.get("days") for _, f in alerts(core)][:1] == [20]
    clock.days(13)
    assert core.alerts.run_renewals() == 1
    assert told(core) == ["renewal 20", "renewal 7"]


def test_a_changed_renewal_date_gets_its_own_milestones(core: LicensingService, clock: Clock) -> None:
    add_app(core, "Contoso CRM", renewal_date=T0.date() + dt.timedelta(days=30))
    assert core.alerts.run_renewals() == 1
    core.records.update(ADMIN, "Contoso CRM", record("Contoso CRM", renewal_date=T0.date() + dt.timedelta(days=25)))
    assert core.alerts.run_renewals() == 1  # the new date's 30-day milestone
    assert core.alerts.run_renewals() == 0
    dates = [f["renewal_date"] for to, f in alerts(core) if to == BILLING_ADMIN.user_id]
    assert dates == [(T0.date() + dt.timedelta(days=d)).isoformat() for d in (30, 25)]


def test_a_retired_app_gets_no_renewal_alert(core: LicensingService) -> None:
    add_app(core, "Contoso CRM", renewal_date=T0.date() + dt.timedelta(days=7))
    core.records.retire(ADMIN, "Contoso CRM")
    assert core.alerts.run_renewals() == 0 and alerts(core) == []


def test_with_a_channel_one_message_goes_to_it_and_none_to_the_admins(
        engine: Engine, directory: InMemoryDirectory, clock: Clock) -> None:
    svc = make(engine, directory, clock, channel=CHANNEL)
    svc.roles.grant(ADMIN, BILLING_ADMIN.user_id, "billing-admin")
    add_app(svc, "Contoso CRM", seats=2, renewal_date=T0.date() + dt.timedelta(days=7))
    assert svc.alerts.run_renewals() == 1
    svc.assignments.assign(ADMIN, "Contoso CRM", users=[A1])  # 1 available of 2: low
    assert [(to, f["alert"]) for to, f in alerts(svc)] == [(CHANNEL, "renewal"), (CHANNEL, "low")]
    lanes = {m.lane for m in svc.outbox.queued() if m.kind == Kind.ALERT}
    assert len(lanes) == 1 and lanes.pop().endswith(f":{CHANNEL}")


# ------------------------------------------------------------------ low licenses
def test_low_licenses_are_told_once_per_crossing(core: LicensingService, engine: Engine) -> None:
    add_app(core, "Contoso CRM", seats=10, low_seat_threshold=2)
    core.assignments.assign(ADMIN, "Contoso CRM", users=[f"U0000000{i}" for i in range(7)])  # 3 available
    assert told(core) == []
    core.assignments.assign(ADMIN, "Contoso CRM", users=["U00000007"])  # 2: crosses down
    assert told(core) == ["low"]
    core.assignments.assign(ADMIN, "Contoso CRM", users=["U00000008"])  # 1: still low, no second alert
    assert told(core) == ["low"]
    core.assignments.unassign(ADMIN, "Contoso CRM", users=["U00000008", "U00000007"])  # 3: re-armed
    assert told(core) == ["low"]
    core.assignments.assign(ADMIN, "Contoso CRM", users=["U00000007"])  # 2 again: crosses down again
    assert told(core) == ["low", "low"]
    assert core.lifecycle.run().done["seat-alerts"] == 0  # the safety net finds nothing left to tell
    assert told(core) == ["low", "low"]
    # the alert was written in the assignment's own transaction, with its audit entry
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "alert")) == 4


def test_seat_totals_and_thresholds_move_the_alert_too(core: LicensingService) -> None:
    add_app(core, "Contoso CRM", seats=20)  # default threshold: 2
    core.assignments.assign(ADMIN, "Contoso CRM", users=[A1, A2, A3])
    core.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 5)  # 2 available of 5: threshold 1, not low
    assert told(core) == []
    core.records.update(BILLING_ADMIN, "Contoso CRM", record("Contoso CRM", seats=5, low_seat_threshold=2))
    assert told(core) == ["low"]
    core.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 10)  # re-armed
    core.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 4)
    assert told(core) == ["low", "low"]


def test_the_safety_net_tells_what_no_locked_change_did_once(core: LicensingService, engine: Engine,
                                                            directory: InMemoryDirectory, clock: Clock) -> None:
    # a new app is created without any lock: already low, nobody told yet
    core.records.create(BILLING_ADMIN, record("Fabrikam", seats=1))
    assert told(core) == []
    other = make(engine, directory, clock)  # a second process running the same step
    assert core.lifecycle.run().done["seat-alerts"] == 1
    assert other.lifecycle.run().done["seat-alerts"] == 0
    assert told(core) == ["low"]


# ------------------------------------------------------------------ waitlists
def test_people_waiting_tell_once_and_rearm_when_the_waitlist_empties(
        core: LicensingService, directory: InMemoryDirectory) -> None:
    add_app(core, "Contoso CRM", seats=3, low_seat_threshold=0)
    core.assignments.assign(ADMIN, "Contoso CRM", groups=[DESIGN])  # A1, A2, A3: full
    assert told(core) == ["low"]
    sync_members(core, directory, DESIGN, [A1, A2, A3, B1])  # B1 joins: waits
    assert core.catalog.details("Contoso CRM").waiting == [B1]
    assert told(core) == ["low", "waitlist"]
    sync_members(core, directory, DESIGN, [A1, A2, A3, B1, B2])  # a second waiter: the same crossing
    assert told(core) == ["low", "waitlist"]
    core.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 10)  # both seated: empty, re-armed (and not low)
    assert core.catalog.details("Contoso CRM").waiting == []
    core.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 5)
    sync_members(core, directory, DESIGN, [A1, A2, A3, B1, B2, "U00000C1"])  # waits again: told again
    assert told(core) == ["low", "waitlist", "low", "waitlist"]
    assert core.lifecycle.run().done["seat-alerts"] == 0


def test_license_admins_are_not_told_and_every_billing_and_global_admin_is(core: LicensingService) -> None:
    core.roles.grant(ADMIN, "UGLOBAL2", "global-admin")
    add_app(core, "Contoso CRM", seats=1)
    core.assignments.assign(ADMIN, "Contoso CRM", users=[A1])
    assert sorted(to for to, _ in alerts(core)) == sorted([ADMIN.user_id, BILLING_ADMIN.user_id, "UGLOBAL2"])
    assert {f["alert"] for _, f in alerts(core)} == {"low"}


def test_a_refused_change_tells_nothing(core: LicensingService) -> None:
    add_app(core, "Contoso CRM", seats=1)
    with pytest.raises(NotEnoughLicenses):
        core.assignments.assign(ADMIN, "Contoso CRM", users=[A1, A2])
    with pytest.raises(PermissionDenied):
        core.assignments.assign(Actor("UNOBODY1"), "Contoso CRM", users=[A1])
    assert alerts(core) == []


# ------------------------------------------------------------------ cost, and two processes at once
class Statements:
    """Counts the SQL statements an engine runs while it is entered."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_the_hook_reads_twice_whatever_the_number_of_apps_and_seats(core: LicensingService, engine: Engine) -> None:
    for name, seats in (("Contoso CRM", 10), ("Fabrikam", 300), ("Northwind", 300)):
        add_app(core, name, seats=seats)
    core.assignments.assign(ADMIN, "Fabrikam", users=[f"U{i:08d}" for i in range(250)])
    counts = []
    for names in (["Contoso CRM"], ["Contoso CRM", "Fabrikam", "Northwind"]):
        with core.kernel.uow(write=True) as uow:
            for name in names:
                uow.apps.lock(uow.apps.by_key(name.casefold()).id)  # type: ignore[union-attr]
            with Statements(engine) as statements:
                core.alerts.apps_changed(uow)
            counts.append(statements.count)
    assert counts == [2, 2]  # the states and the counts, for all the apps at once; nothing flips


def test_two_processes_running_the_steps_at_once_tell_each_alert_once(
        core: LicensingService, engine: Engine, directory: InMemoryDirectory, clock: Clock) -> None:
    for i in range(6):  # created without a lock: low from the start, with a renewal due
        core.records.create(BILLING_ADMIN, record(f"App {i}", seats=1, renewal_date=T0.date() + dt.timedelta(days=5)))
    processes = [make(engine, directory, clock) for _ in range(2)]
    start = threading.Barrier(2)
    done: list[dict[str, int]] = []

    def run(svc: LicensingService) -> None:
        start.wait()
        result = svc.lifecycle.run()
        assert result.failed == {}
        done.append(result.done)

    threads = [threading.Thread(target=run, args=(svc,)) for svc in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == 2 and sum(d["renewal-alerts"] for d in done) == 6
    # the low-license alerts: by the renewal step's own locks (the hook) or by the safety net, never both
    assert sorted(told(core)) == ["low"] * 6 + ["renewal 5"] * 6
