"""Time-limited licenses (issue 13, bot/expiry.py) on SQLite and PostgreSQL: an assignment ends after its
`until` day like an unassignment (other sources keep the seat, the waitlist refills), audited once and
told once; reminders 7 and 1 days before, each once; "Until" in the past refused; a request's "For how
long" sets the end date when approved, and extends a license."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from bot.bulk import BulkRow
from bot.directory import InMemoryDirectory
from bot.errors import AlreadyHeld
from bot.errors_lifecycle import InvalidDuration, UntilInPast
from bot.notify import Kind
from bot.service import LicensingService
from storage.models import AuditRow, OutboxRow
from storage.uow import UnitOfWorkFactory
from tests.support.core import A1, A2, A3, ADMIN, DESIGN, LICENSE_ADMIN, add_app, seat_state, snapshot, sync_members

APP = "Contoso CRM"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    """The service's clock, moved by the test (every thread of a service reads the same one)."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def on(self, day: dt.date, hour: int = 0, minute: int = 1) -> None:
        self.now = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(engine: Engine, directory: InMemoryDirectory, clock: Clock) -> LicensingService:
    service = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id], clock=clock)
    service.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    return service


def day(offset: int) -> dt.date:
    return START.date() + dt.timedelta(days=offset)


def messages(engine: Engine, kind: Kind) -> list[tuple[str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxRow.recipient, OutboxRow.facts).where(OutboxRow.kind == kind.value)
                            .order_by(OutboxRow.id))
        return [(recipient, dict(facts)) for recipient, facts in rows]


def expiries(engine: Engine) -> list[AuditRow]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditRow).where(AuditRow.action == "assignment.expire")
                                 .order_by(AuditRow.id)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ expiry
def test_a_license_is_valid_through_its_last_day_and_ends_the_next(
        timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 1)
    outcome = timed.assignments.assign(ADMIN, APP, [A1], until=day(3))
    assert outcome.until == day(3).isoformat()
    clock.on(day(3), 23, 59)
    assert timed.lifecycle.run().done["expiry"] == 0
    assert seat_state(timed, APP)[0] == [A1]

    clock.on(day(4))
    assert timed.lifecycle.run().done["expiry"] == 1
    assert seat_state(timed, APP) == ([], [])
    assert timed.catalog.details(APP).direct_users == []
    [entry] = expiries(engine)
    assert (entry.actor, entry.app, entry.targets) == ("licensebot", APP, [A1])
    assert entry.detail == {"kind": "user", "subject": A1, "until": day(3).isoformat(), "freed": [A1]}
    assert (entry.seats_assigned, entry.seats_available) == (0, 1)
    assert messages(engine, Kind.ENDED) == [(A1, {"app": APP, "until": day(3).isoformat()})]
    assert timed.lifecycle.run().done["expiry"] == 0  # nothing twice
    assert len(expiries(engine)) == 1 and len(messages(engine, Kind.ENDED)) == 1


def test_a_user_with_a_group_source_keeps_the_seat(timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, groups=[DESIGN])  # A1, A2, A3
    timed.assignments.assign(ADMIN, APP, [A1], until=day(1))
    assert timed.expiry.remind_due() == 0  # nothing ends for A1: no reminder
    clock.on(day(2))
    assert timed.expiry.expire_due() == 1
    details = timed.catalog.details(APP)
    assert details.users == sorted([A1, A2, A3]) and details.direct_users == []
    [entry] = expiries(engine)
    assert entry.detail["freed"] == []
    assert messages(engine, Kind.ENDED) == []  # nothing ended for A1: the group still licenses them


def test_a_time_limited_group_ends_for_its_members_only(timed: LicensingService, engine: Engine,
                                                         clock: Clock) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A2])
    timed.assignments.assign(ADMIN, APP, groups=[DESIGN], until=day(1))
    clock.on(day(2))
    assert timed.expiry.expire_due() == 1
    assert seat_state(timed, APP)[0] == [A2]
    assert sorted(r for r, _ in messages(engine, Kind.ENDED)) == [A1, A3]


def test_the_waitlist_refills_and_the_new_holder_hears_it(
        timed: LicensingService, engine: Engine, directory: InMemoryDirectory, clock: Clock) -> None:
    add_app(timed, APP, 1)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(1))
    directory.set_members(DESIGN, [])
    timed.assignments.assign(ADMIN, APP, groups=[DESIGN])
    sync_members(timed, directory, DESIGN, [A2])  # no seat left: A2 waits
    assert seat_state(timed, APP) == ([A1], [A2])
    clock.on(day(2))
    timed.lifecycle.run()
    assert seat_state(timed, APP) == ([A2], [])
    assert [r for r, _ in messages(engine, Kind.SEATED)] == [A2]
    assert [r for r, _ in messages(engine, Kind.ENDED)] == [A1]


def test_two_runs_at_once_expire_each_assignment_once(
        timed: LicensingService, engine: Engine, directory: InMemoryDirectory, clock: Clock) -> None:
    """Two services (as two processes would) on one database, started together at a barrier."""
    users = [f"U0000X{i:02d}" for i in range(12)]
    for app in ("Alpha", "Beta", "Gamma"):
        add_app(timed, app, 20)
        timed.assignments.assign(ADMIN, app, users, until=day(1))
    clock.on(day(2))
    other = LicensingService(UnitOfWorkFactory(engine), directory, clock=clock)
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def run(service: LicensingService) -> Callable[[], None]:
        def go() -> None:
            try:
                barrier.wait()
                done.append(service.expiry.expire_due())
            except BaseException as error:
                errors.append(error)
        return go

    threads = [threading.Thread(target=run(s)) for s in (timed, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(done) == 36
    assert len(expiries(engine)) == 36
    assert sorted(r for r, _ in messages(engine, Kind.ENDED)) == sorted(users * 3)
    assert all(timed.catalog.app(app).assigned == 0 for app in ("Alpha", "Beta", "Gamma"))


# ------------------------------------------------------------------ reminders
def test_reminders_come_7_and_1_days_before_each_once(timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(20))
    timed.assignments.assign(ADMIN, APP, [A2])  # permanent: never reminded
    sent: dict[int, int] = {}
    for offset in range(0, 22):
        clock.on(day(offset), 8)
        sent[offset] = timed.lifecycle.run().done["expiry-reminders"] + timed.lifecycle.run().done["expiry-reminders"]
    assert {o: n for o, n in sent.items() if n} == {13: 1, 19: 1}
    until = day(20).isoformat()
    assert messages(engine, Kind.ENDING) == [(A1, {"app": APP, "until": until, "days": 7}),
                                             (A1, {"app": APP, "until": until, "days": 1})]


def test_a_license_given_3_days_before_its_end_gets_only_the_1_day_reminder(
        timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(3))
    for offset in range(0, 4):
        clock.on(day(offset), 12)
        timed.expiry.remind_due()
    assert [f["days"] for _, f in messages(engine, Kind.ENDING)] == [1]


def test_a_changed_end_date_rearms_the_reminders(timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(10))
    clock.on(day(3))
    assert timed.expiry.remind_due() == 1  # 7 days before
    timed.assignments.assign(ADMIN, APP, [A1], until=day(30))  # more time
    clock.on(day(9))
    assert timed.expiry.remind_due() == 0  # the old end's 1-day reminder is not owed any more
    clock.on(day(23))
    assert timed.expiry.remind_due() == 1
    assert [(f["until"], f["days"]) for _, f in messages(engine, Kind.ENDING)] == [
        (day(10).isoformat(), 7), (day(30).isoformat(), 7)]
    timed.assignments.assign(ADMIN, APP, [A1])  # permanent now
    clock.on(day(29))
    assert timed.expiry.remind_due() == 0
    clock.on(day(40))
    assert timed.expiry.expire_due() == 0 and seat_state(timed, APP)[0] == [A1]


# ------------------------------------------------------------------ setting the end date
def test_an_end_date_in_the_past_is_refused_and_writes_nothing(
        timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    before = snapshot(engine)
    with pytest.raises(UntilInPast) as refused:
        timed.assignments.assign(ADMIN, APP, [A1], until=day(-1))
    assert refused.value.field == "until" and refused.value.today == day(0)
    assert snapshot(engine) == before
    assert timed.assignments.assign(ADMIN, APP, [A1], until=day(0)).seated == [A1]  # today is fine


def test_the_audit_carries_the_end_date(timed: LicensingService, engine: Engine) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(5))
    timed.assignments.assign(ADMIN, APP, [A1], until=day(9))  # only the date changes: audited too
    timed.assignments.assign(ADMIN, APP, [A1], until=day(9))  # nothing changes: nothing audited
    entries = [e for e in timed.audit.export(ADMIN) if e.action == "assign"]
    assert [(e.detail["until"], e.detail["seated"]) for e in entries] == [
        (day(5).isoformat(), [A1]), (day(9).isoformat(), [])]


def test_an_approved_request_lasts_its_duration_and_more_time_extends_it(
        timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    request = timed.requests.create(ADMIN.__class__(A1), APP, "for Q1", duration_days=30)
    assert request.duration_days == 30
    clock.on(day(2), 10)
    timed.requests.approve(LICENSE_ADMIN, request.id)
    assert timed.catalog.licenses_of(A1)[0].until == day(32)
    # "Request more time": the holder of a time-limited license may ask again
    more = timed.requests.create(ADMIN.__class__(A1), APP, duration_days=90)
    clock.on(day(20), 10)
    timed.requests.approve(LICENSE_ADMIN, more.id)
    assert timed.catalog.licenses_of(A1)[0].until == day(110)
    # a 7-day request never shortens it
    short = timed.requests.create(ADMIN.__class__(A1), APP, duration_days=7)
    timed.requests.approve(LICENSE_ADMIN, short.id)
    assert timed.catalog.licenses_of(A1)[0].until == day(110)
    # permanently: the end date goes; then there is nothing more to ask for
    forever = timed.requests.create(ADMIN.__class__(A1), APP)
    timed.requests.approve(LICENSE_ADMIN, forever.id)
    assert timed.catalog.licenses_of(A1)[0].until is None
    with pytest.raises(AlreadyHeld):
        timed.requests.create(ADMIN.__class__(A1), APP, duration_days=7)
    with pytest.raises(InvalidDuration):
        timed.requests.create(ADMIN.__class__(A2), APP, duration_days=31)


def test_an_imported_end_date_expires(timed: LicensingService, engine: Engine, clock: Clock) -> None:
    add_app(timed, APP, 5)
    add_app(timed, "Other", 5)
    timed.assignments.assign(ADMIN, "Other", groups=[DESIGN])  # the database knows A1 and A2 now
    timed.bulk.import_rows(ADMIN, [BulkRow(2, APP, A1, day(1).isoformat()), BulkRow(3, APP, A2, "")])
    clock.on(day(1), 8)
    assert timed.expiry.remind_due() == 1  # given 1 day before its end: the 1-day reminder only
    clock.on(day(2))
    assert timed.lifecycle.run().done["expiry"] == 1
    assert seat_state(timed, APP)[0] == [A2]
    assert [r for r, _ in messages(engine, Kind.ENDED)] == [A1]


def test_exports_show_the_end_dates_of_assignments_made_in_slack(timed: LicensingService) -> None:
    add_app(timed, APP, 5)
    timed.assignments.assign(ADMIN, APP, [A1], until=day(9))
    timed.assignments.assign(ADMIN, APP, groups=[DESIGN], until=day(30))
    rows = [(h.user_id, h.source, h.until) for h in timed.bulk.holdings(ADMIN)]
    assert rows == [(A1, "direct", day(9)), (A1, "design", day(30)), (A2, "design", day(30)),
                    (A3, "design", day(30))]
