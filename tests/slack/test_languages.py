"""French and English end to end: each person reads Licensebot in their Slack locale (`users.info` with
include_locale), in the same workspace at the same time. A French admin assigns, unassigns (through the
confirmation dialog) and changes the total with the Microsoft 365 admin center's words; an English one,
between each of their steps, sees English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, app_state, input_block, open_view, pushed, service_on, submit, texts

pytestmark = pytest.mark.e2e

FR_ADMIN, EN_ADMIN = "UFRADM01", "UENADM01"
PEOPLE = [f"U0PERS0{i}" for i in range(1, 7)]


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seed_catalog(sqlite_url)  # Contoso CRM: 5 licenses, marketplace
    with service_on(sqlite_url) as service:
        for admin in (FR_ADMIN, EN_ADMIN):
            service.roles.grant(CLI, admin, "license-admin")
            service.roles.grant(CLI, admin, "billing-admin")
    fake_slack.add_user(FR_ADMIN, "amelie", "Amélie Martin", locale="fr-FR")
    fake_slack.add_user(EN_ADMIN, "ed", "Ed Jones", locale="en-GB")
    for person in PEOPLE:
        fake_slack.add_user(person)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def title_submit_close(view: dict) -> tuple[str, str | None, str]:
    return view["title"]["text"], (view.get("submit") or {}).get("text"), view["close"]["text"]


def english_still(bot: BotProcess, command: str, title: str) -> None:
    assert open_view(bot, command, EN_ADMIN)["title"]["text"] == title


def test_a_french_admin_assigns_unassigns_and_sets_the_total_in_french(bot: BotProcess) -> None:
    # Attribuer des licences: too many people is "Licences insuffisantes" on the field, then it works
    view = open_view(bot, "assign Contoso CRM", FR_ADMIN)
    assert title_submit_close(view) == ("Attribuer des licences", "Attribuer", "Annuler")
    assert input_block(view, "Utilisateurs") and input_block(view, "Groupes")
    english_still(bot, "assign Contoso CRM", "Assign licenses")
    _, ack = submit(bot, view, FR_ADMIN, {"Utilisateurs": PEOPLE})
    assert ack == {"response_action": "errors",
                   "errors": {"users": "Licences insuffisantes : 6 nécessaires, 5 disponibles"}}
    english = open_view(bot, "assign Contoso CRM", EN_ADMIN)
    _, ack = submit(bot, english, EN_ADMIN, {"Users": PEOPLE})
    assert ack["errors"] == {"users": "Not enough licenses: 6 needed, 5 available"}
    _, ack = submit(bot, view, FR_ADMIN, {"Utilisateurs": PEOPLE[:2]})
    assert ack["response_action"] == "update" and ack["view"]["title"]["text"] == "Licences attribuées"
    assert "2 nouvelles licences attribuées" in texts(ack["view"]) and ack["view"]["close"]["text"] == "Fermer"
    assert app_state(bot.database_url)["assigned"] == 2

    # Annuler l'attribution: the picker, "Suivant", the dialog, "Annuler l'attribution"
    picker = open_view(bot, "unassign Contoso CRM", FR_ADMIN)
    assert title_submit_close(picker) == ("Annuler l'attribution", "Suivant", "Annuler")
    english_still(bot, "unassign Contoso CRM", "Unassign licenses")
    _, ack = submit(bot, picker, FR_ADMIN, {"Utilisateurs et groupes": [f"user:{PEOPLE[0]}"]})
    dialog = pushed(ack)
    assert title_submit_close(dialog) == ("Annuler l'attribution", "Annuler l'attribution", "Annuler")
    assert "Cela libère *1 licence*" in texts(dialog)
    _, ack = submit(bot, dialog, FR_ADMIN)
    assert ack["view"]["title"]["text"] == "Attribution annulée"
    assert app_state(bot.database_url)["assigned"] == 1

    # Ajouter ou supprimer des licences (a shorter title: Slack's 24 characters), "Enregistrer"
    seats = open_view(bot, "seats Contoso CRM", FR_ADMIN)
    assert title_submit_close(seats) == ("Modifier les licences", "Enregistrer", "Annuler")
    english_still(bot, "seats Contoso CRM", "Add or remove licenses")
    _, ack = submit(bot, seats, FR_ADMIN, {"Nombre total de licences": "0"})
    assert ack["errors"]["total"].startswith("1 licences sont attribuées")
    _, ack = submit(bot, seats, FR_ADMIN, {"Nombre total de licences": "8"})
    assert ack["view"]["title"]["text"] == "Licences enregistrées" and "*8 licences*" in texts(ack["view"])
    assert app_state(bot.database_url)["seats"] == 8

    # the details modal's buttons, in each reader's words
    details = open_view(bot, "show Contoso CRM", FR_ADMIN)
    labels = [e["text"]["text"] for b in details["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Voir l'attribution (1)", "Attribuer des licences", "Annuler l'attribution",
                      "Récupérer des licences", "Ajouter ou supprimer des licences", "Installer ce produit",
                      "Modifier l'application"]
    assert len(bot.fake.calls_to("users.info")) == 2  # one per person, then the cache answers
