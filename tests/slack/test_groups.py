"""End to end: group-based licenses follow Slack user groups — events into `licensebot serve`, and
`licensebot sync` as a process — against the fake Slack, over real HTTP.

Assignments are seeded through the service on the bot's database (the assign modal has its own tests);
the fake's directory is then changed the way Slack changes, and the event delivered or the sync run.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine
from storage.models import ProcessedEventRow, SeatRow
from storage.uow import UnitOfWorkFactory
from tests.support import slack_signing as slack
from tests.support.bot_process import BOT_TOKEN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.cli_runner import clean_env, run_cli
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.e2e

ANN, BOB, CAT, DAN, EVE = "U00000A1", "U00000A2", "U00000A3", "U00000A4", "U00000A5"
DESIGN = "SDESIGN1"
V0 = 1_700_000_000  # the fake's date_update of a group it has just added; each member change adds 1
CONTOSO, FABRIKAM = "Contoso CRM", "Fabrikam Design"  # 5 seats; 3 seats
T = TypeVar("T")


# ------------------------------------------------------------------ fixtures and helpers
@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    for user_id, name in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat"), (DAN, "dan"), (EVE, "eve")):
        fake_slack.add_user(user_id, name=name)
    fake_slack.add_group(DESIGN, "design", "Design team", [ANN, BOB, CAT])
    return fake_slack


@pytest.fixture
def db(sqlite_url: str) -> str:
    seed_catalog(sqlite_url)
    return sqlite_url


class Seeder:
    """The real service on the bot's database: seeds assignments, reads the outcome."""

    def __init__(self, url: str, fake: FakeSlack) -> None:
        self.engine = make_engine(url)
        self.fake = fake
        self.directory = InMemoryDirectory()
        self.service = LicensingService(UnitOfWorkFactory(self.engine), self.directory)

    def assign(self, app: str, users: list[str] = (), groups: list[str] = ()) -> None:  # type: ignore[assignment]
        for group_id in groups:  # the members the fake Slack has now
            raw = self.fake._groups[group_id]
            self.directory.put_group(Group(group_id, raw["handle"], raw["name"], tuple(raw["users"])))
        self.service.assignments.assign(Actor.cli(), app, list(users), list(groups))

    def seated(self, app: str) -> list[str]:
        return self.service.catalog.details(app).users

    def waiting(self, app: str) -> list[str]:
        return self.service.catalog.details(app).waiting

    def actions(self, *names: str) -> list[tuple[str, list[str]]]:
        entries = reversed(self.service.audit.latest(Actor.cli(), limit=200))
        return [(e.action, e.targets) for e in entries if e.action in names]

    def seat_rows(self, app: str) -> int:
        """Seats as rows: one per (app, user), whatever the sources: nobody licensed twice."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(SeatRow).where(
                SeatRow.app_id == select_app_id(app))) or 0)

    def processed_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(ProcessedEventRow)) or 0)


def select_app_id(app: str) -> Any:
    from storage.models import AppRow

    return select(AppRow.id).where(AppRow.name == app).scalar_subquery()


@pytest.fixture
def seeder(db: str, fake: FakeSlack) -> Iterator[Seeder]:
    seeder = Seeder(db, fake)
    yield seeder
    seeder.engine.dispose()


@pytest.fixture
def bot(fake: FakeSlack, db: str, seeder: Seeder) -> Iterator[BotProcess]:
    with BotProcess(fake, db) as process:
        yield process


def eventually(read: Callable[[], T], expected: T, timeout: float = 10.0) -> T:
    """Polls until `read()` equals `expected` (the bot applies events after its ack)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def members_changed(added: list[str], removed: list[str], previous: int | None, current: int | None) -> dict:
    event: dict[str, Any] = {
        "type": "subteam_members_changed", "subteam_id": DESIGN, "team_id": "T0TEAM",
        "added_users": added, "added_users_count": str(len(added)),
        "removed_users": removed, "removed_users_count": str(len(removed)),
    }
    if previous is not None:
        event.update(date_previous_update=previous, date_update=current)
    return event


def change_design(fake: FakeSlack, bot: BotProcess, members: list[str], event_id: str) -> tuple[int, Any]:
    """Slack changes the group's members, then tells the bot (with the versions, as Slack does)."""
    before = list(fake._groups[DESIGN]["users"])
    version = fake._groups[DESIGN]["date_update"]
    fake.set_group_members(DESIGN, members)
    added = [u for u in members if u not in before]
    removed = [u for u in before if u not in members]
    return bot.event(members_changed(added, removed, version, version + 1), event_id)


def dms_to(fake: FakeSlack, user_id: str) -> list[str]:
    return [c.args.get("text", "") for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == user_id]


def run_sync(fake: FakeSlack, url: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["sync"], clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.url, DATABASE_URL=url))


# ------------------------------------------------------------------ events
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_member_added_and_one_removed_move_the_seats(
    database: str, fake: FakeSlack, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    seed_catalog(url)
    seeder = Seeder(url, fake)
    try:
        seeder.assign(CONTOSO, groups=[DESIGN])
        with BotProcess(fake, url) as bot:
            status, _ = change_design(fake, bot, [BOB, CAT, DAN], "EvMembers1")
            assert status == 200
            assert eventually(lambda: seeder.seated(CONTOSO), [BOB, CAT, DAN]) == [BOB, CAT, DAN]
        assert seeder.seat_rows(CONTOSO) == 3
        assert seeder.actions("group.join", "group.leave") == [
            ("group.leave", [DESIGN, ANN]), ("group.join", [DESIGN, DAN])
        ]
        assert not fake.calls_to("usergroups.users.list")  # the event's change applied to the cached group
    finally:
        seeder.engine.dispose()


def test_the_event_is_acknowledged_at_once_and_applied_after(
    fake: FakeSlack, bot: BotProcess, seeder: Seeder
) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    fake.delay_next("usergroups.users.list", 1.5)  # a slow Slack: the ack must not wait for it
    fake.set_group_members(DESIGN, [ANN, BOB, CAT, DAN])
    started = time.monotonic()
    status, _ = bot.event(members_changed([DAN], [], None, None), "EvSlow1")  # no versions: members re-read
    assert status == 200 and time.monotonic() - started < 1.0
    assert eventually(lambda: seeder.seated(CONTOSO), [ANN, BOB, CAT, DAN]) == [ANN, BOB, CAT, DAN]


def test_the_waiter_gets_the_next_freed_seat_and_a_dm(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(FABRIKAM, groups=[DESIGN])  # 3 seats: ann, bob, cat
    change_design(fake, bot, [ANN, BOB, CAT, DAN], "EvJoin1")
    assert eventually(lambda: seeder.waiting(FABRIKAM), [DAN]) == [DAN]
    change_design(fake, bot, [ANN, BOB, CAT, DAN, EVE], "EvJoin2")
    assert eventually(lambda: seeder.waiting(FABRIKAM), [DAN, EVE]) == [DAN, EVE]
    assert seeder.seated(FABRIKAM) == [ANN, BOB, CAT]

    bot.command("show fabrikam")  # the details modal shows who waits
    details = bot.fake.wait_for("views.open")[-1].args["view"]
    assert "waiting: not enough licenses" in str(details["blocks"]) and f"<@{DAN}>" in str(details["blocks"])

    change_design(fake, bot, [BOB, CAT, DAN, EVE], "EvLeave1")  # ann leaves: the oldest waiter is next
    assert eventually(lambda: seeder.seated(FABRIKAM), [BOB, CAT, DAN]) == [BOB, CAT, DAN]
    assert seeder.waiting(FABRIKAM) == [EVE] and seeder.seat_rows(FABRIKAM) == 3
    fake.wait_for("chat.postMessage", predicate=lambda c: c.args.get("channel") == DAN)
    assert FABRIKAM in dms_to(fake, DAN)[0]
    assert not dms_to(fake, EVE)


def test_more_seats_from_slack_seat_the_waiter_who_is_told(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    seeder.service.assignments.set_seats(Actor.cli(), CONTOSO, 3)
    change_design(fake, bot, [ANN, BOB, CAT, DAN], "EvJoin3")
    assert eventually(lambda: seeder.waiting(CONTOSO), [DAN]) == [DAN]

    bot.command("seats contoso")  # "Add or remove licenses"
    view = fake.wait_for("views.open")[-1].response["view"]
    payload = slack.view_submission_payload(view, "UADMIN01", slack.view_state(view, {"Total licenses": "4"}))
    assert bot.interact(payload)[0] == 200
    assert eventually(lambda: seeder.seated(CONTOSO), [ANN, BOB, CAT, DAN]) == [ANN, BOB, CAT, DAN]
    fake.wait_for("chat.postMessage", predicate=lambda c: c.args.get("channel") == DAN)
    assert CONTOSO in dms_to(fake, DAN)[0]


def test_a_user_licensed_directly_and_through_the_group_keeps_the_seat_on_leaving(
    fake: FakeSlack, bot: BotProcess, seeder: Seeder
) -> None:
    seeder.assign(CONTOSO, users=[ANN], groups=[DESIGN])
    change_design(fake, bot, [BOB, CAT], "EvLeave2")
    assert eventually(lambda: seeder.actions("group.leave"), [("group.leave", [DESIGN, ANN])])
    assert seeder.seated(CONTOSO) == [ANN, BOB, CAT] and seeder.seat_rows(CONTOSO) == 3
    assert seeder.service.catalog.licenses_of(ANN)[0].sources == [("user", ANN)]


def test_the_same_event_delivered_twice_acts_once(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    fake.set_group_members(DESIGN, [ANN, BOB, CAT, DAN])
    body = slack.event_body(members_changed([DAN], [], None, None), event_id="EvTwice1")
    assert bot.post(body)[0] == 200
    assert eventually(lambda: seeder.seated(CONTOSO), [ANN, BOB, CAT, DAN]) == [ANN, BOB, CAT, DAN]
    fake.wait_for("usergroups.users.list")  # the event without versions: the group was re-read once

    fake.set_group_members(DESIGN, [ANN, BOB, CAT, DAN, EVE])  # had it acted again, eve would join
    assert bot.post(body, extra_headers=slack.retry_headers(1))[0] == 200
    assert bot.post(body, extra_headers=slack.retry_headers(2, "http_error"))[0] == 200
    assert eventually(lambda: sum("already applied" in line for line in bot.output), 2) == 2
    assert len(fake.calls_to("usergroups.users.list")) == 1
    assert seeder.seated(CONTOSO) == [ANN, BOB, CAT, DAN]
    assert seeder.actions("group.join") == [("group.join", [DESIGN, DAN])]
    assert seeder.processed_events() == 1


def test_a_disabled_group_loses_its_licenses_audited(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, users=[ANN], groups=[DESIGN])
    fake.add_group(DESIGN, "design", "Design team", [ANN, BOB, CAT], disabled=True)
    disabled = {**fake._groups[DESIGN], "date_update": V0 + 1}
    assert bot.event({"type": "subteam_updated", "subteam": disabled}, "EvDisabled1")[0] == 200
    assert eventually(lambda: seeder.seated(CONTOSO), [ANN]) == [ANN]  # ann holds it directly too
    [(action, targets)] = seeder.actions("group.disabled")
    assert action == "group.disabled" and targets == [DESIGN, BOB, CAT]
    assert seeder.service.catalog.details(CONTOSO).groups == []


def test_a_deleted_user_loses_every_license_audited(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, users=[ANN], groups=[DESIGN])
    seeder.assign(FABRIKAM, groups=[DESIGN])
    fake.delete_user(ANN)
    deleted = {"id": ANN, "name": "ann", "deleted": True, "profile": {"real_name": "ann"}}
    assert bot.event({"type": "user_change", "user": deleted}, "EvDeleted1")[0] == 200
    assert eventually(lambda: len(seeder.actions("user.removed")), 2) == 2
    assert seeder.seated(CONTOSO) == [BOB, CAT] and seeder.seated(FABRIKAM) == [BOB, CAT]
    assert seeder.service.catalog.licenses_of(ANN) == []
    assert [targets for _, targets in seeder.actions("user.removed")] == [[ANN], [ANN]]


def test_a_profile_edit_changes_nothing_and_writes_nothing(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    fake.wait_for("users.list")  # the directory warmed at start
    time.sleep(0.3)
    renamed = {"id": BOB, "name": "bobby", "deleted": False, "profile": {"real_name": "Bobby"}}
    assert bot.event({"type": "user_change", "user": renamed}, "EvRename1")[0] == 200
    status, body = bot.command("assign contoso @bobby")  # the cache knows the new name at once
    assert status == 200 and body is None
    opened = fake.wait_for("views.open")[-1].args["view"]
    assert [b["element"].get("initial_users") for b in opened["blocks"] if b.get("block_id") == "users"] == [[BOB]]
    assert seeder.processed_events() == 0 and seeder.seated(CONTOSO) == [ANN, BOB, CAT]
    assert len(fake.calls_to("users.list")) == 1


def test_malformed_events_are_acknowledged_and_change_nothing(fake: FakeSlack, bot: BotProcess, seeder: Seeder) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    for index, event in enumerate([
        {"type": "subteam_members_changed", "subteam_id": "not-a-group", "added_users": [DAN]},
        {"type": "subteam_members_changed", "subteam_id": DESIGN, "added_users": "U1", "date_update": "x"},
        {"type": "subteam_updated", "subteam": "nothing"},
        {"type": "user_change", "user": {"id": "bad id", "deleted": True}},
    ]):
        assert bot.event(event, f"EvBad{index}")[0] == 200
    time.sleep(0.3)
    assert seeder.seated(CONTOSO) == [ANN, BOB, CAT]
    assert not any("Traceback" in line for line in bot.output)


# ------------------------------------------------------------------ licensebot sync
def test_sync_applies_joins_and_leaves_and_seats_the_waiter(fake: FakeSlack, seeder: Seeder, db: str) -> None:
    seeder.assign(FABRIKAM, groups=[DESIGN])  # 3 seats: ann, bob, cat
    seeder.assign(CONTOSO, users=[BOB], groups=[DESIGN])
    fake.set_group_members(DESIGN, [BOB, CAT, DAN, EVE])  # no events: the bot was down

    result = run_sync(fake, db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "synced 1 group: 3 joined, 2 left, 1 waiting, 0 filled"  # fabrikam: dan in, eve waits
    assert "groups 1/1" in result.stdout and "\r" not in result.stdout  # plain lines off a terminal
    assert seeder.seated(FABRIKAM) == [BOB, CAT, DAN] and seeder.waiting(FABRIKAM) == [EVE]
    assert seeder.seated(CONTOSO) == [BOB, CAT, DAN, EVE]
    assert seeder.seat_rows(FABRIKAM) == 3 and seeder.seat_rows(CONTOSO) == 4

    fake.set_group_members(DESIGN, [BOB, CAT, EVE])  # dan leaves: eve, waiting, gets his seat
    result = run_sync(fake, db)
    assert result.stdout.splitlines()[-1] == "synced 1 group: 0 joined, 2 left, 0 waiting, 1 filled"
    assert seeder.seated(FABRIKAM) == [BOB, CAT, EVE] and seeder.waiting(FABRIKAM) == []
    # eve's DM waits in the outbox for the running bot (tests/slack/test_outbox.py): the sync only reads Slack
    assert [(m.kind, m.recipient, m.facts) for m in seeder.service.outbox.queued()] == [
        ("seat.filled", EVE, {"app": FABRIKAM})]
    assert not fake.calls_to("chat.postMessage")
    assert [c.method for c in fake.calls if c.method.startswith("usergroups")] == ["usergroups.list"] * 2
    assert {entry.via for entry in seeder.service.audit.latest(Actor.cli(), limit=200)
            if entry.action.startswith("group.")} == {"cli"}


def test_sync_removes_the_licenses_of_deleted_accounts(fake: FakeSlack, seeder: Seeder, db: str) -> None:
    seeder.assign(CONTOSO, users=[ANN, DAN], groups=[DESIGN])
    fake.delete_user(DAN)  # licensed directly only: no group event would tell
    result = run_sync(fake, db)
    assert result.returncode == 0, result.stderr
    assert f"deleted Slack accounts lost their licenses: {DAN}" in result.stdout
    assert result.stdout.splitlines()[-1] == "synced 1 group: 0 joined, 1 left, 0 waiting, 0 filled"
    assert seeder.seated(CONTOSO) == [ANN, BOB, CAT]


def test_a_rate_limited_sync_is_retried_and_completes(fake: FakeSlack, seeder: Seeder, db: str) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    fake.set_group_members(DESIGN, [ANN, DAN])
    fake.rate_limit_next("usergroups.list", retry_after=1)
    result = run_sync(fake, db)
    assert result.returncode == 0, result.stderr
    assert [c.status for c in fake.calls_to("usergroups.list")] == [429, 200]
    assert result.stdout.splitlines()[-1] == "synced 1 group: 1 joined, 2 left, 0 waiting, 0 filled"
    assert seeder.seated(CONTOSO) == [ANN, DAN]


def test_sync_without_slack_settings_says_which_one(fake: FakeSlack, db: str) -> None:
    env = clean_env(DATABASE_URL=db)
    result = run_cli(["sync"], env)
    assert result.returncode == 2 and result.stderr.strip() == "licensebot: error: SLACK_BOT_TOKEN is not set"
    env.update(SLACK_BOT_TOKEN="xoxb-wrong", SLACK_API_URL=fake.url)
    result = run_cli(["sync"], env)
    assert result.returncode == 2 and "SLACK_BOT_TOKEN was refused by Slack: invalid_auth" in result.stderr


def test_serve_syncs_at_start_when_the_interval_is_set(fake: FakeSlack, seeder: Seeder, db: str) -> None:
    seeder.assign(CONTOSO, groups=[DESIGN])
    fake.set_group_members(DESIGN, [BOB, DAN])  # changed while the bot was down
    with BotProcess(fake, db, env={"LICENSEBOT_SYNC_INTERVAL_MINUTES": "60"}) as bot:
        assert eventually(lambda: seeder.seated(CONTOSO), [BOB, DAN]) == [BOB, DAN]
        assert eventually(lambda: any("synced 1 group" in line for line in bot.output), True)


# ------------------------------------------------------------------ scale
def test_a_10000_user_directory_is_paged_with_cursors(fake: FakeSlack, db: str) -> None:
    ids = fake.add_users(10_000, prefix="W")
    with BotProcess(fake, db) as bot:
        status, body = bot.command(f"assign contoso @{ids[-1].lower()}")  # a name on the last page
        assert status == 200 and body is None
        opened = fake.wait_for("views.open", timeout=15)[-1].args["view"]
    users_input = next(b for b in opened["blocks"] if b.get("block_id") == "users")
    assert users_input["element"]["initial_users"] == [ids[-1]]
    pages = fake.calls_to("users.list")
    assert len(pages) == 51  # 10,005 users, 200 a page: loaded once, at start, by cursor
    assert all(p.args.get("cursor") for p in pages[1:]) and {int(p.args["limit"]) for p in pages} == {200}


def test_progress_redraws_one_line_on_a_terminal_and_prints_few_lines_elsewhere() -> None:
    import io

    from handlers.slack.operator import ProgressLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for done in range(51):
        ProgressLine(terminal)(done, 50)
        ProgressLine(log)(done, 50)
    assert terminal.getvalue().startswith("\r groups 0/50\r groups 1/50") and terminal.getvalue().endswith("\r groups 50/50\n")
    assert log.getvalue().splitlines() == [f"groups {n}/50" for n in range(5, 51, 5)]
