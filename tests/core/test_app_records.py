"""SPEC §5 in the core: app records from files and from Slack. A key left out keeps its value and null clears
it; a dry run writes nothing; add, edit and retire (refused while assigned, and for a non-billing admin),
each audited. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from bot.app_records import AppRecord, RecordChange
from bot.errors import (
    AppInUse,
    AppNameTaken,
    EntryBelowAssigned,
    EntryMissingField,
    PermissionDenied,
    SeatsBelowAssigned,
    UnknownApp,
)
from bot.service import LicensingService
from storage.models import AuditRow
from tests.support.core import A1, ADMIN, BILLING_ADMIN, LICENSE_ADMIN, audit_actions, snapshot

FULL = {"name": "Contoso CRM", "vendor": "Contoso Ltd", "seats": 5, "purchased_via": "marketplace",
        "provider_contact": "sales@contoso.example", "install_url": "https://contoso.example/install",
        "renewal_date": "2027-03-01", "notes": "EU tenant", "low_seat_threshold": 2}


def rec(**fields: object) -> AppRecord:
    return AppRecord.model_validate(fields)


@pytest.fixture
def crm(service: LicensingService) -> LicensingService:
    service.records.import_records(ADMIN, [rec(**FULL)])
    return service


def test_a_partial_re_import_keeps_every_field_it_leaves_out(crm: LicensingService) -> None:
    changes = crm.records.import_records(ADMIN, [rec(name="Contoso CRM", seats=8)])
    assert changes == [RecordChange("Contoso CRM", "updated", ("seats",))]
    app = crm.catalog.app("Contoso CRM")
    assert (app.vendor, app.install_url, app.renewal_date, app.notes, app.low_seat_threshold, app.total) == (
        "Contoso Ltd", "https://contoso.example/install", dt.date(2027, 3, 1), "EU tenant", 2, 8)
    assert crm.records.import_records(ADMIN, [rec(name="Contoso CRM")]) == [RecordChange("Contoso CRM", "unchanged")]


def test_null_clears_a_field(crm: LicensingService) -> None:
    changes = crm.records.import_records(ADMIN, [rec(name="Contoso CRM", vendor=None, renewal_date=None,
                                                     low_seat_threshold=None, install_url=None)])
    assert changes == [RecordChange("Contoso CRM", "updated",
                                    ("install_url", "low_seat_threshold", "renewal_date", "vendor"))]
    app = crm.catalog.app("Contoso CRM")
    assert (app.vendor, app.install_url, app.renewal_date, app.low_seat_threshold, app.notes) == (
        "", "", None, None, "EU tenant")


def test_a_dry_run_answers_the_same_and_writes_nothing(crm: LicensingService, engine: Engine) -> None:
    crm.records.import_records(ADMIN, [rec(name="Zeta", seats=1, purchased_via="marketplace")])
    before = snapshot(engine)
    changes = crm.records.import_records(ADMIN, [rec(name="Contoso CRM", vendor="Contoso SA", notes=None),
                                                 rec(name="Fabrikam", seats=3, purchased_via="provider"),
                                                 rec(name="Zeta", seats=1)], dry_run=True)
    assert changes == [RecordChange("Contoso CRM", "updated", ("notes", "vendor")),
                       RecordChange("Fabrikam", "created"), RecordChange("Zeta", "unchanged")]
    assert snapshot(engine) == before


def test_a_new_app_needs_seats_and_channel_and_a_file_lowering_seats_is_refused_whole(
    crm: LicensingService, engine: Engine
) -> None:
    crm.assignments.assign(ADMIN, "Contoso CRM", [A1, "U00000A9"], [])
    before = snapshot(engine)
    with pytest.raises(EntryMissingField) as missing:
        crm.records.import_records(ADMIN, [rec(name="Contoso CRM", vendor="x"), rec(name="New", seats=2)])
    assert missing.value.facts == {"index": 2, "name": "New", "needs": "purchased_via"}
    with pytest.raises(EntryBelowAssigned) as below:
        crm.records.import_records(ADMIN, [rec(name="Contoso CRM", seats=1)])
    assert below.value.facts == {"index": 1, "name": "Contoso CRM", "seats": 1, "assigned": 2}
    assert snapshot(engine) == before


def test_add_edit_and_retire_from_slack_each_audited(service: LicensingService, engine: Engine) -> None:
    added = service.records.create(BILLING_ADMIN, rec(name="Éditeur Café Crème", seats=4, purchased_via="provider",
                                                      provider_contact="+33 1 23 45 67 89"), idempotency_key="k1")
    assert (added.name, added.total, added.provider_contact) == ("Éditeur Café Crème", 4, "+33 1 23 45 67 89")
    again = service.records.create(BILLING_ADMIN, rec(name="Éditeur Café Crème", seats=4, purchased_via="provider"),
                                   idempotency_key="k1")  # a double submit acts once
    assert again.name == added.name
    with pytest.raises(AppNameTaken):
        service.records.create(ADMIN, rec(name="éditeur café crème", seats=1, purchased_via="marketplace"))
    edited, fields = service.records.update(BILLING_ADMIN, "editeur", rec(
        name="Éditeur Café Crème Pro", vendor="Crème SA", seats=6, low_seat_threshold=1))
    assert fields == ("low_seat_threshold", "name", "seats", "vendor")
    assert (edited.name, edited.vendor, edited.total, edited.low_seat_threshold) == (
        "Éditeur Café Crème Pro", "Crème SA", 6, 1)
    assert service.catalog.resolve_name("editeur cafe creme pro") == "Éditeur Café Crème Pro"
    retired = service.records.retire(BILLING_ADMIN, "Éditeur Café Crème Pro")
    assert retired.name == "Éditeur Café Crème Pro"
    assert service.catalog.list_apps() == [] and service.catalog.find_apps("") == []
    assert service.catalog.list_page("editeur").total == 0
    with pytest.raises(UnknownApp):
        service.catalog.resolve_name("Éditeur Café Crème Pro")
    assert [e.action for e in service.audit.latest(ADMIN, "Éditeur Café Crème Pro")] == [
        "app.retire", "app.update"]  # the audit stays readable (entries carry the name the app had then)
    assert audit_actions(engine).count("app.create") == 1
    with pytest.raises(AppNameTaken) as taken:
        service.records.create(ADMIN, rec(name="Éditeur Café Crème Pro", seats=1, purchased_via="marketplace"))
    assert taken.value.retired
    assert service.records.import_records(ADMIN, [rec(name="Éditeur Café Crème Pro", seats=9)]) == [
        RecordChange("Éditeur Café Crème Pro", "retired")]  # a catalog file never brings it back silently
    with engine.connect() as conn:
        detail = conn.scalar(select(AuditRow.detail).where(AuditRow.action == "app.update"))
    assert detail["before"]["vendor"] == "" and detail["after"]["vendor"] == "Crème SA"


def test_retire_is_refused_while_anything_is_assigned(crm: LicensingService, engine: Engine) -> None:
    crm.assignments.assign(ADMIN, "Contoso CRM", [A1], ["SDESIGN1"])
    before = snapshot(engine)
    with pytest.raises(AppInUse) as caught:
        crm.records.retire(ADMIN, "Contoso CRM")
    assert caught.value.facts == {"app": "Contoso CRM", "users": 1, "groups": 1, "requests": 0}
    assert snapshot(engine) == before


def test_an_edit_below_the_assigned_seats_is_refused_on_the_field(crm: LicensingService) -> None:
    crm.assignments.assign(ADMIN, "Contoso CRM", [A1, "U00000A9"], [])
    with pytest.raises(SeatsBelowAssigned) as caught:
        crm.records.update(BILLING_ADMIN, "Contoso CRM", rec(name="Contoso CRM", seats=1))
    assert caught.value.field == "total"


@pytest.mark.parametrize("call", ["create", "update", "retire"])
def test_a_license_admin_may_not_change_app_records(crm: LicensingService, engine: Engine, call: str) -> None:
    before = snapshot(engine)
    with pytest.raises(PermissionDenied):
        if call == "create":
            crm.records.create(LICENSE_ADMIN, rec(name="New", seats=1, purchased_via="marketplace"))
        elif call == "update":
            crm.records.update(LICENSE_ADMIN, "Contoso CRM", rec(name="Contoso CRM", vendor="x"))
        else:
            crm.records.retire(LICENSE_ADMIN, "Contoso CRM")
    assert snapshot(engine) == before
