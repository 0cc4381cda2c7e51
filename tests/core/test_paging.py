"""SPEC §6 at size, in the core: `/licenses list [WORDS]` and `/licenses requests` come a page at a time,
with the total, so no door cuts silently (151 apps, 60 pending requests). SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.domain import Actor
from bot.errors import PermissionDenied
from bot.service import LicensingService
from tests.support.core import ADMIN, LICENSE_ADMIN, NOBODY, record

APPS = [f"App {i:03d}" for i in range(1, 150)] + ["Éditeur Café Crème", "Contoso CRM"]  # 151


@pytest.fixture
def big(service: LicensingService) -> LicensingService:
    service.catalog.import_apps(ADMIN, [record(n, vendor="Contoso Ltd" if n.startswith("App 00") else "Acme")
                                        for n in APPS])
    return service


def test_151_apps_come_in_pages_of_20_and_every_app_is_on_one(big: LicensingService) -> None:
    seen: list[str] = []
    for number in range(1, 9):
        page = big.catalog.list_page("", number, 20)
        assert page.total == 151 and page.number == number and page.pages == 8
        assert page.has_previous == (number > 1) and page.has_next == (number < 8)
        seen += [a.name for a in page.items]
    assert len(seen) == 151 and set(seen) == set(APPS)
    assert seen.index("Contoso CRM") < seen.index("Éditeur Café Crème")  # by folded name: "e" after "c"
    assert big.catalog.list_page("", 99, 20).number == 8  # a stale "Next" lands on the last page
    assert big.catalog.list_page("", 0, 20).number == 1


def test_the_list_filters_by_name_or_vendor_whatever_the_accents(big: LicensingService) -> None:
    contoso = big.catalog.list_page("contoso", 1, 20)
    assert contoso.total == 10  # Contoso CRM by name, App 001–009 by vendor
    assert [a.name for a in contoso.items][:2] == ["App 001", "App 002"] and "Contoso CRM" in [
        a.name for a in contoso.items]
    assert [a.name for a in big.catalog.list_page("EDITEUR creme", 1, 20).items] == ["Éditeur Café Crème"]
    assert [a.name for a in big.catalog.list_page('"contoso crm"', 1, 20).items] == ["Contoso CRM"]
    assert big.catalog.list_page("nothing like this", 1, 20).total == 0


def test_60_pending_requests_come_in_three_pages_oldest_first(big: LicensingService) -> None:
    for i in range(60):
        big.requests.create(Actor(f"U{i:08d}"), "App 001", f"need {i}")
    pages = [big.requests.pending_page(LICENSE_ADMIN, n, 20) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [60, 60, 60]
    ids = [r.id for p in pages for r in p.items]
    assert ids == sorted(ids) and len(set(ids)) == 60
    assert pages[0].has_next and not pages[0].has_previous and not pages[2].has_next
    with pytest.raises(PermissionDenied):
        big.requests.pending_page(NOBODY, 1, 20)
