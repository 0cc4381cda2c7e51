"""SPEC §7 on SQLite and PostgreSQL, against the real scim2-server: seats gained and lost (any path) made
real at the vendor, in order per user, retried when the vendor may recover, failed when it will not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.directory import InMemoryDirectory
from bot.service import LicensingService
from storage.models import OutboxRow
from tests.provisioning.conftest import APP, TOKEN_ENV, deliver_all, email
from tests.support.core import A1, A2, A3, ADMIN, B1, DESIGN, ENGINEERING
from tests.support.scim_server import TOKEN, ScimServer


def test_assigned_users_and_groups_are_active_at_the_vendor(provisioned: LicensingService, scim: ScimServer) -> None:
    provisioned.assignments.assign(ADMIN, APP, users=[B1], groups=[DESIGN])
    assert provisioned.provisioning.status(APP).pending == 4
    deliver_all(provisioned)
    assert scim.active() == {email(u): u for u in (A1, A2, A3, B1)}
    user = scim.users()[email(A1)]
    assert user.display_name == "Alice Example" and user.emails[0].value == email(A1) and user.emails[0].primary
    status = provisioned.provisioning.status(APP)
    assert (status.pending, status.provisioned, status.failed) == (0, 4, 0)


def test_a_seat_lost_is_inactive_unless_another_source_holds_it(
        provisioned: LicensingService, scim: ScimServer, people: InMemoryDirectory) -> None:
    provisioned.assignments.assign(ADMIN, APP, users=[A3, B1], groups=[DESIGN])
    deliver_all(provisioned)
    provisioned.assignments.unassign(ADMIN, APP, users=[A3, B1])  # A3 is still in Design
    deliver_all(provisioned)
    users = scim.users()
    assert users[email(A3)].active is True
    assert users[email(B1)].active is False
    # leaving the group: A1 loses the seat; a deleted Slack user loses everything
    people.set_members(DESIGN, [A2, A3])
    group = people.group(DESIGN)
    assert group is not None
    provisioned.membership.apply_group(ADMIN, group)
    provisioned.membership.remove_user(ADMIN, A2)
    deliver_all(provisioned)
    assert scim.active() == {email(A3): A3}
    assert provisioned.provisioning.status(APP).provisioned == 1  # caught-up inactive users leave the table


def test_deprovision_delete_removes_the_user(service: LicensingService, people: InMemoryDirectory,
                                             scim: ScimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.scim.vendor import scim_vendor
    from tests.support.core import add_app

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    service.provisioning.connect(scim_vendor)
    add_app(service, "Tailspin", 5,
            provisioning={"scim_url": scim.url, "token_env": TOKEN_ENV, "deprovision": "delete"})
    service.assignments.assign(ADMIN, "Tailspin", users=[A1, A2])
    deliver_all(service)
    service.assignments.unassign(ADMIN, "Tailspin", users=[A1])
    deliver_all(service)
    assert set(scim.users()) == {email(A2)}


def test_assign_unassign_assign_converges_on_the_last_word(provisioned: LicensingService, scim: ScimServer) -> None:
    for _ in range(2):
        provisioned.assignments.assign(ADMIN, APP, users=[A1])
        provisioned.assignments.unassign(ADMIN, APP, users=[A1])
    provisioned.assignments.assign(ADMIN, APP, users=[A1])
    deliver_all(provisioned)
    assert scim.active() == {email(A1): A1}
    provisioned.assignments.unassign(ADMIN, APP, users=[A1])
    provisioned.assignments.assign(ADMIN, APP, users=[A1])
    provisioned.assignments.unassign(ADMIN, APP, users=[A1])
    deliver_all(provisioned)
    assert scim.active() == {}
    assert len(scim.users()) == 1  # found again by externalId: never created twice


def test_vendor_down_stays_pending_then_retry_provisions(provisioned: LicensingService, scim: ScimServer) -> None:
    scim.stop()
    provisioned.assignments.assign(ADMIN, APP, users=[A1, A2])
    deliver_all(provisioned)
    status = provisioned.provisioning.status(APP)
    assert (status.pending, status.failed) == (2, 0)
    assert [u for u, _ in status.retrying] == [A1, A2] and "no answer" in status.retrying[0][1]
    scim.start()
    assert provisioned.provisioning.retry(ADMIN, APP) == (0, 2)  # nothing failed; two hurried
    deliver_all(provisioned)
    assert scim.active() == {email(A1): A1, email(A2): A2}
    assert provisioned.provisioning.status(APP).provisioned == 2


def test_a_vendor_down_for_longer_than_the_retries_fails_the_seat(
        engine: Engine, people: InMemoryDirectory, scim: ScimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.scim.vendor import scim_vendor
    from storage.uow import UnitOfWorkFactory
    from tests.support.core import add_app

    now = [dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)]
    service = LicensingService(UnitOfWorkFactory(engine), people, global_admins=[ADMIN.user_id],
                               clock=lambda: now[0])
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    service.provisioning.connect(scim_vendor)
    add_app(service, APP, 5, provisioning={"scim_url": scim.url, "token_env": TOKEN_ENV})
    scim.stop()
    service.assignments.assign(ADMIN, APP, users=[A1])
    for minutes in (1, 3, 7, 11):  # still retried for at least 10 minutes
        now[0] = dt.datetime(2026, 11, 27, 12, minutes, tzinfo=dt.UTC)
        deliver_all(service)
        assert service.provisioning.status(APP).pending == 1
    now[0] = dt.datetime(2026, 11, 27, 12, 16, tzinfo=dt.UTC)
    deliver_all(service)
    status = service.provisioning.status(APP)
    assert status.failed == 1 and "gave up after" in status.failures[0][1]
    scim.start()
    assert service.provisioning.retry(ADMIN, APP) == (1, 0)
    deliver_all(service)
    assert scim.active() == {email(A1): A1}


def test_a_vendor_refusal_fails_at_once_with_its_detail_and_no_token(
        provisioned: LicensingService, scim: ScimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token-0123456789")
    provisioned.provisioning.connect(provisioned.provisioning.vendors)  # type: ignore[arg-type]
    provisioned.assignments.assign(ADMIN, APP, users=[A1])
    deliver_all(provisioned)
    status = provisioned.provisioning.status(APP)
    assert status.failed == 1
    assert status.failures[0][0] == A1 and "401" in status.failures[0][1]
    assert "a-wrong-token" not in repr(status)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert provisioned.provisioning.retry(ADMIN, APP) == (1, 0)
    deliver_all(provisioned)
    assert scim.active() == {email(A1): A1}


def test_a_missing_token_variable_is_the_apps_failure_not_a_crash(
        provisioned: LicensingService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    provisioned.assignments.assign(ADMIN, APP, users=[A1])
    deliver_all(provisioned)
    status = provisioned.provisioning.status(APP)
    assert status.failures == [(A1, f"{TOKEN_ENV} is not set")] and not status.token_set


def test_the_token_is_in_no_database_row(provisioned: LicensingService, engine: Engine,
                                        database_url: str) -> None:
    provisioned.assignments.assign(ADMIN, APP, users=[A1], groups=[ENGINEERING])
    deliver_all(provisioned)
    with engine.connect() as conn:
        rows = [repr(tuple(r)) for r in conn.execute(select(OutboxRow))]
        from storage.models import Base
        everything = [repr(tuple(r)) for t in Base.metadata.sorted_tables for r in conn.execute(select(t))]
    assert rows and not any(TOKEN in r for r in everything)
    if database_url.startswith("sqlite:///"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        for path in folder.iterdir():
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def test_reconcile_lists_drift_both_ways_and_fixes_the_vendor(provisioned: LicensingService,
                                                              scim: ScimServer) -> None:
    from scim2_models import User

    provisioned.assignments.assign(ADMIN, APP, users=[A1, A2])
    deliver_all(provisioned)
    client = scim.client()
    client.create(User(user_name="stranger@example.com", external_id="USTRANGER", active=True))
    client.delete(User, scim.users()[email(A2)].id)  # the vendor lost A2
    drift = provisioned.provisioning.reconcile(ADMIN, APP)
    assert [u.user_name for u in drift.active_without_seat] == ["stranger@example.com"]
    assert drift.seat_without_active == [A2]
    fixed = provisioned.provisioning.reconcile(ADMIN, APP, fix=True)
    assert sorted(fixed.fixed) == [(A2, "queued"), ("stranger@example.com", "deactivated")]
    assert provisioned.provisioning.status(APP).pending == 1
    deliver_all(provisioned)
    assert scim.active() == {email(A1): A1, email(A2): A2}
    again = provisioned.provisioning.reconcile(ADMIN, APP)
    assert (again.active_without_seat, again.seat_without_active) == ([], [])


def test_an_app_without_provisioning_writes_no_provisioning_message(service: LicensingService,
                                                                   engine: Engine) -> None:
    from tests.support.core import add_app

    add_app(service, "Plain", 5)
    service.assignments.assign(ADMIN, "Plain", users=[A1])
    with engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(OutboxRow))]
    assert "provision" not in kinds


@pytest.mark.parametrize("url", ["http://contoso.example/scim", "ftp://x/scim", "contoso", "http://10.0.0.1/v2"])
def test_the_scim_url_must_be_https_except_on_loopback(url: str) -> None:
    from pydantic import ValidationError

    from tests.support.core import record

    with pytest.raises(ValidationError):
        record("X", provisioning={"scim_url": url, "token_env": "X_TOKEN"})
    assert record("X", provisioning={"scim_url": "http://127.0.0.1:9/v2", "token_env": "X"}).provisioning
    assert record("X", provisioning={"scim_url": "https://contoso.example/scim/v2", "token_env": "X"}).provisioning




def test_the_details_modal_shows_counts_to_all_and_failures_with_retry_to_admins() -> None:
    from bot.domain import Rights, Role
    from bot.provisioning import ProvisioningStatus
    from handlers.slack.features.provisioning import RETRY, provisioning_blocks

    failures = [(f"U{n:08d}", "HTTP 409: " + "x" * 500) for n in range(12)]
    status = ProvisioningStatus(APP, "https://v.example/scim", "T", "deactivate", 2, 5, 12, failures, True)
    admin = provisioning_blocks(status, Rights(frozenset({Role.LICENSE_ADMIN}), False))
    assert admin[0]["text"]["text"] == "*Provisioning (SCIM):* 5 provisioned · 2 pending · 12 failed"
    failed = admin[1]["text"]["text"]
    assert failed.count("HTTP 409") == 10 and "… and 2 more" in failed and len(failed) < 3000
    assert admin[2]["elements"][0]["action_id"] == RETRY and admin[2]["elements"][0]["value"] == APP
    everyone = provisioning_blocks(status, Rights(frozenset(), True))
    assert len(everyone) == 1 and "HTTP" not in str(everyone)


def test_a_vendors_retry_after_reschedules_its_message_without_pausing_slack(
        provisioned: LicensingService, engine: Engine) -> None:
    from bot.delivery import Deliverer
    from bot.notify import Kind
    from bot.outbox import Retry, Sent

    provisioned.assignments.assign(ADMIN, APP, users=[A1])
    worker = Deliverer(provisioned.outbox, lambda m: Sent(), routes={Kind.PROVISION: lambda m: Retry("429", 60.0)})
    assert worker.deliver(16) == 1
    assert worker._pause_left() <= 0  # Slack's messages keep going
    with engine.connect() as conn:
        row = conn.execute(select(OutboxRow).where(OutboxRow.kind == "provision")).one()
    assert row.status == "pending" and row.available_at is not None and row.last_error == "429"


def test_a_french_admin_reads_the_provisioning_blocks_in_french() -> None:
    from bot.domain import Rights, Role
    from bot.provisioning import ProvisioningStatus
    from handlers.slack import i18n
    from handlers.slack.features.provisioning import provisioning_blocks

    status = ProvisioningStatus(APP, "https://v.example/scim", "T", "deactivate", 1, 2, 1, [(A1, "HTTP 401")], True)
    with i18n.speaking("fr-FR"):
        blocks = provisioning_blocks(status, Rights(frozenset({Role.GLOBAL_ADMIN}), False))
    assert blocks[0]["text"]["text"] == "*Provisionnement (SCIM) :* 2 provisionnés · 1 en attente · 1 en échec"
    assert blocks[2]["elements"][0]["text"]["text"] == "Réessayer"
