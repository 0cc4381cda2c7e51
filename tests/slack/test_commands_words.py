"""`/licenses` as people type it: a mistyped sub-command gets "did you mean", and an app named in quotes
(straight, curly, French) reads the same in every sub-command (SPEC §6). Pure: the router and the parsers."""

from __future__ import annotations

import pytest

from bot.names import clean_query
from handlers.slack.features import FEATURES
from handlers.slack.mentions import split_app_and_mentions
from handlers.slack.router import Router

ROUTER = Router([sub for feature in FEATURES for sub in feature.SUBCOMMANDS])


@pytest.mark.parametrize(("typed", "expected"), [
    ("lsit", "list"), ("asign", "assign"), ("unasign", "unassign"), ("seat", "seats"), ("requets", "requests"),
    ("instal", "install"), ("hlep", "help"), ("MNIE", "mine"), ("ad", "add"), ("rolls", "roles"), ("audti", "audit"),
])
def test_a_mistyped_sub_command_gets_did_you_mean(typed: str, expected: str) -> None:
    assert ROUTER.suggest(typed)[0] == expected
    answer = ROUTER.unknown_text(typed)
    assert f"Did you mean `/licenses {expected}`" in answer and "`/licenses help`" in answer


def test_a_word_like_no_command_gets_the_help_table() -> None:
    answer = ROUTER.unknown_text("frobnicate")
    assert "I don't know `/licenses frobnicate`" in answer and "Did you mean" not in answer
    assert "`/licenses list [WORDS]`" in answer


def test_what_was_typed_is_shown_escaped() -> None:
    answer = ROUTER.unknown_text("<!channel>")
    assert "<!channel>" not in answer and "&lt;!channel&gt;" in answer


QUOTED = ['"Éditeur Café Crème"', "'Éditeur Café Crème'", "\u201cÉditeur Café Crème\u201d",
          "\u00abÉditeur Café Crème\u00bb", "Éditeur Café Crème"]


@pytest.mark.parametrize("typed", QUOTED)
def test_quoted_names_read_the_same_alone_and_before_mentions(typed: str) -> None:
    assert clean_query(typed) == "Éditeur Café Crème"
    app, mentions = split_app_and_mentions(f"{typed} <@U00000001|ann> @design")
    assert clean_query(app) == "Éditeur Café Crème"
    assert mentions == ["<@U00000001|ann>", "@design"]
