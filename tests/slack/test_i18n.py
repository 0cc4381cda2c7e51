"""handlers/slack/i18n.py: who reads decides the language, per context, carried into background work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from slack_sdk.models.views import View

from bot.directory import InMemoryDirectory
from bot.domain import (
    AppDetails,
    AppOverview,
    AppSummary,
    Assignee,
    Rights,
    Role,
    SourceKind,
    UnassignOutcome,
    UnassignPreview,
)
from bot.errors import NotEnoughLicenses
from handlers.slack import i18n, ui
from handlers.slack.deps import Background
from handlers.slack.features import assign, home, records, seats, unassign
from handlers.slack.features import details as detail_views
from tests.support.fake_slack import checks

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("tag", "locale"), [("fr-FR", "fr"), ("fr_CA", "fr"), ("FR", "fr"), ("en-GB", "en"),
                                             ("de-DE", None), ("", None), (None, None)])
def test_slack_locales_map_to_the_languages_we_speak(tag: str | None, locale: str | None) -> None:
    assert i18n.supported(tag) == locale


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_dates_and_numbers_read_as_babels_cldr_formats_them(locale: str) -> None:
    """i18n writes out CLDR's medium date and decimal number (Babel's data would stay in serve's memory):
    they must read exactly as Babel formats them, for every day of a leap year and a range of numbers."""
    from babel.dates import format_date
    from babel.numbers import format_decimal

    days = [dt.date(2028, 1, 1) + dt.timedelta(days=n) for n in range(366)] + [dt.date(1999, 12, 31)]
    numbers: list[int | float] = [0, 7, -999, 1000, -1000, 1234567, 10**12, 2**31 - 1,
                                  0.5, 12.0, 1000.25, -1234.5, 0.1234, 0.0005, 0.0015, 2.0004, 123456.789]
    with i18n.speaking(locale):
        assert [i18n.date(d) for d in days] == [format_date(d, format="medium", locale=locale) for d in days]
        assert [i18n.number(n) for n in numbers] == [format_decimal(n, locale=locale) for n in numbers]


def test_the_reader_s_language_applies_inside_speaking_only() -> None:
    error = NotEnoughLicenses(3, 1)
    with i18n.speaking("fr-FR"):
        assert ui.say(error) == "Licences insuffisantes : 3 nécessaires, 1 disponibles"
        assert (i18n.date(dt.date(2027, 3, 1)), i18n.number(12000)) == ("1 mars 2027", "12\u202f000")
    assert ui.say(error) == "Not enough licenses: 3 needed, 1 available"
    assert (i18n.date(dt.date(2027, 3, 1)), i18n.number(12000)) == ("Mar 1, 2027", "12,000")


def test_a_language_we_do_not_speak_falls_back_to_the_default() -> None:
    with i18n.speaking("de-DE") as locale:
        assert locale == i18n.default() == "en"


def test_background_work_speaks_the_language_of_the_request_that_queued_it() -> None:
    lane = Background(1, "test")
    try:
        with i18n.speaking("fr"):
            queued = lane(i18n.current)
        assert queued.result(5) == "fr"
        assert lane(i18n.current).result(5) == "en"
    finally:
        lane.shutdown()


# ------------------------------------------------------------------ the French catalog is complete
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
SOURCES = [ROOT / "handlers" / "words.py", *sorted((ROOT / "handlers" / "slack").rglob("*.py"))]


def extracted() -> list[tuple[str | None, str | tuple[str, ...], str]]:
    found = []
    for path in SOURCES:
        for lineno, message, _comments, context in extract_from_file("python", str(path), keywords=KEYWORDS):
            found.append((context, message, f"{path.relative_to(ROOT)}:{lineno}"))
    return found


def french() -> Catalog:
    with (i18n.LOCALES_DIR / "fr" / "LC_MESSAGES" / "licensebot.po").open("rb") as source:
        return read_po(source, locale="fr")


def placeholders(text: str) -> set[str]:
    return {name for _text, name, _spec, _conv in Formatter().parse(text) if name is not None}


def test_every_word_the_slack_door_translates_has_its_french() -> None:
    """Fails when a string inside _(), ngettext() or pgettext() has no French, or its French drops or invents
    a placeholder (which would raise KeyError, or show a raw {name}, to a French reader)."""
    catalog = french()
    found = extracted()
    assert len(found) > 100  # the extraction works
    problems = []
    for context, message, where in found:
        entry = catalog.get(message if isinstance(message, str) else message[0], context=context)
        if entry is None or not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            problems.append(f"{where}: no French for {message!r}")
            continue
        english = [message] if isinstance(message, str) else list(message)
        translated = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        # each plural form against the English form of the same rank (a singular may leave {count} out)
        if any(placeholders(t) != placeholders(english[min(i, len(english) - 1)]) for i, t in enumerate(translated)):
            problems.append(f"{where}: the French of {message!r} has other placeholders: {translated}")
    assert problems == []


# ------------------------------------------------------------------ the contractual words of SPEC §10, in the views
def summary(total: int = 5, assigned: int = 2) -> AppSummary:
    return AppSummary(name="Contoso CRM", vendor="Contoso", purchased_via="marketplace", total=total,
                      assigned=assigned, waiting=0, provider_contact="sales@contoso.example",
                      install_url="https://contoso.example/install", renewal_date=None, notes="")


def words(view: dict) -> tuple[str, str | None, str]:
    return view["title"]["text"], (view.get("submit") or {}).get("text"), view["close"]["text"]


def every_view() -> dict[str, dict]:
    app = summary()
    details = AppDetails(app=app, users=["U0ANN001"], direct_users=["U0ANN001"], groups=[], waiting=[])
    overview = AppOverview(app, [Assignee(SourceKind.USER, "U0ANN001", seated=True)], 1, [], 0, [], 1)
    preview = UnassignPreview(app=app, users=["U0ANN001"], groups=[], frees=["U0ANN001"], keeps=[])
    return {
        "assign": assign.assign_view("Contoso CRM"),
        "unassign": unassign.picker_view(details, InMemoryDirectory()),
        "confirm": unassign.confirm_view(preview),
        "seats": seats.seats_view(app),
        "details": detail_views.details_view(overview, Rights(frozenset(Role), holds=True)),
        "add": records.record_view(None),
        "edit": records.record_view(app),
        "retire": records.retire_view(app),
        "home": home.home_view(home.HomeData("U0ANN001", held=[], apps=[app], pending=[], admin=True)),
    }


def test_a_french_reader_reads_the_admin_centers_words() -> None:
    with i18n.speaking("fr-FR"):
        views = every_view()
        assert words(views["assign"]) == ("Attribuer des licences", "Attribuer", "Annuler")
        assert words(views["unassign"]) == ("Annuler l'attribution", "Suivant", "Annuler")
        assert words(views["confirm"]) == ("Annuler l'attribution", "Annuler l'attribution", "Annuler")
        assert words(views["seats"]) == ("Modifier les licences", "Enregistrer", "Annuler")
        assert [b["label"]["text"] for b in views["assign"]["blocks"] if b["type"] == "input"] == [
            "Utilisateurs", "Groupes", "Jusqu'au"]
        assert [b["label"]["text"] for b in views["seats"]["blocks"] if b["type"] == "input"] == [
            "Nombre total de licences"]
        assert [b["label"]["text"] for b in views["unassign"]["blocks"] if b["type"] == "input"] == [
            "Utilisateurs et groupes"]
        assert [e["text"]["text"] for e in views["details"]["blocks"][-1]["elements"]] == [
            "Attribuer des licences", "Annuler l'attribution", "Récupérer des licences",
            "Ajouter ou supprimer des licences", "Installer ce produit", "Modifier l'application"]
        assert words(views["add"]) == ("Ajouter une application", "Ajouter", "Annuler")
        assert words(views["edit"]) == ("Modifier l'application", "Enregistrer", "Annuler")
        assert views["details"]["close"]["text"] == "Fermer"
        assert ui.say(NotEnoughLicenses(3, 1)).startswith("Licences insuffisantes")
        assert unassign.done_view(UnassignOutcome(summary(), ["U0ANN001"], [], ["U0ANN001"], []))[
            "title"]["text"] == "Attribution annulée"
    assert words(every_view()["seats"]) == ("Add or remove licenses", "Save", "Cancel")  # English outside


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_view_fits_slacks_limits_in_both_languages(locale: str) -> None:
    with i18n.speaking(locale):
        for name, view in every_view().items():
            View(**view).validate_json()
            assert checks.view_errors(view, view["type"]) == [], name
            if view["type"] == "modal":
                assert len(view["title"]["text"]) <= 24 and "…" not in view["title"]["text"], name
