"""`/licenses export [APP]` against `licensebot serve`: the CSV arrives in the admin's DM through Slack's
upload flow (files.getUploadURLExternal, the upload, files.completeUploadExternal), as the fake Slack runs it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from bot.directory import Group
from tests.support.bot_process import GLOBAL_ADMIN, BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, service_on

pytestmark = pytest.mark.e2e

DESIGN = Group("SDESIGN1", "design", "Design team", ("UGRACE001",))
AUDITOR = "UAUDIT001"  # a user admin: may export, as every admin
NOBODY = "UNOBODY1"


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    seed_catalog(sqlite_url)
    fake_slack.add_user("UGRACE001", name="grace", real_name="Grace Hopper")
    fake_slack.add_user("UADA00001", name="ada", real_name="Ada Lovelace")
    fake_slack.add_group(DESIGN.id, DESIGN.handle, DESIGN.name, DESIGN.members)
    with service_on(sqlite_url, [DESIGN]) as service:
        service.assignments.assign(CLI, "Contoso CRM", ["UADA00001", "UGRACE001"], [DESIGN.id])
        service.assignments.assign(CLI, "Fabrikam Design", ["UADA00001"])
        service.roles.grant(CLI, AUDITOR, "user-admin")
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def uploaded(fake: FakeSlack, count: int = 1) -> tuple[dict, list[dict[str, str]]]:
    """The last file shared by files.completeUploadExternal, and its CSV rows."""
    fake.wait_for("files.completeUploadExternal", count, timeout=15)
    record = [f for f in fake.files.values() if f["completed"]][-1]
    return record, list(csv.DictReader(io.StringIO(record["data"].decode("utf-8"))))


def test_an_admin_gets_the_csv_in_their_dm_through_the_upload_flow(bot: BotProcess, fake_slack: FakeSlack) -> None:
    status, ack = bot.command("export")
    assert status == 200 and ack["response_type"] == "ephemeral"
    assert "arrives in your direct messages" in ack["text"]

    record, rows = uploaded(fake_slack)

    assert record["channels"] == [f"D{GLOBAL_ADMIN}"]  # the DM, opened with conversations.open
    assert [c.args["users"] for c in fake_slack.calls_to("conversations.open")] == [GLOBAL_ADMIN]
    assert fake_slack.calls_to("file.upload")[0].status == 200
    assert record["filename"].startswith("licenses-all-") and record["filename"].endswith(".csv")
    assert record["initial_comment"] == "Who holds which license: 4 rows."
    assert list(rows[0]) == ["app", "user_id", "name", "email", "source", "since", "until", "provisioning"]
    assert [(r["app"], r["user_id"], r["name"], r["email"], r["source"]) for r in rows] == [
        ("Contoso CRM", "UADA00001", "Ada Lovelace", "ada@example.com", "direct"),
        ("Contoso CRM", "UGRACE001", "Grace Hopper", "grace@example.com", "direct"),
        ("Contoso CRM", "UGRACE001", "Grace Hopper", "grace@example.com", "design"),
        ("Fabrikam Design", "UADA00001", "Ada Lovelace", "ada@example.com", "direct"),
    ]
    assert {r["provisioning"] for r in rows} == {"none"}


def test_one_app_and_any_admin(bot: BotProcess, fake_slack: FakeSlack) -> None:
    status, _ = bot.command("export fabrikam", user_id=AUDITOR)
    assert status == 200
    record, rows = uploaded(fake_slack)
    assert record["channels"] == [f"D{AUDITOR}"]
    assert record["filename"].startswith("licenses-fabrikam-")
    assert [(r["app"], r["user_id"]) for r in rows] == [("Fabrikam Design", "UADA00001")]


def test_someone_who_is_not_an_admin_is_refused_in_the_ack(bot: BotProcess, fake_slack: FakeSlack) -> None:
    status, ack = bot.command("export", user_id=NOBODY)
    assert status == 200
    assert "You need to be an admin to export who holds which license." in ack["text"]
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def test_an_unknown_app_or_a_failed_upload_is_told_and_nothing_is_shared(
    bot: BotProcess, fake_slack: FakeSlack
) -> None:
    bot.command("export jira")
    [told] = fake_slack.wait_for("response_url", timeout=10)
    assert 'No app is called "jira"' in told.args["text"]

    fake_slack.fail_next("files.completeUploadExternal", "not_allowed_token_type")
    bot.command("export")
    told = fake_slack.wait_for("response_url", 2, timeout=10)[-1]
    assert "I couldn't send the export (Slack said `not_allowed_token_type`)" in told.args["text"]
    assert not any(f["completed"] for f in fake_slack.files.values())
