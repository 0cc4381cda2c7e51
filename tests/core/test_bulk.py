"""SPEC §11 Bulk: an assignments file applied all or nothing through the seat rules, and who holds what.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bot.bulk import BulkRow
from bot.directory import InMemoryDirectory, User
from bot.errors import BulkImportRefused, PermissionDenied
from bot.service import LicensingService
from tests.support.core import (
    A1,
    A2,
    A3,
    ADMIN,
    B1,
    DESIGN,
    LICENSE_ADMIN,
    NOBODY,
    add_app,
    audit_actions,
    seat_state,
    snapshot,
)

ALICE = User("U0ALICE01", "alice", "Alice Liddell", email="alice@example.com")
BOB = User("U0BOB0001", "bob", "Bob Dylan", email="Bob@Example.com")
FUTURE = (dt.date.today() + dt.timedelta(days=90)).isoformat()


@pytest.fixture
def people(directory: InMemoryDirectory) -> InMemoryDirectory:
    for user in (ALICE, BOB):
        directory.put_user(user)
    for user_id in (A1, A2, A3, B1):
        directory.put_user(User(user_id, user_id.lower()))
    return directory


def rows(*lines: tuple[str, str] | tuple[str, str, str]) -> list[BulkRow]:
    return [BulkRow(i + 2, *line) for i, line in enumerate(lines)]


def problems(error: pytest.ExceptionInfo[BulkImportRefused]) -> list[tuple[str, int | None, dict]]:
    return [(p.code, p.line, p.facts) for p in error.value.problems]


def test_a_file_seats_everyone_through_the_assignment_rules_and_exports_back(
    service: LicensingService, people: InMemoryDirectory, engine: Engine
) -> None:
    crm, figma = add_app(service, "Contoso CRM", 5), add_app(service, "Figma", 3)
    service.assignments.assign(ADMIN, figma, groups=[DESIGN])  # A1, A2, A3 hold Figma

    outcome = service.bulk.import_rows(LICENSE_ADMIN, rows(
        ("contoso crm", A1, FUTURE), ("Contoso CRM", "alice@example.com"), ("Contoso CRM", "bob@example.COM"),
        ("Figma", A1),  # already held through the group: a direct source on top, no new seat
    ))

    assert outcome.by_email == {"alice@example.com": ALICE.id, "bob@example.COM": BOB.id}
    by_app = {a.app: a for a in outcome.apps}
    assert sorted(by_app[crm].seated) == sorted([A1, ALICE.id, BOB.id])
    assert (by_app[crm].assigned, by_app[crm].total) == (3, 5)
    assert (by_app[figma].seated, by_app[figma].already_held) == ([], [A1])
    assert audit_actions(engine)[-2:] == ["assign", "assign"]

    exported = [h.as_json() for h in service.bulk.holdings(ADMIN)]
    assert [(h["app"], h["user_id"], h["source"], h["until"]) for h in exported] == [
        (crm, A1, "direct", FUTURE), (crm, ALICE.id, "direct", ""), (crm, BOB.id, "direct", ""),
        (figma, A1, "design", ""), (figma, A1, "direct", ""), (figma, A2, "design", ""), (figma, A3, "design", ""),
    ]
    alice = next(h for h in exported if h["user_id"] == ALICE.id)
    assert (alice["name"], alice["email"], alice["provisioning"]) == ("Alice Liddell", "alice@example.com", "none")
    assert [h.user_id for h in service.bulk.holdings(ADMIN, "figma")] == [A1, A1, A2, A3]

    # the round trip: the direct rows of the export, imported again, change nothing
    before = snapshot(engine)
    again = service.bulk.import_rows(ADMIN, rows(*[(h["app"], h["user_id"], h["until"]) for h in exported
                                                   if h["source"] == "direct"]))
    assert again.seated == 0
    assert snapshot(engine) == before


def test_not_enough_licenses_refuses_the_whole_file_with_the_counts_of_each_app(
    service: LicensingService, people: InMemoryDirectory, engine: Engine
) -> None:
    crm, figma, zoom = add_app(service, "Contoso CRM", 2), add_app(service, "Figma", 1), add_app(service, "Zoom", 5)
    service.assignments.assign(ADMIN, figma, [B1])
    before = snapshot(engine)

    with pytest.raises(BulkImportRefused) as refused:
        service.bulk.import_rows(ADMIN, rows((zoom, A1), (crm, A1), (crm, A2), (crm, A3), (figma, A2), (figma, B1)))

    assert problems(refused) == [
        ("not-enough", None, {"app": crm, "needed": 3, "available": 2}),
        ("not-enough", None, {"app": figma, "needed": 1, "available": 0}),
    ]
    assert snapshot(engine) == before  # not even Zoom, which had room


def test_every_problem_of_a_file_is_listed_and_nothing_is_written(
    service: LicensingService, people: InMemoryDirectory, engine: Engine
) -> None:
    crm = add_app(service, "Contoso CRM", 10)
    service.roles.grant(ADMIN, "U0ROLE001", "user-admin")  # the database knows this one (a role), Slack does not
    before = snapshot(engine)

    with pytest.raises(BulkImportRefused) as refused:
        service.bulk.import_rows(ADMIN, rows(
            (crm, "U0ROLE001"),  # fine
            ("Contso", A1),
            (crm, "nobody@example.com"),
            (crm, "UNKNOWN99"),
            (crm, "not a person"),
            (crm, A2, "31/12/2030"),
            (crm, A3, "2001-01-01"),
            (crm, B1, FUTURE),
            (crm, B1, ""),
            ("", A1),
        ))

    assert problems(refused) == [
        ("unknown-app", 3, {"value": "Contso", "candidates": [crm]}),
        ("unknown-user", 4, {"value": "nobody@example.com", "by_email": True}),
        ("unknown-user", 5, {"value": "UNKNOWN99", "by_email": False}),
        ("bad-user", 6, {"value": "not a person"}),
        ("bad-until", 7, {"value": "31/12/2030"}),
        ("past-until", 8, {"value": "2001-01-01"}),
        ("two-untils", 10, {"value": B1, "first_line": 9}),
        ("no-app", 11, {}),
    ]
    assert snapshot(engine) == before


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(
    service: LicensingService, people: InMemoryDirectory, engine: Engine
) -> None:
    crm = add_app(service, "Contoso CRM", 3)
    before = snapshot(engine)

    outcome = service.bulk.import_rows(ADMIN, rows((crm, A1), (crm, "alice@example.com")), dry_run=True)

    assert outcome.dry_run
    assert sorted(outcome.apps[0].seated) == sorted([A1, ALICE.id])
    assert snapshot(engine) == before
    assert seat_state(service, crm) == ([], [])


def test_only_assigners_import_and_only_admins_export(service: LicensingService, people: InMemoryDirectory) -> None:
    crm = add_app(service, "Contoso CRM", 3)
    with pytest.raises(PermissionDenied):
        service.bulk.import_rows(NOBODY, rows((crm, A1)))
    with pytest.raises(PermissionDenied):
        list(service.bulk.holdings(NOBODY))


def test_an_until_given_again_replaces_the_old_one(service: LicensingService, people: InMemoryDirectory) -> None:
    crm = add_app(service, "Contoso CRM", 3)
    service.bulk.import_rows(ADMIN, rows((crm, A1, FUTURE)))
    later = (dt.date.today() + dt.timedelta(days=400)).isoformat()

    service.bulk.import_rows(ADMIN, rows((crm, A1, later)))

    assert [h.until.isoformat() if h.until else "" for h in service.bulk.holdings(ADMIN)] == [later]
