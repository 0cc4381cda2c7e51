"""Actors, sample apps and small helpers shared by the core's tests."""

from __future__ import annotations

from sqlalchemy import Engine, select

from bot.app_records import AppRecord
from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.models import AuditRow, Base

ADMIN = Actor("UADMIN01")  # made a global admin through the service's env list
LICENSE_ADMIN = Actor("ULICADM1")
BILLING_ADMIN = Actor("UBILLADM")
NOBODY = Actor("UNOBODY1")

# the `directory` fixture's groups
DESIGN = "SDESIGN1"  # U00000A1, U00000A2, U00000A3
ENGINEERING = "SENGINE1"  # U00000A3, U00000B1, U00000B2
A1, A2, A3, B1, B2 = "U00000A1", "U00000A2", "U00000A3", "U00000B1", "U00000B2"


def record(name: str, seats: int = 10, **fields: object) -> AppRecord:
    return AppRecord(name=name, seats=seats, purchased_via=fields.pop("purchased_via", "marketplace"), **fields)


def add_app(service: LicensingService, name: str = "Contoso CRM", seats: int = 10, **fields: object) -> str:
    service.catalog.import_apps(ADMIN, [record(name, seats, **fields)])
    return name


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table: to show that a refused change wrote nothing."""
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in Base.metadata.sorted_tables}


def audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(AuditRow.action).order_by(AuditRow.id)))


def sync_members(
    service: LicensingService, directory: InMemoryDirectory, group_id: str, members: list[str], actor: Actor = ADMIN
):  # -> MembershipOutcome
    """The directory's group now has these members; the bot applies them (as a sync or an event would)."""
    directory.set_members(group_id, members)
    group = directory.group(group_id)
    assert group is not None
    return service.membership.apply_group(actor, group)


def seat_state(service: LicensingService, app: str) -> tuple[list[str], list[str]]:
    """(users holding a seat, sorted; users waiting, oldest first)."""
    details = service.catalog.details(app)
    return details.users, details.waiting
