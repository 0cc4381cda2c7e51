"""Issue 16: `serve` answers `/licenses list` from what it kept while nothing changed it; a change made by
another process (the CLI, a second `serve`) shows within bot/catalog_cache.py's MAX_AGE, on both databases.
Over signed HTTP against the fake Slack."""

from __future__ import annotations

import time

import pytest

from bot.catalog_cache import MAX_AGE
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, service_on, texts

pytestmark = pytest.mark.e2e


def contoso_line(bot: BotProcess) -> str:
    status, ack = bot.command("list")
    assert status == 200, ack
    return next(line for line in (ack["text"] + "\n" + texts(ack.get("blocks") or [])).splitlines()
                if "*Contoso CRM*" in line)


def test_another_processs_change_shows_in_list_within_max_age(database_url: str, fake_slack: FakeSlack) -> None:
    seed_catalog(database_url)
    with BotProcess(fake_slack, database_url) as bot:
        before = contoso_line(bot)
        for _ in range(20):  # answered again and again from what serve kept: the same line
            assert contoso_line(bot) == before
        with service_on(database_url) as other:  # another process: its own engine, no cache
            other.assignments.assign(CLI, "Contoso CRM", ["UOTHER01", "UOTHER02"])
        changed_at = time.monotonic()
        while (line := contoso_line(bot)) == before:
            assert time.monotonic() - changed_at < MAX_AGE + 1.0, "list still shows the old count"
            time.sleep(0.02)
        assert "2 assigned" in line and "0 assigned" in before
