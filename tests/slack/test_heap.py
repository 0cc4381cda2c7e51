"""`serve`'s garbage collector (handlers/heap.py): the long-lived heap frozen after start-up and after the
directory's loads, every collection's pause timed, both read from GET /metrics."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from handlers.heap import Pauses
from tests.slack.test_operations import scrape
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

USERS = 5_000


def test_pauses_are_timed_by_generation() -> None:
    pauses = Pauses()
    gc.callbacks.append(pauses.callback)
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        gc.callbacks.remove(pauses.callback)
    assert sum(pauses.buckets[2]) == 1 and sum(pauses.buckets[0]) == 1 and sum(pauses.buckets[1]) == 0
    assert pauses.total[2] > 0 and pauses.longest[2] == pauses.total[2]  # one collection: its duration


@pytest.mark.e2e
def test_serve_freezes_the_loaded_directory_and_reports_collections(fake_slack: FakeSlack, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'licensebot.db'}"
    seed_catalog(url)
    fake_slack.add_users(USERS)
    with BotProcess(fake_slack, url) as bot:  # returns once the directory's first load is done
        for _ in range(50):
            samples = scrape(bot)
            if samples["licensebot_gc_frozen_objects"] > USERS * 3:
                break
            bot.command("list")
        # the users (each a User and its strings) are out of the collector's way
        assert samples["licensebot_gc_frozen_objects"] > USERS * 3
        assert samples['licensebot_gc_pause_seconds_count{generation="2"}'] >= 1  # settle()'s collection
        assert samples['licensebot_gc_pause_seconds_bucket{generation="0",le="+Inf"}'] == \
            samples['licensebot_gc_pause_seconds_count{generation="0"}']


@pytest.mark.e2e
def test_gc_tuning_off_leaves_the_collector_alone(fake_slack: FakeSlack, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'licensebot.db'}"
    seed_catalog(url)
    fake_slack.add_users(USERS)
    with BotProcess(fake_slack, url, env={"LICENSEBOT_GC_TUNING": "off"}) as bot:
        bot.command("list")
        assert scrape(bot)["licensebot_gc_frozen_objects"] == 0


def test_malloc_arenas_are_limited_unless_the_environment_says_otherwise() -> None:
    import os
    import subprocess
    import sys

    program = "from handlers.heap import limit_malloc_arenas; print(limit_malloc_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == ("True" if glibc else "False")
    env["MALLOC_ARENA_MAX"] = "4"  # an operator's own choice is left alone
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "False"
