"""Issue 10, defect 2: two `licensebot serve` processes on one PostgreSQL never invent membership changes.

Each membership event is delivered to BOTH processes, twice each (Slack retries do this), all four at once.
Each process keeps its own cached copy of the group, so without the database's own record of which
version of the group's members was applied (under a lock, in `date_update` order, stale snapshots
discarded) one process applies an older member list over a newer one: spurious `group.leave` entries
(seats freed) and repeated `group.join` entries, permanent in the audit log."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.domain import Actor
from tests.slack.test_groups import DESIGN, Seeder, eventually, members_changed
from tests.support import slack_signing as slack
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST = ["U00000A1", "U00000A2"]
JOINERS = [f"U0JOIN{n:03d}" for n in range(20)]
BURST = 5
APP = "Contoso CRM"


@pytest.fixture
def two_bots(fake_slack: FakeSlack, postgres_url: str) -> Iterator[tuple[FakeSlack, Seeder, list[BotProcess]]]:
    for user_id in FIRST + JOINERS:
        fake_slack.add_user(user_id)
    fake_slack.add_group(DESIGN, "design", "Design team", FIRST)
    seed_catalog(postgres_url)
    seeder = Seeder(postgres_url, fake_slack)
    seeder.service.assignments.set_seats(Actor.cli(), APP, 100)
    seeder.assign(APP, groups=[DESIGN])
    bots = [BotProcess(fake_slack, postgres_url).start() for _ in range(2)]
    try:
        yield fake_slack, seeder, bots
    finally:
        for bot in bots:
            bot.stop()
        seeder.engine.dispose()


def test_every_event_to_both_processes_twice_gives_one_join_per_join_and_no_leave(
    two_bots: tuple[FakeSlack, Seeder, list[BotProcess]],
) -> None:
    fake, seeder, bots = two_bots
    members = list(FIRST)
    for burst in range(0, len(JOINERS), BURST):  # several changes in Slack, then their events all at once
        bodies = []
        for number in range(burst, burst + BURST):
            version = fake._groups[DESIGN]["date_update"]
            members.append(JOINERS[number])
            fake.set_group_members(DESIGN, members)
            bodies.append(slack.event_body(members_changed([JOINERS[number]], [], version, version + 1),
                                           event_id=f"EvJoin{number:04d}"))
        deliveries = [threading.Thread(target=bot.post, args=(body,), kwargs={"extra_headers": headers})
                      for body in bodies for bot in bots for headers in ({}, slack.retry_headers(1))]
        for delivery in deliveries:
            delivery.start()
        for delivery in deliveries:
            delivery.join(10)
        time.sleep(0.3)

    expected = sorted(FIRST + JOINERS)
    assert eventually(lambda: sorted(seeder.seated(APP)), expected, timeout=30) == expected
    time.sleep(1.0)  # anything still in flight lands now
    joins = Counter(targets[1] for _, targets in seeder.actions("group.join"))
    assert joins == Counter(JOINERS), joins
    assert seeder.actions("group.leave") == []
    assert sorted(seeder.seated(APP)) == expected


def test_real_joins_and_leaves_in_bursts_are_each_logged_once(
    two_bots: tuple[FakeSlack, Seeder, list[BotProcess]],
) -> None:
    """Every third change in Slack removes the member who joined two changes before: one `group.join` per
    real join, one `group.leave` per real leave, whichever process applies which event, in any order."""
    fake, seeder, bots = two_bots
    members, left = list(FIRST), []
    for burst in range(0, len(JOINERS), BURST):
        bodies = []
        for number in range(burst, burst + BURST):
            version = fake._groups[DESIGN]["date_update"]
            if number % 3 == 2:
                gone = JOINERS[number - 2]
                members.remove(gone)
                left.append(gone)
                added, removed = [], [gone]
            else:
                members.append(JOINERS[number])
                added, removed = [JOINERS[number]], []
            fake.set_group_members(DESIGN, members)
            bodies.append(slack.event_body(members_changed(added, removed, version, version + 1),
                                           event_id=f"EvMix{number:04d}"))
        deliveries = [threading.Thread(target=bot.post, args=(body,), kwargs={"extra_headers": headers})
                      for body in bodies for bot in bots for headers in ({}, slack.retry_headers(1))]
        for delivery in deliveries:
            delivery.start()
        for delivery in deliveries:
            delivery.join(10)
        time.sleep(0.3)

    expected = sorted(members)
    assert eventually(lambda: sorted(seeder.seated(APP)), expected, timeout=30) == expected
    time.sleep(1.0)
    joins = Counter(targets[1] for _, targets in seeder.actions("group.join"))
    leaves = Counter(targets[1] for _, targets in seeder.actions("group.leave"))
    assert joins == Counter(j for n, j in enumerate(JOINERS) if n % 3 != 2), joins
    assert leaves == Counter(left), leaves
    assert sorted(seeder.seated(APP)) == expected
