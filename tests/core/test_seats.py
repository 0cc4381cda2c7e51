"""SPEC §1 seat changes: marketplace apps only, never below `assigned`, whole numbers only.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.domain import MAX_SEATS
from bot.errors import InvalidInput, ProviderPurchase, SeatsBelowAssigned
from bot.service import LicensingService
from tests.support.core import ADMIN, BILLING_ADMIN, DESIGN, ENGINEERING, add_app, audit_actions, snapshot


@pytest.fixture
def crm(service: LicensingService) -> str:
    """10 seats, 5 assigned (design and engineering)."""
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN, ENGINEERING])
    return app


@pytest.mark.parametrize("total", [25, 7, 5])
def test_a_billing_admin_adds_or_removes_seats_down_to_assigned(
    service: LicensingService, engine: Engine, crm: str, total: int
) -> None:
    outcome = service.assignments.set_seats(BILLING_ADMIN, crm, total)

    assert (outcome.before, outcome.after, outcome.replayed) == (10, total, False)
    summary = service.catalog.app(crm)
    assert (summary.total, summary.assigned, summary.available) == (total, 5, total - 5)
    assert audit_actions(engine)[-1] == "seats"


@pytest.mark.parametrize(("total", "to_unassign"), [(4, 1), (0, 5)])
def test_seats_cannot_go_below_assigned_and_the_error_says_how_many_to_unassign(
    service: LicensingService, engine: Engine, crm: str, total: int, to_unassign: int
) -> None:
    before = snapshot(engine)

    with pytest.raises(SeatsBelowAssigned) as caught:
        service.assignments.set_seats(BILLING_ADMIN, crm, total)

    assert (caught.value.assigned, caught.value.requested, caught.value.to_unassign) == (5, total, to_unassign)
    assert caught.value.field == "total"
    assert snapshot(engine) == before


@pytest.mark.parametrize("actor", [ADMIN, BILLING_ADMIN], ids=["global-admin", "billing-admin"])
@pytest.mark.parametrize("total", [30, 10])
def test_a_provider_app_refuses_seat_changes_and_names_the_contact(
    service: LicensingService, engine: Engine, actor, total: int
) -> None:
    app = add_app(service, "Fabrikam Design", 10, purchased_via="provider", provider_contact="reseller@fabrikam.example")
    before = snapshot(engine)

    with pytest.raises(ProviderPurchase) as caught:
        service.assignments.set_seats(actor, app, total)

    assert (caught.value.app, caught.value.contact) == ("Fabrikam Design", "reseller@fabrikam.example")
    assert snapshot(engine) == before


def test_a_provider_app_without_a_contact_points_to_the_provider(service: LicensingService) -> None:
    app = add_app(service, "Fabrikam Design", 10, purchased_via="provider")

    with pytest.raises(ProviderPurchase) as caught:
        service.assignments.set_seats(ADMIN, app, 11)
    assert caught.value.contact == ""  # the door says "contact the provider"


@pytest.mark.parametrize("value", ["-1", "12.5", "ten", "", "  ", None, True, "1e3", str(MAX_SEATS + 1)])
def test_seats_must_be_a_whole_number_in_range(
    service: LicensingService, engine: Engine, crm: str, value: object
) -> None:
    before = snapshot(engine)

    with pytest.raises(InvalidInput) as caught:
        service.assignments.set_seats(ADMIN, crm, value)

    assert caught.value.field == "total"
    assert snapshot(engine) == before


@pytest.mark.parametrize(("value", "total"), [("12", 12), (" 15 ", 15), ("1,000", 1000), (20, 20), ("+8", 8)])
def test_seats_accept_the_ways_people_type_a_number(
    service: LicensingService, crm: str, value: object, total: int
) -> None:
    assert service.assignments.set_seats(ADMIN, crm, value).after == total
    assert service.catalog.app(crm).total == total


@pytest.mark.parametrize("value", ["²", "٣", "1e3", "-1", "", None, True, "3.0"])
def test_seats_must_be_plain_ascii_whole_numbers(service: LicensingService, value: object) -> None:
    app = add_app(service, seats=5)
    with pytest.raises(InvalidInput):
        service.assignments.set_seats(ADMIN, app, value)
    assert service.catalog.app(app).total == 5


def test_saving_the_same_total_changes_and_audits_nothing(service: LicensingService) -> None:
    app = add_app(service, seats=5)
    before = len(service.audit.latest(ADMIN, limit=200))
    outcome = service.assignments.set_seats(ADMIN, app, "5")
    assert (outcome.before, outcome.after, outcome.filled) == (5, 5, [])
    assert len(service.audit.latest(ADMIN, limit=200)) == before
