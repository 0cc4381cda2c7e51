"""SPEC §6: apps, groups and people match whatever the case, the accents and the Unicode form, in the core
(commands and the CLI resolve apps through it), the in-memory directory and the Slack directory's index.

The core's tests run on SQLite and PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import unicodedata

import pytest

from bot.directory import Group, InMemoryDirectory, User
from bot.errors import AmbiguousApp, UnknownApp
from bot.names import fold
from bot.service import LicensingService
from handlers.slack.directory import GroupIndex
from tests.support.core import ADMIN, record

EDITEUR = "Éditeur Café Crème"
DECOMPOSED_E = unicodedata.normalize("NFD", "É")  # "E" + U+0301 COMBINING ACUTE ACCENT
EQUIPE = Group("SEQUIPE1", "equipe-ventes", "Équipe Ventes", ("U00000E1",))


def test_fold_ignores_case_accents_and_unicode_form() -> None:
    assert len(DECOMPOSED_E) == 2
    folded = fold(EDITEUR)
    assert folded == "editeur cafe creme"
    for typed in ("editeur cafe creme", "EDITEUR CAFE CREME", DECOMPOSED_E + "diteur  Café Crème",
                  unicodedata.normalize("NFD", EDITEUR), "ＥＤＩＴＥＵＲ cafe creme"):  # full-width letters too
        assert fold(typed) == folded, typed
    assert fold("Straße") == fold("STRASSE")


@pytest.fixture
def apps(service: LicensingService) -> LicensingService:
    service.catalog.import_apps(ADMIN, [record(EDITEUR, vendor="Crème Logiciels"), record("Contoso CRM"),
                                        record("Café Noir", vendor="Noir")])
    return service


@pytest.mark.parametrize("typed", ["editeur", "EDITEUR", DECOMPOSED_E + "diteur", "éditeur café crème",
                                   '"editeur cafe creme"', "\u201cEDITEUR CAFE\u201d",
                                   unicodedata.normalize("NFD", EDITEUR)])
def test_an_app_is_found_whatever_the_accents_case_and_form(apps: LicensingService, typed: str) -> None:
    assert apps.catalog.resolve_name(typed) == EDITEUR
    assert apps.catalog.app(typed).name == EDITEUR


def test_an_accent_free_prefix_shared_by_two_apps_is_ambiguous_and_names_both(apps: LicensingService) -> None:
    apps.catalog.import_apps(ADMIN, [record("Cafe Latte")])
    with pytest.raises(AmbiguousApp) as caught:
        apps.catalog.resolve_name("cafe")
    assert set(caught.value.facts["candidates"]) == {"Café Noir", "Cafe Latte"}


def test_an_unknown_app_suggests_accented_names_from_an_accent_free_typo(apps: LicensingService) -> None:
    with pytest.raises(UnknownApp) as caught:
        apps.catalog.resolve_name("editeur cafe crem x")
    assert EDITEUR in caught.value.facts["candidates"]


def test_the_app_typeahead_finds_by_name_or_vendor_folded(apps: LicensingService) -> None:
    assert apps.catalog.find_apps("EDITEUR") == [EDITEUR]
    assert apps.catalog.find_apps("creme") == [EDITEUR]  # in the name and the vendor: once
    assert apps.catalog.find_apps("logiciels") == [EDITEUR]  # the vendor alone
    assert apps.catalog.find_apps("cafe") == ["Café Noir", EDITEUR]  # by folded name
    assert apps.catalog.find_apps("noir cafe") == ["Café Noir"]  # every word
    assert apps.catalog.find_apps("100%") == []  # LIKE's wildcards are plain characters
    assert apps.catalog.find_apps("_") == []
    assert len(apps.catalog.find_apps("", 2)) == 2


@pytest.mark.parametrize("typed", ["equipe", "EQUIPE", DECOMPOSED_E + "quipe", "@equipe-ventes", "ventes"])
def test_groups_are_found_whatever_the_accents_in_both_directories(typed: str) -> None:
    others = [Group(f"SOTHER{i:03d}", f"team-{i}", f"Team {i}") for i in range(30)]
    memory = InMemoryDirectory(groups=[EQUIPE, *others])
    assert [g.id for g in memory.search_groups(typed)] == [EQUIPE.id]
    index = GroupIndex([EQUIPE, *others])
    assert index.search(typed, 10) == [EQUIPE.id]


def test_people_and_handles_are_found_by_name_whatever_the_accents() -> None:
    directory = InMemoryDirectory(groups=[EQUIPE], users=[User("U00000Z1", "zoé.martin", "Zoé Martin")])
    assert directory.user_by_name("@ZOE.MARTIN") is not None
    assert directory.user_by_name("zoe\u0301.martin") is not None
    assert directory.group_by_handle("@EQUIPE-VENTES") == EQUIPE
