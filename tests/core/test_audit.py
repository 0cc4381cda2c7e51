"""SPEC §1 Audit log: every change once — who, when, from where, what, and the seat counts after it —
and append-only in the database itself.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.errors import NotEnoughLicenses, SeatsBelowAssigned
from bot.service import LicensingService
from tests.support.core import (
    A1,
    A2,
    A3,
    ADMIN,
    BILLING_ADMIN,
    DESIGN,
    LICENSE_ADMIN,
    add_app,
    record,
    snapshot,
    sync_members,
)

START = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
CLI = Actor.cli()


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def test_every_change_is_audited_once_with_who_when_where_what_and_the_counts_after_it(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    already = len(list(service.audit.export(ADMIN)))  # the fixture's role grants

    with freeze_time(START) as clock:
        service.catalog.import_apps(CLI, [record("Contoso CRM", 3)])  # +0
        clock.tick(60)
        service.roles.grant(ADMIN, "UUSERADM", "user-admin")  # +1
        clock.tick(60)
        with pytest.raises(NotEnoughLicenses):
            service.assignments.assign(LICENSE_ADMIN, "contoso", ["UDIRECT1"], [DESIGN])  # needs 4 of 3: not audited
        service.assignments.assign(LICENSE_ADMIN, "contoso", [], [DESIGN])  # +2
        clock.tick(60)
        sync_members(service, directory, DESIGN, [A1, A2, A3, "UJOIN001"])  # +3: full, waits
        clock.tick(60)
        service.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 4)  # +4: the waiter gets the new seat
        clock.tick(60)
        with pytest.raises(SeatsBelowAssigned):
            service.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 1)  # refused: not audited
        sync_members(service, directory, DESIGN, [A2, A3, "UJOIN001"])  # +5: A1 leaves
        clock.tick(60)
        service.assignments.unassign(Actor("UUSERADM"), "Contoso CRM", groups=[DESIGN])  # +6
        clock.tick(60)
        service.roles.revoke(CLI, "UUSERADM", "user-admin")  # +7

    entries = [
        (e.at, e.actor, e.via, e.action, e.app, e.targets, e.total, e.assigned, e.available)
        for e in list(service.audit.export(ADMIN))[already:]
    ]
    crm = "Contoso CRM"
    assert entries == [
        (at(0), "cli", "cli", "app.import", crm, [], 3, 0, 3),
        (at(1), ADMIN.user_id, "slack", "role.grant", None, ["UUSERADM"], None, None, None),
        (at(2), LICENSE_ADMIN.user_id, "slack", "assign", crm, [DESIGN, A1, A2, A3], 3, 3, 0),
        (at(3), ADMIN.user_id, "slack", "group.join", crm, [DESIGN, "UJOIN001"], 3, 3, 0),
        (at(4), BILLING_ADMIN.user_id, "slack", "seats", crm, [], 4, 3, 1),
        (at(4), BILLING_ADMIN.user_id, "slack", "waitlist.fill", crm, ["UJOIN001"], 4, 4, 0),
        (at(5), ADMIN.user_id, "slack", "group.leave", crm, [DESIGN, A1], 4, 3, 1),
        (at(6), "UUSERADM", "slack", "unassign", crm, [DESIGN, A2, A3, "UJOIN001"], 4, 0, 4),
        (at(7), "cli", "cli", "role.revoke", None, ["UUSERADM"], None, None, None),
    ]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == dt.timedelta(0) for e in service.audit.export(ADMIN))


def test_audit_details_record_what_changed(service: LicensingService) -> None:
    add_app(service, "Contoso CRM", 10)
    service.assignments.assign(ADMIN, "Contoso CRM", ["UDIRECT1"], [DESIGN])
    service.assignments.set_seats(ADMIN, "Contoso CRM", 12)
    service.roles.grant(ADMIN, "UUSERADM", "user-admin")

    role, seats, assign = service.audit.latest(ADMIN, limit=3)  # newest first

    assert assign.detail == {
        "users": ["UDIRECT1"],
        "groups": [DESIGN],
        "seated": sorted(["UDIRECT1", A1, A2, A3]),
        "already_held": [],
    }
    assert seats.detail == {"before": 10, "after": 12}
    assert role.detail == {"role": "user-admin"}


def test_audit_entries_of_one_app_newest_first(service: LicensingService) -> None:
    add_app(service, "Contoso CRM", 10)
    add_app(service, "Figma", 10)
    service.assignments.set_seats(ADMIN, "Figma", 11)
    service.assignments.assign(ADMIN, "Contoso CRM", ["UDIRECT1"])
    service.assignments.set_seats(ADMIN, "Contoso CRM", 12)

    entries = service.audit.latest(ADMIN, "contoso", limit=20)

    assert [e.action for e in entries] == ["seats", "assign", "app.import"]
    assert {e.app for e in entries} == {"Contoso CRM"}
    assert [e.action for e in service.audit.latest(ADMIN, "contoso", limit=1)] == ["seats"]


def test_import_is_audited_per_app_with_what_it_changed(service: LicensingService) -> None:
    service.catalog.import_apps(CLI, [record("Contoso CRM", 10), record("Figma", 5)])
    service.catalog.import_apps(CLI, [record("Contoso CRM", 10), record("Figma", 8, vendor="Figma Inc")])

    entries = [e for e in service.audit.export(CLI) if e.action == "app.import"]

    assert [(e.app, e.detail["change"], e.total) for e in entries] == [
        ("Contoso CRM", "created", 10),
        ("Figma", "created", 5),
        ("Figma", "updated", 8),  # Contoso CRM did not change: no entry
    ]
    assert entries[-1].detail["fields"] == ["seats", "vendor"]  # the catalog file's keys


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone-else'",
        "UPDATE audit_log SET seats_assigned = 0 WHERE action = 'assign'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'assign'",
    ],
)
def test_the_audit_log_is_append_only_in_the_database(
    service: LicensingService, engine: Engine, statement: str
) -> None:
    add_app(service, "Contoso CRM", 10)
    service.assignments.assign(ADMIN, "Contoso CRM", ["UDIRECT1"])
    before = snapshot(engine)["audit_log"]

    with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
        conn.execute(text(statement))

    assert snapshot(engine)["audit_log"] == before
    with engine.begin() as conn:  # appending still works
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, via, action, targets, detail) "
                "VALUES (:at, 'cli', 'cli', 'note', '[]', '{}')"
            ),
            {"at": dt.datetime.now(dt.UTC)},
        )
    assert len(snapshot(engine)["audit_log"]) == len(before) + 1
