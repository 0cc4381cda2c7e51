"""SPEC §1 App: names unique case-insensitively, resolution of a typed name, the seat counts.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.catalog import CatalogService
from bot.domain import AppSummary
from bot.errors import AmbiguousApp, AppNameMissing, DuplicateEntry, NotEnoughLicenses, UnknownApp
from bot.service import LicensingService
from storage.models import AppRow, AuditRow
from tests.support.core import ADMIN, record, snapshot

APPS = ["Contoso CRM", "Contoso Mail", "Zoom", "Zoom Rooms", "Figma"]


@pytest.fixture
def catalog(service: LicensingService) -> CatalogService:
    service.catalog.import_apps(ADMIN, [record(name) for name in APPS])
    return service.catalog


# ------------------------------------------------------------------ import and unique names
def test_import_creates_apps_with_every_field(service: LicensingService) -> None:
    results = service.catalog.import_apps(
        ADMIN,
        [
            record(
                "Contoso CRM",
                25,
                vendor="Contoso Ltd",
                provider_contact="sales@contoso.example",
                install_url="https://contoso.example/install",
                renewal_date=dt.date(2027, 3, 1),
                notes="EU tenant",
            ),
            record("Fabrikam Design", 5, purchased_via="provider", provider_contact="reseller@fabrikam.example"),
        ],
    )

    assert results == [("Contoso CRM", "created"), ("Fabrikam Design", "created")]
    crm, fabrikam = service.catalog.list_apps()
    assert crm.as_json() == {
        "name": "Contoso CRM",
        "vendor": "Contoso Ltd",
        "purchased_via": "marketplace",
        "seats": 25,
        "assigned": 0,
        "available": 25,
        "waiting": 0,
        "provider_contact": "sales@contoso.example",
        "install_url": "https://contoso.example/install",
        "renewal_date": "2027-03-01",
        "notes": "EU tenant",
        "low_seat_threshold": None,
    }
    assert (fabrikam.name, fabrikam.purchased_via, fabrikam.total) == ("Fabrikam Design", "provider", 5)
    assert not fabrikam.is_marketplace


def test_import_updates_an_app_in_place_when_the_name_differs_only_in_case(service: LicensingService) -> None:
    service.catalog.import_apps(ADMIN, [record("Contoso CRM", 10, vendor="Contoso")])

    assert service.catalog.import_apps(ADMIN, [record("CONTOSO crm", 12, vendor="Contoso Ltd")]) == [("CONTOSO crm", "updated")]
    assert service.catalog.import_apps(ADMIN, [record("CONTOSO crm", 12, vendor="Contoso Ltd")]) == [
        ("CONTOSO crm", "unchanged")
    ]

    [app] = service.catalog.list_apps()
    assert (app.name, app.vendor, app.total) == ("CONTOSO crm", "Contoso Ltd", 12)


def test_import_refuses_a_file_naming_one_app_twice_in_any_case(
    service: LicensingService, engine: Engine
) -> None:
    before = snapshot(engine)

    with pytest.raises(DuplicateEntry) as caught:
        service.catalog.import_apps(ADMIN, [record("Contoso CRM"), record("Figma"), record("contoso  CRM")])

    assert caught.value.facts == {"index": 3, "name": "contoso  CRM", "first": 1}
    assert snapshot(engine) == before


def test_database_refuses_two_apps_whose_names_differ_only_in_case(catalog: CatalogService, engine: Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    row = {"vendor": "", "total_seats": 1, "purchased_via": "marketplace", "provider_contact": "", "install_url": "",
           "notes": "", "created_at": now, "updated_at": now}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(AppRow), {"name": "FIGMA", "name_key": "figma", **row})


# ------------------------------------------------------------------ resolving a typed name
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Contoso CRM", "Contoso CRM"),
        ("contoso crm", "Contoso CRM"),
        ("CONTOSO CRM", "Contoso CRM"),
        ('"Contoso CRM"', "Contoso CRM"),
        ("'contoso crm'", "Contoso CRM"),
        ("\u201cContoso CRM\u201d", "Contoso CRM"),
        ("  contoso    crm ", "Contoso CRM"),
        ("fig", "Figma"),  # a unique prefix is enough
        ("Contoso C", "Contoso CRM"),
        ('"contoso m"', "Contoso Mail"),
        ("zoom", "Zoom"),  # an exact name wins over being a prefix of "Zoom Rooms"
        ("zoom r", "Zoom Rooms"),
    ],
)
def test_an_app_is_found_by_name_any_case_quotes_optional_or_a_unique_prefix(
    catalog: CatalogService, query: str, expected: str
) -> None:
    assert catalog.resolve_name(query) == expected
    assert catalog.app(query).name == expected


@pytest.mark.parametrize(
    ("query", "candidates"),
    [
        ("contoso", ["Contoso CRM", "Contoso Mail"]),
        ('"CONTOSO"', ["Contoso CRM", "Contoso Mail"]),
        ("zo", ["Zoom", "Zoom Rooms"]),
    ],
)
def test_a_prefix_of_several_apps_is_ambiguous_and_lists_them(
    catalog: CatalogService, query: str, candidates: list[str]
) -> None:
    with pytest.raises(AmbiguousApp) as caught:
        catalog.resolve_name(query)
    assert caught.value.candidates == candidates


@pytest.mark.parametrize(
    ("query", "expected_candidate"),
    [("Contso CRM", "Contoso CRM"), ("figmaa", "Figma"), ("Rooms", "Zoom Rooms")],
)
def test_an_unknown_app_says_so_and_suggests_candidates(
    catalog: CatalogService, query: str, expected_candidate: str
) -> None:
    with pytest.raises(UnknownApp) as caught:
        catalog.details(query)
    assert expected_candidate in caught.value.candidates
    assert caught.value.query == query


def test_an_unknown_app_in_a_small_catalog_lists_every_app(catalog: CatalogService) -> None:
    with pytest.raises(UnknownApp) as caught:
        catalog.resolve_name("Jira")
    assert sorted(caught.value.candidates) == sorted(APPS)


@pytest.mark.parametrize("query", ["", "   ", '""'])
def test_an_empty_name_is_invalid_input(catalog: CatalogService, query: str) -> None:
    with pytest.raises(AppNameMissing):
        catalog.resolve_name(query)


# ------------------------------------------------------------------ assigned / available / total
def test_counts_are_distinct_users_and_available_is_total_minus_assigned(service: LicensingService) -> None:
    service.catalog.import_apps(ADMIN, [record("Contoso CRM", 10), record("Figma", 3)])
    # U00000A3 is in both groups and assigned directly: one seat
    service.assignments.assign(ADMIN, "Contoso CRM", ["U00000A3", "UDIRECT1"], ["SDESIGN1", "SENGINE1"])

    counts = {a.name: (a.assigned, a.available, a.total) for a in service.catalog.list_apps()}
    assert counts == {"Contoso CRM": (6, 4, 10), "Figma": (0, 3, 3)}
    details = service.catalog.details("contoso crm")
    assert details.users == sorted(["U00000A1", "U00000A2", "U00000A3", "U00000B1", "U00000B2", "UDIRECT1"])
    assert details.direct_users == ["U00000A3", "UDIRECT1"]
    assert [g.group_id for g in details.groups] == ["SDESIGN1", "SENGINE1"]


def test_available_is_never_below_zero_even_if_the_total_was_cut_under_assigned(
    service: LicensingService, engine: Engine
) -> None:
    service.catalog.import_apps(ADMIN, [record("Contoso CRM", 3)])
    service.assignments.assign(ADMIN, "Contoso CRM", ["U00000001", "U00000002", "U00000003"])
    with engine.begin() as conn:  # e.g. an operator's manual SQL: the bot must still not count negative seats
        conn.execute(update(AppRow).values(total_seats=1))

    [app] = service.catalog.list_apps()
    assert (app.total, app.assigned, app.available) == (1, 3, 0)
    assert AppSummary(**{**app.__dict__, "total": 0, "assigned": 5}).available == 0
    with pytest.raises(NotEnoughLicenses) as caught:
        service.assignments.assign(ADMIN, "Contoso CRM", ["U00000004"])
    assert (caught.value.needed, caught.value.available) == (1, 0)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == "assign")) == 1


def test_an_unknown_name_is_echoed_without_control_characters(service: LicensingService) -> None:
    with pytest.raises(UnknownApp) as caught:
        service.catalog.app("evil\x1b[31m\u202egpj.exe\x00")
    assert all(ch.isprintable() for ch in caught.value.query)
    assert caught.value.query.startswith("evil")
