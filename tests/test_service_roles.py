"""SPEC §1 Roles: each role may do exactly what the table says and is refused the rest, checked when the
action runs; global admins from LICENSEBOT_GLOBAL_ADMINS and from grants.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.domain import Actor
from bot.errors import InvalidInput, PermissionDenied
from bot.service import LicensingService
from tests.conftest import ADMIN, BILLING_ADMIN, LICENSE_ADMIN, NOBODY
from tests.test_service_support import add_app, record, snapshot

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
    "assign": lambda s, a: s.assign(a, APP, [TARGET]),
    "unassign": lambda s, a: s.unassign(a, APP, [HOLDER]),
    "change seats": lambda s, a: s.set_seats(a, APP, 20),
    "edit app records": lambda s, a: s.import_apps(a, [record(APP, 10, vendor="Contoso Ltd")]),
    "grant roles": lambda s, a: s.grant_role(a, TARGET, "license-admin"),
    "revoke roles": lambda s, a: s.revoke_role(a, LICENSE_ADMIN.user_id, "license-admin"),
    "list roles": lambda s, a: s.list_roles(a),
    "read the audit log": lambda s, a: s.audit_entries(a),
    "export the audit log": lambda s, a: list(s.export_audit(a)),
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
def roles(service: LicensingService) -> LicensingService:
    service.grant_role(ADMIN, USER_ADMIN.user_id, "user-admin")
    service.grant_role(ADMIN, GRANTED_GLOBAL_ADMIN.user_id, "global-admin")
    add_app(service, APP, 10)
    service.assign(ADMIN, APP, [HOLDER])
    return service


def observe(service: LicensingService) -> tuple:
    """The state each action changes: seats, holders, vendor, role bindings."""
    app = service.app(APP)
    bindings = sorted((b.user_id, b.role) for b in service.list_roles(ADMIN))
    return app.total, app.vendor, service.app_details(APP).users, bindings


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", list(ACTORS))
def test_each_role_may_do_exactly_what_the_spec_table_says(
    roles: LicensingService, engine: Engine, who: str, action: str
) -> None:
    before, rows_before = observe(roles), snapshot(engine)

    if action in MAY[who]:
        ACTIONS[action](roles, ACTORS[who])
        if action in WRITES:
            assert observe(roles) != before
    else:
        with pytest.raises(PermissionDenied) as caught:
            ACTIONS[action](roles, ACTORS[who])
        assert str(caught.value).startswith("You need to be ")
        assert snapshot(engine) == rows_before


@pytest.mark.parametrize(
    ("actor", "action", "message"),
    [
        (BILLING_ADMIN, "assign", "You need to be a license, user or global admin to assign licenses."),
        (LICENSE_ADMIN, "change seats", "You need to be a billing or global admin to add or remove licenses."),
        (LICENSE_ADMIN, "grant roles", "You need to be a global admin to grant roles."),
        (NOBODY, "read the audit log", "You need to be an admin to read the audit log."),
    ],
)
def test_a_refusal_says_which_role_is_needed(roles: LicensingService, actor: Actor, action: str, message: str) -> None:
    with pytest.raises(PermissionDenied) as caught:
        ACTIONS[action](roles, actor)
    assert str(caught.value) == message


def test_the_role_is_checked_when_the_action_runs(roles: LicensingService) -> None:
    assert roles.assign(LICENSE_ADMIN, APP, [TARGET]).seated == [TARGET]
    roles.revoke_role(ADMIN, LICENSE_ADMIN.user_id, "license-admin")

    with pytest.raises(PermissionDenied):
        roles.unassign(LICENSE_ADMIN, APP, [TARGET])
    assert roles.holds(TARGET, APP)


def test_global_admins_from_the_environment_are_listed_and_cannot_be_revoked_here(
    roles: LicensingService, engine: Engine
) -> None:
    listed = {(b.user_id, b.role): b.granted_by for b in roles.list_roles(LICENSE_ADMIN)}
    assert listed[(ADMIN.user_id, "global-admin")] == "LICENSEBOT_GLOBAL_ADMINS"
    assert listed[(GRANTED_GLOBAL_ADMIN.user_id, "global-admin")] == ADMIN.user_id
    assert roles.roles_of(ADMIN.user_id) == {"global-admin"}
    before = snapshot(engine)

    with pytest.raises(InvalidInput, match="through LICENSEBOT_GLOBAL_ADMINS"):
        roles.revoke_role(GRANTED_GLOBAL_ADMIN, ADMIN.user_id, "global-admin")

    assert snapshot(engine) == before
    assert "global-admin" in roles.roles_of(ADMIN.user_id)


def test_a_granted_global_admin_grants_and_revokes_roles(roles: LicensingService) -> None:
    assert roles.grant_role(GRANTED_GLOBAL_ADMIN, TARGET, "billing-admin") is True
    assert roles.roles_of(TARGET) == {"billing-admin"}
    assert roles.set_seats(Actor(TARGET), APP, 12).after == 12

    assert roles.revoke_role(GRANTED_GLOBAL_ADMIN, TARGET, "billing-admin") is True
    assert roles.roles_of(TARGET) == set()


def test_granting_a_held_role_or_revoking_a_missing_one_changes_nothing(
    roles: LicensingService, engine: Engine
) -> None:
    before = snapshot(engine)

    assert roles.grant_role(ADMIN, LICENSE_ADMIN.user_id, "license-admin") is False
    assert roles.revoke_role(ADMIN, TARGET, "billing-admin") is False

    assert snapshot(engine) == before


@pytest.mark.parametrize(("user_id", "role", "field"), [(TARGET, "superuser", "role"), (TARGET, "", "role"),
                                                          ("someone", "license-admin", "users"),
                                                          ("@alice", "license-admin", "users")])
def test_an_unknown_role_or_a_malformed_user_id_is_refused(
    roles: LicensingService, engine: Engine, user_id: str, role: str, field: str
) -> None:
    before = snapshot(engine)

    for change in (roles.grant_role, roles.revoke_role):
        with pytest.raises(InvalidInput) as caught:
            change(ADMIN, user_id, role)
        assert caught.value.field == field
    if field == "role":
        assert "Roles: global-admin, billing-admin, license-admin, user-admin." in str(caught.value)
    assert snapshot(engine) == before


def test_role_names_are_case_insensitive(roles: LicensingService) -> None:
    assert roles.grant_role(ADMIN, TARGET, " User-Admin ") is True
    assert roles.roles_of(TARGET) == {"user-admin"}


def test_approvers_are_license_user_and_global_admins(roles: LicensingService) -> None:
    assert roles.approvers() == sorted(
        [ADMIN.user_id, GRANTED_GLOBAL_ADMIN.user_id, LICENSE_ADMIN.user_id, USER_ADMIN.user_id]
    )


def test_everyone_may_read_the_catalog_and_their_own_licenses(roles: LicensingService) -> None:
    assert [a.name for a in roles.list_apps()] == [APP]
    assert roles.app_details("contoso").users == [HOLDER]
    assert [h.app for h in roles.licenses_of(HOLDER)] == [APP]
    assert roles.roles_of(NOBODY.user_id) == set()
