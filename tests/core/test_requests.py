"""SPEC §1 Request, at the service: ask, approve (same seat rules, one transaction), deny, expire, remind.

Every test runs on SQLite and on PostgreSQL (the `service` fixture). Time moves with freezegun."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine, select

from bot.app_records import AppRecord
from bot.directory import InMemoryDirectory
from bot.domain import Action as Do
from bot.domain import Actor
from bot.errors import (
    AlreadyHeld,
    AlreadyRequested,
    LicensingError,
    NotEnoughLicenses,
    OwnRequest,
    PermissionDenied,
    ReasonTooLong,
    RequestAlreadyDecided,
    RequestGone,
)
from bot.outbox import Sent
from bot.requests import APPROVED, DENIED, EXPIRED, RequestService
from bot.service import LicensingService
from storage.models import AuditRow, Base
from storage.uow import UnitOfWorkFactory
from tests.support.core import ADMIN, BILLING_ADMIN, LICENSE_ADMIN, NOBODY

TTL_HOURS = 48
ANN, BOB, CAT = Actor("UANN0001"), Actor("UBOB0001"), Actor("UCAT0001")


@pytest.fixture
def core(engine: Engine, directory: InMemoryDirectory) -> LicensingService:
    """The service with requests living TTL_HOURS, and the same roles as the `service` fixture."""
    core = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id],
                            request_ttl_hours=TTL_HOURS)
    core.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    core.roles.grant(ADMIN, BILLING_ADMIN.user_id, "billing-admin")
    return core


@pytest.fixture
def requests(core: LicensingService) -> RequestService:
    return core.requests


def add_app(service: LicensingService, name: str = "Contoso CRM", seats: int = 2, via: str = "marketplace") -> str:
    service.catalog.import_apps(ADMIN, [AppRecord(name=name, seats=seats, purchased_via=via)])
    return name


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: to show that a refused change wrote nothing."""
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in Base.metadata.sorted_tables}


def audits(engine: Engine, action: str) -> list[AuditRow]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)))


def test_a_request_is_filed_for_the_approvers(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    app = add_app(core)

    request = requests.create(ANN, "contoso", "  for the Q3 pipeline \n")

    assert (request.status, request.requester, request.reason) == ("pending", ANN.user_id, "for the Q3 pipeline")
    assert (request.app.name, request.app.available) == (app, 2)
    assert request.expires_at - request.created_at == dt.timedelta(hours=TTL_HOURS)
    assert [r.id for r in requests.pending(LICENSE_ADMIN)] == [request.id]
    assert [r.id for r in requests.pending_of(ANN.user_id)] == [request.id]
    assert requests.pending_of(BOB.user_id) == []
    assert core.roles.approvers() == sorted([ADMIN.user_id, LICENSE_ADMIN.user_id])  # not the billing admin
    [entry] = audits(engine, "request.create")
    assert (entry.actor, entry.app, entry.targets) == (ANN.user_id, app, [ANN.user_id])
    assert entry.detail == {"request": request.id, "reason": "for the Q3 pipeline"}
    with pytest.raises(PermissionDenied):
        requests.pending(BILLING_ADMIN)


def test_a_second_request_for_the_same_app_or_a_held_one_gets_a_clear_answer(
    core: LicensingService, requests: RequestService, engine: Engine
) -> None:
    add_app(core)
    first = requests.create(ANN, "Contoso CRM")
    before = snapshot(engine)

    with pytest.raises(AlreadyRequested) as caught:
        requests.create(ANN, "contoso")
    assert (caught.value.app, caught.value.since) == ("Contoso CRM", first.created_at)
    with pytest.raises(AlreadyRequested):
        requests.check_can_request(ANN.user_id, "contoso")
    assert snapshot(engine) == before

    core.assignments.assign(ADMIN, "Contoso CRM", [BOB.user_id])
    with pytest.raises(AlreadyHeld):
        requests.create(BOB, "Contoso CRM")

    requests.deny(ADMIN, first.id)
    assert requests.create(ANN, "Contoso CRM").pending  # decided requests do not block a new one


def test_the_same_submit_files_once(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    first = requests.create(ANN, "Contoso CRM", "why", idempotency_key="request:V1:h1")
    again = requests.create(ANN, "Contoso CRM", "why", idempotency_key="request:V1:h1")
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert len(audits(engine, "request.create")) == 1


def test_approve_seats_the_requester_and_decides_in_one_audit_entry(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    app = add_app(core)
    request = requests.create(ANN, app, "please")

    decided = requests.approve(LICENSE_ADMIN, request.id)

    assert (decided.status, decided.decided_by) == (APPROVED, LICENSE_ADMIN.user_id)
    assert decided.decided_at is not None
    assert (decided.app.assigned, decided.app.available) == (1, 1)
    assert core.catalog.holds(ANN.user_id, app)
    assert core.catalog.licenses_of(ANN.user_id)[0].sources == [("user", ANN.user_id)]
    [entry] = audits(engine, "request.approve")
    assert (entry.actor, entry.targets, entry.seats_assigned, entry.seats_available) == (
        LICENSE_ADMIN.user_id, [ANN.user_id], 1, 1)
    assert entry.detail == {"request": request.id, "seated": [ANN.user_id], "already_held": []}
    assert audits(engine, "assign") == []  # the approval is the one entry
    assert requests.pending(ADMIN) == [] and requests.pending_of(ANN.user_id) == []


def test_approve_without_a_free_seat_changes_nothing(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    app = add_app(core, "Fabrikam Design", seats=1, via="provider")
    request = requests.create(ANN, app)
    core.assignments.assign(ADMIN, app, [BOB.user_id])
    before = snapshot(engine)

    with pytest.raises(NotEnoughLicenses) as caught:
        requests.approve(ADMIN, request.id)
    assert (caught.value.needed, caught.value.available) == (1, 0)

    assert snapshot(engine) == before
    assert requests.get(request.id).pending  # the approver may still add seats, or deny
    core.assignments.unassign(ADMIN, app, [BOB.user_id])
    assert requests.approve(ADMIN, request.id).status == APPROVED


def test_only_approvers_decide(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    request = requests.create(ANN, "Contoso CRM")
    before = snapshot(engine)

    for actor in (BILLING_ADMIN, NOBODY, BOB):
        with pytest.raises(PermissionDenied) as caught:
            requests.approve(actor, request.id)
        assert caught.value.action == Do.APPROVE
        with pytest.raises(PermissionDenied) as caught:
            requests.deny(actor, request.id, "no")
        assert caught.value.action == Do.DENY
        with pytest.raises(PermissionDenied):
            requests.deciding(actor, request.id)

    assert snapshot(engine) == before


def test_a_requester_cannot_approve_their_own_request(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    request = requests.create(LICENSE_ADMIN, "Contoso CRM")
    before = snapshot(engine)

    with pytest.raises(OwnRequest):
        requests.approve(LICENSE_ADMIN, request.id)

    assert snapshot(engine) == before
    assert requests.approve(ADMIN, request.id).status == APPROVED


def test_the_second_decision_is_told_who_decided(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    request = requests.create(ANN, "Contoso CRM")
    requests.approve(ADMIN, request.id)
    before = snapshot(engine)

    for decide in (lambda: requests.approve(LICENSE_ADMIN, request.id),
                   lambda: requests.approve(ADMIN, request.id),  # a double click
                   lambda: requests.deny(LICENSE_ADMIN, request.id),
                   lambda: requests.deciding(LICENSE_ADMIN, request.id)):
        with pytest.raises(RequestAlreadyDecided) as caught:
            decide()
        assert (caught.value.status, caught.value.by) == ("approved", ADMIN.user_id)

    assert snapshot(engine) == before


def test_deny_with_a_reason(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    request = requests.create(ANN, "Contoso CRM")
    before = snapshot(engine)
    with pytest.raises(ReasonTooLong) as caught:
        requests.deny(ADMIN, request.id, "x" * 1001)
    assert caught.value.field == "reason" and snapshot(engine) == before

    denied = requests.deny(LICENSE_ADMIN, request.id, " No budget this quarter. ")

    assert (denied.status, denied.decided_by, denied.note) == (DENIED, LICENSE_ADMIN.user_id, "No budget this quarter.")
    assert not core.catalog.holds(ANN.user_id, "Contoso CRM")
    [entry] = audits(engine, "request.deny")
    assert entry.detail == {"request": request.id, "reason": "No budget this quarter."}
    assert entry.targets == [ANN.user_id]


def test_an_unknown_request_gets_a_clear_answer(requests: RequestService) -> None:
    with pytest.raises(RequestGone):
        requests.approve(ADMIN, 999_999)
    with pytest.raises(RequestGone):
        requests.get(999_999)


def test_two_approvers_racing_decide_once(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core, seats=10)
    rounds = []
    for requester in (ANN, BOB, CAT):
        request = requests.create(requester, "Contoso CRM")
        start = threading.Barrier(3)
        results: list[Any] = []

        def decide(actor: Actor, deny: bool = False, start: Any = start, results: list[Any] = results,
                   request_id: int = request.id) -> None:
            start.wait()
            try:
                results.append(requests.deny(actor, request_id) if deny else requests.approve(actor, request_id))
            except LicensingError as error:
                results.append(error)

        deciders = [(ADMIN, False), (LICENSE_ADMIN, False), (LICENSE_ADMIN, True)]  # two approvals and a denial
        threads = [threading.Thread(target=decide, args=args) for args in deciders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        [winner] = [r for r in results if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(losers) == 2 and all(isinstance(e, RequestAlreadyDecided) for e in losers), results
        assert all(e.by == winner.decided_by and e.status == winner.status for e in losers)
        rounds.append(winner.status)

    approved = rounds.count(APPROVED)
    assert core.catalog.app("Contoso CRM").assigned == approved
    assert len(audits(engine, "request.approve")) == approved
    assert len(audits(engine, "request.deny")) == 3 - approved


def test_expiry_and_one_reminder_at_half_the_ttl(core: LicensingService, requests: RequestService, engine: Engine) -> None:
    add_app(core)
    with freeze_time("2026-03-02 09:00:00+00:00") as clock:
        request = requests.create(ANN, "Contoso CRM")
        clock.tick(dt.timedelta(hours=TTL_HOURS / 2) - dt.timedelta(seconds=1))
        later = requests.create(BOB, "Contoso CRM")
        assert _ids(requests.sweep(Actor.cli())) == ([], [])

        clock.tick(dt.timedelta(seconds=1))
        assert _ids(requests.sweep(Actor.cli())) == ([], [request.id])
        assert _ids(requests.sweep(Actor.cli())) == ([], [])  # one reminder per request

        clock.tick(dt.timedelta(hours=TTL_HOURS / 2) - dt.timedelta(seconds=1))
        assert _ids(requests.sweep(Actor.cli())) == ([], [later.id])
        clock.tick(dt.timedelta(seconds=1))
        sweep = requests.sweep(Actor.cli())

    assert _ids(sweep) == ([request.id], [])
    [expired] = sweep.expired
    assert (expired.status, expired.requester, expired.ttl_hours) == (EXPIRED, ANN.user_id, TTL_HOURS)
    [entry] = audits(engine, "request.expire")
    assert (entry.actor, entry.via, entry.targets) == ("cli", "cli", [ANN.user_id])
    assert entry.detail == {"request": request.id}
    with pytest.raises(RequestAlreadyDecided) as caught:
        requests.approve(ADMIN, request.id)
    assert (caught.value.status, caught.value.by) == ("expired", None)
    assert not core.catalog.holds(ANN.user_id, "Contoso CRM")
    assert [r.id for r in requests.pending(ADMIN)] == [later.id]


def test_a_decided_request_is_neither_reminded_nor_expired(core: LicensingService, requests: RequestService) -> None:
    add_app(core)
    with freeze_time("2026-03-02 09:00:00+00:00") as clock:
        request = requests.create(ANN, "Contoso CRM")
        requests.approve(ADMIN, request.id)
        clock.tick(dt.timedelta(hours=TTL_HOURS * 2))
        assert _ids(requests.sweep(Actor.cli())) == ([], [])
    assert requests.get(request.id).status == APPROVED


def test_each_approver_copy_is_recorded_once(core: LicensingService, requests: RequestService) -> None:
    """The outbox records where a copy landed as it marks it delivered; a copy sent twice (the one in flight
    when a process died, sent again) keeps the first record."""
    add_app(core)
    request = requests.create(ANN, "Contoso CRM")
    with core.outbox.lease("crashed", 1) as batch:
        [first] = batch.messages
        assert (first.kind, first.recipient) == ("request.copy", ADMIN.user_id)
        batch.settle(first, Sent("DUADMIN01", "1700000000.000100"))
    with core.kernel.uow(write=True) as uow:  # the same copy delivered again, as after a crash
        core.outbox.record_copy(uow, first, "DUADMIN01", "1700000000.000300")
        uow.commit()
    with core.outbox.lease("next", 1) as batch:
        [second] = batch.messages
        batch.settle(second, Sent("DULICADM1", "1700000000.000200"))
    assert sorted((c.approver, c.channel, c.ts) for c in requests.copies(request.id)) == [
        (ADMIN.user_id, "DUADMIN01", "1700000000.000100"),
        (LICENSE_ADMIN.user_id, "DULICADM1", "1700000000.000200"),
    ]


def _ids(sweep: Any) -> tuple[list[int], list[int]]:
    return [r.id for r in sweep.expired], [r.id for r in sweep.reminded]


def test_control_characters_in_a_reason_are_dropped_on_every_database(core: LicensingService, requests: RequestService) -> None:
    add_app(core)
    request = requests.create(ANN, "Contoso CRM", "need\x00 it\x1b for\nwork")
    assert request.reason == "need it for\nwork"
    denied = requests.deny(LICENSE_ADMIN, request.id, "no\x00pe")
    assert denied.note == "nope"
