"""handlers/slack/i18n.py: who reads decides the language, per context, carried into background work."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import NotEnoughLicenses
from handlers.slack import i18n, ui
from handlers.slack.deps import Background


@pytest.mark.parametrize(("tag", "locale"), [("fr-FR", "fr"), ("fr_CA", "fr"), ("FR", "fr"), ("en-GB", "en"),
                                             ("de-DE", None), ("", None), (None, None)])
def test_slack_locales_map_to_the_languages_we_speak(tag: str | None, locale: str | None) -> None:
    assert i18n.supported(tag) == locale


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
