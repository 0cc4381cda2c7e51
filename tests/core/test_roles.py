"""SPEC §1 Roles: each role may do exactly what the table says and is refused the rest, checked when the
action runs; global admins from LICENSEBOT_GLOBAL_ADMINS and from grants.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.domain import ADMINS, ASSIGNERS, BILLERS, ROLE_MANAGERS, Actor, Role
from bot.domain import Action as Do
from bot.errors import InvalidInput, PermissionDenied, RoleFromSettings
from bot.service import LicensingService
from tests.support.core import ADMIN, BILLING_ADMIN, LICENSE_ADMIN, NOBODY, add_app, record, snapshot

APP = "Contoso CRM"
HOLDER = "UHOLDER1"  # assigned directly: what "unassign" removes
TARGET = "UTARGET1"
USER_ADMIN = Actor("UUSERADM")
GRANTED_GLOBAL_ADMIN = Actor("UGLOBAL2")  # a global admin by `roles grant`, not by the environment

ACTORS = {
    "global-admin (env)": ADMIN,
    "global-admin (granted)": GRANTED_GLOBAL_ADMIN,
    "billing-admin": BILLING_ADMIN,
    "license-admin": LICENSE_ADMIN,
    "user-admin": USER_ADMIN,
    "everyone": NOBODY,
}

# action -> (does it, what it changes: read back after)
Action = Callable[[LicensingService, Actor], Any]
ACTIONS: dict[str, Action] = {
    "assign": lambda s, a: s.assignments.assign(a, APP, [TARGET]),
    "unassign": lambda s, a: s.assignments.unassign(a, APP, [HOLDER]),
    "change seats": lambda s, a: s.assignments.set_seats(a, APP, 20),
    "edit app records": lambda s, a: s.catalog.import_apps(a, [record(APP, 10, vendor="Contoso Ltd")]),
    "grant roles": lambda s, a: s.roles.grant(a, TARGET, "license-admin"),
    "revoke roles": lambda s, a: s.roles.revoke(a, LICENSE_ADMIN.user_id, "license-admin"),
    "list roles": lambda s, a: s.roles.bindings(a),
    "read the audit log": lambda s, a: s.audit.latest(a),
    "export the audit log": lambda s, a: list(s.audit.export(a)),
}
WRITES = {"assign", "unassign", "change seats", "edit app records", "grant roles", "revoke roles"}

EVERYTHING = set(ACTIONS)
ADMIN_READS = {"list roles", "read the audit log", "export the audit log"}
MAY = {
    "global-admin (env)": EVERYTHING,
    "global-admin (granted)": EVERYTHING,
    "billing-admin": {"change seats", "edit app records"} | ADMIN_READS,
    "license-admin": {"assign", "unassign"} | ADMIN_READS,
    "user-admin": {"assign", "unassign"} | ADMIN_READS,
    "everyone": set(),
}


@pytest.fixture
def svc(service: LicensingService) -> LicensingService:
    service.roles.grant(ADMIN, USER_ADMIN.user_id, "user-admin")
    service.roles.grant(ADMIN, GRANTED_GLOBAL_ADMIN.user_id, "global-admin")
    add_app(service, APP, 10)
    service.assignments.assign(ADMIN, APP, [HOLDER])
    return service


def observe(service: LicensingService) -> tuple:
    """The state each action changes: seats, holders, vendor, role bindings."""
    app = service.catalog.app(APP)
    bindings = sorted((b.user_id, b.role) for b in service.roles.bindings(ADMIN))
    return app.total, app.vendor, service.catalog.details(APP).users, bindings


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", list(ACTORS))
def test_each_role_may_do_exactly_what_the_spec_table_says(
    svc: LicensingService, engine: Engine, who: str, action: str
) -> None:
    before, rows_before = observe(svc), snapshot(engine)

    if action in MAY[who]:
        ACTIONS[action](svc, ACTORS[who])
        if action in WRITES:
            assert observe(svc) != before
    else:
        with pytest.raises(PermissionDenied) as caught:
            ACTIONS[action](svc, ACTORS[who])
        assert caught.value.allowed and not svc.roles.of_actor(ACTORS[who]) & caught.value.allowed
        assert snapshot(engine) == rows_before


@pytest.mark.parametrize(
    ("actor", "action", "refused", "allowed"),
    [
        (BILLING_ADMIN, "assign", Do.ASSIGN, ASSIGNERS),
        (LICENSE_ADMIN, "change seats", Do.CHANGE_SEATS, BILLERS),
        (LICENSE_ADMIN, "grant roles", Do.GRANT_ROLES, ROLE_MANAGERS),
        (NOBODY, "read the audit log", Do.READ_AUDIT, ADMINS),
    ],
)
def test_a_refusal_says_which_role_is_needed(
    svc: LicensingService, actor: Actor, action: str, refused: Do, allowed: frozenset[Role]
) -> None:
    with pytest.raises(PermissionDenied) as caught:
        ACTIONS[action](svc, actor)
    assert (caught.value.action, caught.value.allowed) == (refused, allowed)


def test_the_role_is_checked_when_the_action_runs(svc: LicensingService) -> None:
    assert svc.assignments.assign(LICENSE_ADMIN, APP, [TARGET]).seated == [TARGET]
    svc.roles.revoke(ADMIN, LICENSE_ADMIN.user_id, "license-admin")

    with pytest.raises(PermissionDenied):
        svc.assignments.unassign(LICENSE_ADMIN, APP, [TARGET])
    assert svc.catalog.holds(TARGET, APP)


def test_global_admins_from_the_environment_are_listed_and_cannot_be_revoked_here(
    svc: LicensingService, engine: Engine
) -> None:
    listed = {(b.user_id, b.role): b.granted_by for b in svc.roles.bindings(LICENSE_ADMIN)}
    assert listed[(ADMIN.user_id, "global-admin")] == "LICENSEBOT_GLOBAL_ADMINS"
    assert listed[(GRANTED_GLOBAL_ADMIN.user_id, "global-admin")] == ADMIN.user_id
    assert svc.roles.of(ADMIN.user_id) == {"global-admin"}
    before = snapshot(engine)

    with pytest.raises(RoleFromSettings):
        svc.roles.revoke(GRANTED_GLOBAL_ADMIN, ADMIN.user_id, "global-admin")

    assert snapshot(engine) == before
    assert "global-admin" in svc.roles.of(ADMIN.user_id)


def test_a_granted_global_admin_grants_and_revokes_roles(svc: LicensingService) -> None:
    assert svc.roles.grant(GRANTED_GLOBAL_ADMIN, TARGET, "billing-admin") is True
    assert svc.roles.of(TARGET) == {"billing-admin"}
    assert svc.assignments.set_seats(Actor(TARGET), APP, 12).after == 12

    assert svc.roles.revoke(GRANTED_GLOBAL_ADMIN, TARGET, "billing-admin") is True
    assert svc.roles.of(TARGET) == set()


def test_granting_a_held_role_or_revoking_a_missing_one_changes_nothing(
    svc: LicensingService, engine: Engine
) -> None:
    before = snapshot(engine)

    assert svc.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin") is False
    assert svc.roles.revoke(ADMIN, TARGET, "billing-admin") is False

    assert snapshot(engine) == before


@pytest.mark.parametrize(("user_id", "role", "field"), [(TARGET, "superuser", "role"), (TARGET, "", "role"),
                                                          ("someone", "license-admin", "users"),
                                                          ("@alice", "license-admin", "users")])
def test_an_unknown_role_or_a_malformed_user_id_is_refused(
    svc: LicensingService, engine: Engine, user_id: str, role: str, field: str
) -> None:
    before = snapshot(engine)

    for change in (svc.roles.grant, svc.roles.revoke):
        with pytest.raises(InvalidInput) as caught:
            change(ADMIN, user_id, role)
        assert caught.value.field == field
    assert snapshot(engine) == before


def test_role_names_are_case_insensitive(svc: LicensingService) -> None:
    assert svc.roles.grant(ADMIN, TARGET, " User-Admin ") is True
    assert svc.roles.of(TARGET) == {"user-admin"}


def test_approvers_are_license_user_and_global_admins(svc: LicensingService) -> None:
    assert svc.roles.approvers() == sorted(
        [ADMIN.user_id, GRANTED_GLOBAL_ADMIN.user_id, LICENSE_ADMIN.user_id, USER_ADMIN.user_id]
    )


def test_everyone_may_read_the_catalog_and_their_own_licenses(svc: LicensingService) -> None:
    assert [a.name for a in svc.catalog.list_apps()] == [APP]
    assert svc.catalog.details("contoso").users == [HOLDER]
    assert [h.app for h in svc.catalog.licenses_of(HOLDER)] == [APP]
    assert svc.roles.of(NOBODY.user_id) == set()
