"""End to end: `licensebot serve` provisions into the real scim2-server what people do in Slack, survives a
kill -9 with a backlog, and never lets the vendor's token out (database, logs, Slack calls)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bot.domain import Actor
from tests.support import slack_payloads
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.scim_server import TOKEN, ScimServer
from tests.support.slack_e2e import button_labels, open_view, service_on, submit, texts

pytestmark = pytest.mark.e2e

T = TypeVar("T")
TOKEN_ENV = "CONTOSO_SCIM_TOKEN"
ANN, BOB, CAT, DAN = "U00000A1", "U00000A2", "U00000A3", "U00000A4"
DESIGN = "SDESIGN1"
CLI = Actor.cli()


def catalog(scim_url: str) -> str:
    return f"""
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 10
    purchased_via: marketplace
    provisioning:
      scim_url: {scim_url}
      token_env: {TOKEN_ENV}
"""


def eventually(read: Callable[[], T], expected: T, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with ScimServer() as server:
        yield server


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    for user_id, name in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat"), (DAN, "dan")):
        fake_slack.add_user(user_id, name=name)
    fake_slack.add_group(DESIGN, "design", "Design team", [BOB, CAT])
    return fake_slack


@pytest.fixture
def db(database_url: str, scim: ScimServer) -> str:
    seed_catalog(database_url, catalog(scim.url))
    return database_url


def start_bot(slack: FakeSlack, db: str) -> BotProcess:
    return BotProcess(slack, db, env={TOKEN_ENV: TOKEN}).start()


def assign_in_slack(bot: BotProcess, text: str) -> None:
    view = open_view(bot, text)
    status, _ = submit(bot, view)
    assert status == 200


def test_assignments_made_in_slack_take_effect_at_the_vendor(slack: FakeSlack, db: str, scim: ScimServer,
                                                              tmp_path: Path) -> None:
    bot = start_bot(slack, db)
    try:
        assign_in_slack(bot, f"assign contoso <@{ANN}|ann> <!subteam^{DESIGN}|@design>")
        expected = {"ann@example.com": ANN, "bob@example.com": BOB, "cat@example.com": CAT}
        assert eventually(scim.active, expected) == expected
        # a member leaves the group in Slack: inactive; one still licensed directly stays active
        slack.set_group_members(DESIGN, [ANN, CAT])
        event = {"type": "subteam_members_changed", "subteam_id": DESIGN, "team_id": "T0TEAM",
                 "added_users": [ANN], "added_users_count": "1", "removed_users": [BOB],
                 "removed_users_count": "1"}
        assert bot.event(event, "EvLeave1")[0] == 200
        expected = {"ann@example.com": ANN, "cat@example.com": CAT}
        assert eventually(scim.active, expected) == expected
        # a Slack user deleted: inactive
        slack.delete_user(CAT)
        deleted = {"id": CAT, "name": "cat", "deleted": True, "profile": {"real_name": "cat"}}
        assert bot.event({"type": "user_change", "user": deleted}, "EvDeleted1")[0] == 200
        assert eventually(scim.active, {"ann@example.com": ANN}) == {"ann@example.com": ANN}
        with service_on(db) as service:
            status = service.provisioning.status("Contoso CRM")
        assert (status.pending, status.provisioned, status.failed) == (0, 1, 0)
        assert {u.external_id for u in scim.users().values()} == {ANN, BOB, CAT}
    finally:
        bot.stop()
    assert_token_nowhere(bot, slack, db)


def test_a_backlog_left_by_kill_9_is_delivered_after_restart(slack: FakeSlack, db: str, scim: ScimServer) -> None:
    scim.stop()  # the vendor is down while people are assigned
    bot = start_bot(slack, db)
    try:
        assign_in_slack(bot, f"assign contoso <@{ANN}|ann> <@{DAN}|dan> <!subteam^{DESIGN}|@design>")

        def pending() -> tuple[int, int]:
            with service_on(db) as service:
                status = service.provisioning.status("Contoso CRM")
            return status.pending, status.failed

        assert eventually(pending, (4, 0)) == (4, 0)
        time.sleep(1.0)  # the deliverer has tried and is backing off
    finally:
        bot.kill()
    scim.start()
    bot = start_bot(slack, db)
    try:
        with service_on(db) as service:
            service.provisioning.retry(CLI, "Contoso CRM")  # `licensebot provision retry`: no need to wait
        expected = {f"{n}@example.com": u for u, n in ((ANN, "ann"), (BOB, "bob"), (CAT, "cat"), (DAN, "dan"))}
        assert eventually(scim.active, expected) == expected
    finally:
        bot.stop()
    assert_token_nowhere(bot, slack, db)


def test_a_vendor_refusing_the_token_fails_with_a_reason_for_admins(slack: FakeSlack, db: str) -> None:
    bot = BotProcess(slack, db, env={TOKEN_ENV: "not-the-right-token-7c1e"}).start()
    try:
        assign_in_slack(bot, f"assign contoso <@{ANN}|ann>")

        def failures() -> list[tuple[str, str]]:
            with service_on(db) as service:
                return service.provisioning.status("Contoso CRM").failures

        found = eventually(lambda: [u for u, _ in failures()], [ANN])
        assert found == [ANN]
        assert "401" in failures()[0][1]
        # the details modal: counts for everyone; the failure, its reason and "Retry" for admins
        view = open_view(bot, "show contoso")
        shown = texts(view)
        assert "0 provisioned · 0 pending · 1 failed" in shown and f"<@{ANN}>: HTTP 401" in shown
        assert "Retry" in button_labels(view)
        plain = open_view(bot, "show contoso", user_id=DAN)
        assert "1 failed" in texts(plain) and "HTTP 401" not in texts(plain)
        assert "Retry" not in button_labels(plain)
        before = len(slack.calls_to("views.update"))
        status, _ = bot.interact(slack_payloads.button_click_payload(view, "Retry", user_id=GLOBAL_ADMIN))
        assert status == 200
        redrawn = slack.wait_for("views.update", before + 1)[-1]
        assert redrawn.response["ok"]
        now_shown = texts(redrawn.args["view"])  # queued again, or already refused again by the vendor
        assert "0 provisioned · 1 pending · 0 failed" in now_shown or "0 provisioned · 0 pending · 1 failed" in now_shown
        with service_on(db) as service:
            assert next(e.action for e in service.audit.latest(CLI, limit=5)) == "provision.retry"
        # a plain user's click re-queues nothing
        status, _ = bot.interact(slack_payloads.button_click_payload(view, "Retry", user_id=DAN))
        assert status == 200
        time.sleep(0.5)
        with service_on(db) as service:
            assert sum(e.action == "provision.retry" for e in service.audit.latest(CLI, limit=20)) == 1
    finally:
        bot.stop()
    output = "\n".join(bot.output)
    assert "not-the-right-token-7c1e" not in output


def assert_token_nowhere(bot: BotProcess, slack: FakeSlack, db: str) -> None:
    assert TOKEN not in "\n".join(bot.output)
    for call in slack.calls:
        assert TOKEN not in repr(call.args) and TOKEN.encode() not in call.body
    if db.startswith("sqlite:///"):  # the database file, its WAL and the lock beside it
        folder = Path(db.removeprefix("sqlite:///")).parent
        for path in folder.iterdir():
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
    from sqlalchemy import select

    from storage.db import make_engine
    from storage.models import Base

    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                assert not any(TOKEN in repr(tuple(row)) for row in conn.execute(select(table))), table.name
    finally:
        engine.dispose()


