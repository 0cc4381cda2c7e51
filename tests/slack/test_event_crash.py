"""Issue 10, defect 6: an event's id is recorded in the same transaction as its effect. The bot is killed
(kill -9) while it applies a membership event, restarted, and the event redelivered: it is applied (before,
its id was committed first, and the redelivery answered "already applied": the change was lost).

The moment is made, not guessed: the test holds the app's row lock (PostgreSQL) so the bot's change waits
on it, sees the bot's backend blocked behind its own (pg_blocking_pids), then kills the bot."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage.db import make_engine
from tests.slack.test_groups import BOB, CAT, DAN, DESIGN, Seeder, eventually, members_changed
from tests.support import slack_signing as slack
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.e2e

ANN = "U00000A1"
APP = "Contoso CRM"


@pytest.fixture
def seeded(fake_slack: FakeSlack, postgres_url: str) -> Iterator[Seeder]:
    for user_id in (ANN, BOB, CAT, DAN):
        fake_slack.add_user(user_id)
    fake_slack.add_group(DESIGN, "design", "Design team", [ANN, BOB])
    seed_catalog(postgres_url)
    seeder = Seeder(postgres_url, fake_slack)
    seeder.assign(APP, groups=[DESIGN])
    yield seeder
    seeder.engine.dispose()


def test_killed_mid_event_then_redelivered_the_event_is_applied(
    fake_slack: FakeSlack, postgres_url: str, seeded: Seeder
) -> None:
    version = fake_slack._groups[DESIGN]["date_update"]
    fake_slack.set_group_members(DESIGN, [ANN, BOB, DAN])
    body = slack.event_body(members_changed([DAN], [], version, version + 1), event_id="EvCrash01")

    locker = make_engine(postgres_url)
    bot = BotProcess(fake_slack, postgres_url).start()
    try:
        with locker.connect() as conn:
            conn.execute(text("SELECT id FROM apps WHERE name = :name FOR UPDATE"), {"name": APP})
            me = conn.scalar(text("SELECT pg_backend_pid()"))
            assert bot.post(body)[0] == 200
            blocked = eventually(lambda: bool(conn.execute(
                text("SELECT 1 FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"), {"me": me}
            ).first()), True, timeout=15)
            assert blocked, "the bot never reached the app's lock:\n" + "\n".join(bot.output)
            bot.kill()
            conn.rollback()
    finally:
        bot.stop()
        locker.dispose()
    assert seeded.seated(APP) == [ANN, BOB]

    with BotProcess(fake_slack, postgres_url) as again:
        assert again.post(body, extra_headers=slack.retry_headers(1))[0] == 200
        assert eventually(lambda: seeded.seated(APP), [ANN, BOB, DAN], timeout=15) == [ANN, BOB, DAN]
        time.sleep(0.5)
        assert not any("already applied" in line for line in again.output)
    assert seeded.actions("group.join") == [("group.join", [DESIGN, DAN])]
