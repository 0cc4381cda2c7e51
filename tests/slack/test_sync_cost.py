"""What a group sync costs in Slack calls, counted at the fake Slack: one `usergroups.list` when nothing
changed; `users.list` walked only when the directory is empty, when a group holds an id never seen, and
once a day (the safety net for a deletion whose event was lost)."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.domain import Actor
from bot.service import LicensingService
from bot.sync import GroupSync
from handlers.slack.client import make_client
from handlers.slack.directory import USERS_PAGE, USERS_TTL, SlackDirectory
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.core import ADMIN, add_app, seat_state
from tests.support.fake_slack import FakeSlack

HOUR = 3600.0
GROUP = "SDESIGN1"
USERS = 1_000
PAGES = -(-USERS // USERS_PAGE)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_now(work: Callable[[], None]) -> None:
    work()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'licensebot.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ids(fake_slack: FakeSlack) -> list[str]:
    ids = fake_slack.add_users(USERS)
    fake_slack.add_group(GROUP, "design", "Design team", ids[:10])
    return ids


@pytest.fixture
def directory(fake_slack: FakeSlack, clock: Clock, ids: list[str]) -> SlackDirectory:
    return SlackDirectory(make_client(fake_slack.bot_token, fake_slack.url), clock=clock, background=run_now,
                          sync_interval=HOUR)


@pytest.fixture
def service(engine: Engine, directory: SlackDirectory) -> LicensingService:
    return LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])


@pytest.fixture
def sync(service: LicensingService, directory: SlackDirectory) -> GroupSync:
    return GroupSync(service, directory, Actor("UBOT"))


def cost(fake: FakeSlack, work: Callable[[], object]) -> dict[str, int]:
    """The Slack calls `work` made, by method."""
    since = len(fake.calls)
    work()
    return dict(collections.Counter(call.method for call in fake.calls[since:]))


def test_a_sync_with_nothing_changed_costs_one_call(fake_slack: FakeSlack, sync: GroupSync, clock: Clock) -> None:
    assert cost(fake_slack, sync.run) == {"usergroups.list": 1, "users.list": PAGES}  # empty directory: walked
    for _ in range(22):  # every hour of the day after it
        clock.now += HOUR
        assert cost(fake_slack, sync.run) == {"usergroups.list": 1}


def test_churn_among_known_people_costs_no_users_list(
    fake_slack: FakeSlack, service: LicensingService, sync: GroupSync, clock: Clock, ids: list[str]
) -> None:
    app = add_app(service, seats=50)
    service.assignments.assign(ADMIN, app, groups=[GROUP])
    sync.run()
    fake_slack.set_group_members(GROUP, ids[1:10] + ids[500:502])  # one leaves, two join
    clock.now += HOUR
    assert cost(fake_slack, sync.run) == {"usergroups.list": 1}
    assert seat_state(service, app)[0] == sorted(ids[1:10] + ids[500:502])


def test_an_unknown_member_walks_users_list_once(
    fake_slack: FakeSlack, directory: SlackDirectory, sync: GroupSync, clock: Clock, ids: list[str]
) -> None:
    sync.run()
    [newcomer] = fake_slack.add_users(1)  # its team_join was lost
    fake_slack.set_group_members(GROUP, [*ids[:10], newcomer])
    clock.now += HOUR
    assert cost(fake_slack, sync.run) == {"usergroups.list": 1, "users.list": -(-(USERS + 1) // USERS_PAGE)}
    assert directory.user(newcomer) is not None
    # a member users.list does not list (another workspace's): walked for once, not at every sync
    fake_slack.set_group_members(GROUP, [*ids[:10], newcomer, "WFOREIGN1"])
    clock.now += HOUR
    assert cost(fake_slack, sync.run)["users.list"] > 0
    clock.now += HOUR
    assert cost(fake_slack, sync.run) == {"usergroups.list": 1}


def test_a_member_announced_by_team_join_costs_no_walk(
    fake_slack: FakeSlack, directory: SlackDirectory, sync: GroupSync, clock: Clock, ids: list[str]
) -> None:
    sync.run()
    [newcomer] = fake_slack.add_users(1)
    directory.put_user({"id": newcomer, "name": "newcomer"})  # the team_join event
    fake_slack.set_group_members(GROUP, [*ids[:10], newcomer])
    clock.now += HOUR
    assert cost(fake_slack, sync.run) == {"usergroups.list": 1}


def test_a_lost_deletion_still_frees_the_seat_within_a_day(
    fake_slack: FakeSlack, service: LicensingService, sync: GroupSync, clock: Clock, ids: list[str]
) -> None:
    app = add_app(service, seats=5)
    gone = ids[700]
    service.assignments.assign(ADMIN, app, users=[gone])  # a direct seat: no group drops it
    sync.run()
    started = clock.now
    fake_slack.delete_user(gone)  # and its user_change event never arrives
    walked_at = None
    while walked_at is None:
        clock.now += HOUR
        if "users.list" in cost(fake_slack, sync.run):
            walked_at = clock.now
        else:
            assert seat_state(service, app)[0] == [gone]  # cheap syncs do not see it
    assert walked_at - started <= USERS_TTL  # within a day of the last walk, with hourly syncs
    assert seat_state(service, app)[0] == []


def test_at_start_up_the_background_load_and_the_sync_walk_users_list_once(
    fake_slack: FakeSlack, ids: list[str]
) -> None:
    directory = SlackDirectory(make_client(fake_slack.bot_token, fake_slack.url), sync_interval=HOUR)
    fake_slack.delay_next("users.list", 0.3)
    directory.warm()  # real background threads, as `serve` starts them
    directory.refresh()  # the sync at start
    fake_slack.wait_for("usergroups.list", count=1, timeout=5)
    assert len(fake_slack.calls_to("users.list")) == PAGES
    directory.refresh()
    assert len(fake_slack.calls_to("users.list")) == PAGES
