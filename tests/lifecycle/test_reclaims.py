""" "Keep or release?" at the service (bot/reclaims.py), on SQLite and PostgreSQL, time moved by freezegun:
release frees at once and refills the waitlist, keep keeps, silence releases at the deadline after one
reminder at half, each once however often the step runs; someone else's click changes nothing; a group's
seat is never taken; one open reclaim per app; `idle DAYS` asks only the idle."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.errors import PermissionDenied
from bot.notify import Kind
from bot.reclaim_errors import AskAnswered, InvalidIdleDays, NobodyToAsk, NotYourAsk, ReclaimOpen
from bot.service import LicensingService
from bot.usage import UsageRow
from tests.support.core import (
    A1,
    A2,
    A3,
    ADMIN,
    DESIGN,
    LICENSE_ADMIN,
    NOBODY,
    add_app,
    audit_actions,
    seat_state,
    snapshot,
    sync_members,
)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
APP = "Contoso CRM"


def messages(service: LicensingService, kind: Kind) -> list[tuple[str, dict[str, object]]]:
    return [(m.recipient, m.facts) for m in service.outbox.queued() if m.kind == kind]


def ask_of(service: LicensingService, user_id: str) -> int:
    [(_, facts)] = [(r, f) for r, f in messages(service, Kind.RECLAIM_ASK) if r == user_id]
    return int(str(facts["ask"]))


def test_release_frees_the_seat_at_once_and_refills_the_waitlist(
        service: LicensingService, directory: InMemoryDirectory) -> None:
    add_app(service, APP, seats=2)
    service.assignments.assign(ADMIN, APP, users=[A1])
    directory.set_members(DESIGN, [A2])
    service.assignments.assign(ADMIN, APP, groups=[DESIGN])
    sync_members(service, directory, DESIGN, [A2, A3])  # A3 waits: both seats taken
    assert seat_state(service, APP) == ([A1, A2], [A3])

    with freeze_time(START):
        started = service.reclaims.start(LICENSE_ADMIN, "contoso")
        assert (started.asked, started.group_holders) == ([A1], [A2])  # the group's holder is not asked
        assert started.ends_at == START + dt.timedelta(days=7)
        answered = service.reclaims.answer(Actor(A1), ask_of(service, A1), keep=False)

    assert answered.state == "released" and not answered.open  # the only one asked: it ended at once
    assert seat_state(service, APP) == ([A2, A3], [])  # A1's seat went to the oldest waiter
    assert [r for r, _ in messages(service, Kind.SEATED)] == [A3]
    [(to, facts)] = messages(service, Kind.RECLAIM_SUMMARY)
    assert to == LICENSE_ADMIN.user_id
    summary = service.reclaims.summary(int(str(facts["reclaim"])))
    assert (summary.released, summary.kept, summary.no_answer, summary.group_holders) == ([A1], [], [], [A2])
    assert audit_actions(service.kernel.uow.engine)[-3:] == ["reclaim.start", "reclaim.release", "waitlist.fill"]


def test_keep_keeps_and_a_second_click_changes_nothing(service: LicensingService, engine: Engine) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2])
    service.reclaims.start(ADMIN, APP)
    kept = service.reclaims.answer(Actor(A1), ask_of(service, A1), keep=True)
    assert kept.state == "kept" and kept.open  # A2 has not answered yet
    before = snapshot(engine)
    with pytest.raises(AskAnswered) as second:
        service.reclaims.answer(Actor(A1), ask_of(service, A1), keep=False)
    assert second.value.state == "kept"
    assert snapshot(engine) == before
    assert seat_state(service, APP)[0] == [A1, A2]
    assert "reclaim.keep" in audit_actions(engine)


def test_someone_elses_click_changes_nothing(service: LicensingService, engine: Engine) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2])
    service.reclaims.start(ADMIN, APP)
    before = snapshot(engine)
    for clicker in (A2, ADMIN.user_id):  # another holder, an admin: neither answers for A1
        for keep in (True, False):
            with pytest.raises(NotYourAsk) as refused:
                service.reclaims.answer(Actor(clicker), ask_of(service, A1), keep=keep)
            assert refused.value.user_id == A1
    assert snapshot(engine) == before


def test_silence_is_reminded_at_half_and_released_at_the_deadline_each_once(
        service: LicensingService, engine: Engine) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2, A3])
    with freeze_time(START) as clock:
        service.reclaims.start(LICENSE_ADMIN, APP)
        service.reclaims.answer(Actor(A1), ask_of(service, A1), keep=True)
        service.reclaims.answer(Actor(A3), ask_of(service, A3), keep=False)
        clock.move_to(START + dt.timedelta(days=3, hours=11))
        assert service.reclaims.run_due() == 0  # not half yet
        clock.move_to(START + dt.timedelta(days=3, hours=13))
        assert service.reclaims.run_due() == 1
        assert service.lifecycle.run().done["reclaims"] == 0  # once
        assert [r for r, _ in messages(service, Kind.RECLAIM_REMINDER)] == [A2]  # only who has not answered
        clock.move_to(START + dt.timedelta(days=6, hours=23))
        assert service.reclaims.run_due() == 0
        assert seat_state(service, APP)[0] == [A1, A2]
        clock.move_to(START + dt.timedelta(days=7))
        assert service.reclaims.run_due() == 1
        assert service.reclaims.run_due() == 0  # once
        with pytest.raises(AskAnswered) as late:  # a click after the end
            service.reclaims.answer(Actor(A2), ask_of(service, A2), keep=True)
    assert late.value.state == "no-answer" and late.value.ended
    assert seat_state(service, APP)[0] == [A1]
    assert [r for r, _ in messages(service, Kind.RECLAIM_REMINDER)] == [A2]
    assert [r for r, _ in messages(service, Kind.RECLAIM_RELEASED)] == [A2]
    [(to, facts)] = messages(service, Kind.RECLAIM_SUMMARY)
    summary = service.reclaims.summary(int(str(facts["reclaim"])))
    assert (to, summary.kept, summary.released, summary.no_answer) == (LICENSE_ADMIN.user_id, [A1], [A3], [A2])
    releases = [e for e in service.audit.export(ADMIN) if e.action == "reclaim.release"]
    assert [(e.targets, e.detail["reason"]) for e in releases] == [([A3], "answer"), ([A2], "no-answer")]


def test_two_processes_running_the_step_at_once_do_each_thing_once(service: LicensingService) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2])
    with freeze_time(START, tick=True) as clock:
        service.reclaims.start(ADMIN, APP)
        clock.move_to(START + dt.timedelta(days=8))
        done: list[int] = []
        barrier = threading.Barrier(2)

        def run() -> None:
            barrier.wait()
            done.append(service.reclaims.run_due())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(done) == 1  # past the deadline (no reminder due any more): ended by one of them
    assert seat_state(service, APP)[0] == []
    assert len(messages(service, Kind.RECLAIM_SUMMARY)) == 1
    assert sorted(r for r, _ in messages(service, Kind.RECLAIM_RELEASED)) == [A1, A2]


def test_a_group_licensed_holder_is_never_removed(service: LicensingService, directory: InMemoryDirectory) -> None:
    add_app(service, APP, seats=5)
    directory.set_members(DESIGN, [A2, A3])
    service.assignments.assign(ADMIN, APP, users=[A1, A3], groups=[DESIGN])  # A3: direct and through the group
    with freeze_time(START) as clock:
        started = service.reclaims.start(ADMIN, APP)
        assert (started.asked, started.group_holders) == ([A1, A3], [A2])
        service.reclaims.answer(Actor(A3), ask_of(service, A3), keep=False)
        details = service.catalog.details(APP)
        assert A3 in details.users and A3 not in details.direct_users  # the seat stays through the group
        clock.move_to(START + dt.timedelta(days=7, minutes=1))
        assert service.reclaims.run_due() == 1
    assert seat_state(service, APP)[0] == [A2, A3]  # A1 released for no answer; the group's two kept
    releases = [e for e in service.audit.export(ADMIN) if e.action == "reclaim.release"]
    assert releases[0].detail["freed"] == []  # releasing A3's direct assignment freed no seat


def test_one_open_reclaim_per_app(service: LicensingService) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1])
    with freeze_time(START) as clock:
        service.reclaims.start(ADMIN, APP)
        with pytest.raises(ReclaimOpen) as refused:
            service.reclaims.start(LICENSE_ADMIN, APP)
        assert refused.value.ends_at == START + dt.timedelta(days=7)
        clock.move_to(START + dt.timedelta(days=1))
        service.reclaims.answer(Actor(A1), ask_of(service, A1), keep=True)  # everyone answered: ended
        again = service.reclaims.start(LICENSE_ADMIN, APP)
    assert again.asked == [A1]


def test_idle_days_asks_only_the_idle(service: LicensingService) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2, A3])
    with freeze_time(START):
        today = START.date()
        rows = [UsageRow(2, APP, A1, (today - dt.timedelta(days=45)).isoformat()),
                UsageRow(3, APP, A2, (today - dt.timedelta(days=5)).isoformat())]  # A3: no usage data
        service.usage.import_rows(ADMIN, rows)
        with pytest.raises(NobodyToAsk):
            service.reclaims.start(ADMIN, APP, "60")
        started = service.reclaims.start(ADMIN, APP, "30")
        assert started.asked == [A1] and started.idle_days == 30
        assert [r for r, _ in messages(service, Kind.RECLAIM_ASK)] == [A1]
        assert service.usage.idle(APP).idle == 1 and service.usage.idle(APP).no_data == 1


def test_only_admins_start_one_and_bad_days_are_refused(service: LicensingService, engine: Engine) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1])
    before = snapshot(engine)
    with pytest.raises(PermissionDenied):
        service.reclaims.start(NOBODY, APP)
    for days in ("0", "-3", "ten", "99999999"):
        with pytest.raises(InvalidIdleDays):
            service.reclaims.start(ADMIN, APP, days)
    assert snapshot(engine) == before


def test_licensebot_reclaim_days_sets_the_deadline(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    from bot.config import Settings, SettingsError, load
    from bot.runtime import build_runtime

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LICENSEBOT_RECLAIM_DAYS", "2")
    monkeypatch.setenv("LICENSEBOT_GLOBAL_ADMINS", ADMIN.user_id)  # add_app's actor
    runtime = build_runtime(load(Settings), pooled=False)
    try:
        service = runtime.service
        add_app(service, APP, seats=5)
        service.assignments.assign(Actor.cli(), APP, users=[A1])
        with freeze_time(START):
            started = service.reclaims.start(Actor.cli(), APP)
        assert started.ends_at == START + dt.timedelta(days=2)
    finally:
        runtime.close()
    for wrong in ("0", "91", "a week"):
        monkeypatch.setenv("LICENSEBOT_RECLAIM_DAYS", wrong)
        with pytest.raises(SettingsError, match="LICENSEBOT_RECLAIM_DAYS"):
            load(Settings)


def test_the_last_two_answers_at_once_end_it_once(service: LicensingService) -> None:
    add_app(service, APP, seats=5)
    service.assignments.assign(ADMIN, APP, users=[A1, A2])
    service.reclaims.start(ADMIN, APP)
    asks = {user: ask_of(service, user) for user in (A1, A2)}
    barrier = threading.Barrier(2)

    def answer(user: str, keep: bool) -> None:
        barrier.wait()
        service.reclaims.answer(Actor(user), asks[user], keep=keep)

    threads = [threading.Thread(target=answer, args=(A1, True)), threading.Thread(target=answer, args=(A2, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(messages(service, Kind.RECLAIM_SUMMARY)) == 1  # whichever came second ended it
    assert seat_state(service, APP)[0] == [A1]
    assert service.reclaims.run_due() == 0
