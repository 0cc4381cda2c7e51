"""What users rely on (SPEC §4) at the door: request checks, malformed input, restarts, start-up, health.

Every request here goes over real HTTP into `licensebot serve`; "no effect" is checked by comparing every
app, every role and the whole audit log before and after.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, SIGNING_SECRET, TEAM_ID, BotProcess, licensebot_executable
from tests.support.catalogs import seed_catalog
from tests.support.databases import postgres_base_url
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, app_state, audit_log, everything, open_view, pushed, service_on, submit

pytestmark = pytest.mark.e2e

TOTAL = "Total licenses"


def _common(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "team": {"id": TEAM_ID}, "user": {"id": GLOBAL_ADMIN, "team_id": TEAM_ID}, **extra}


def _form(payload: Any) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


# ------------------------------------------------------------------ request checks
def test_forged_stale_or_unsigned_requests_get_401_and_change_nothing(bot: BotProcess) -> None:
    url = bot.database_url
    view = open_view(bot, "seats contoso")
    body = slack.interactivity_body(slack.view_submission_payload(view, GLOBAL_ADMIN, slack.view_state(view, {TOTAL: "42"})))
    grant = slack.slash_command_body(text="roles grant <@U0EVE001|eve> global-admin", user_id=GLOBAL_ADMIN)
    before = everything(url)
    now = int(time.time())
    for request in (body, grant):
        attempts = [
            slack.post(bot.events_url, request, "not-the-secret"),  # forged signature
            slack.post(bot.events_url, request, SIGNING_SECRET, timestamp=now - 6 * 60),  # stale
            slack.post(bot.events_url, request, SIGNING_SECRET, timestamp=now + 6 * 60),  # from the future
            slack.post(bot.events_url, request, SIGNING_SECRET, extra_headers={"X-Slack-Signature": None}),
            slack.post(bot.events_url, request, SIGNING_SECRET, extra_headers={"X-Slack-Request-Timestamp": None}),
            slack.post(bot.events_url, request, SIGNING_SECRET, extra_headers={"X-Slack-Request-Timestamp": "soon"}),
        ]
        assert [status for status, _, _ in attempts] == [401] * len(attempts)
    assert everything(url) == before
    assert app_state(url)["seats"] == 5


def test_requests_from_another_workspace_are_refused(bot: BotProcess) -> None:
    url = bot.database_url
    view = open_view(bot, "seats contoso")
    before = everything(url)
    stranger = slack.view_submission_payload(view, GLOBAL_ADMIN, slack.view_state(view, {TOTAL: "42"}),
                                             team_id="T0OTHER")
    assert bot.interact(stranger)[0] == 401
    status, _ = bot.command("roles grant <@U0EVE001|eve> global-admin", team_id="T0OTHER")
    assert status == 401
    assert everything(url) == before


# ------------------------------------------------------------------ malformed input
MALFORMED: list[tuple[str, bytes, str | None]] = [
    ("empty form", b"", "application/x-www-form-urlencoded"),
    ("empty json", b"", "application/json"),
    ("bad json", b'{"type": "event_callback", ', "application/json"),
    ("json array", b"[1, 2, 3]", "application/json"),
    ("json string", b'"hello"', "application/json"),
    ("event without event", b'{"type": "event_callback", "team_id": "T0TEAM"}', "application/json"),
    ("payload not json", b"payload=not-json", None),
    ("payload array", _form([1, 2]), None),
    ("payload string", _form('"str"'), None),
    ("payload null", _form("null"), None),
    ("payload without type", _form({"team": {"id": TEAM_ID}, "user": {"id": GLOBAL_ADMIN}}), None),
    ("block actions without actions", _form(_common("block_actions")), None),
    ("block actions without user", _form({"type": "block_actions", "team": {"id": TEAM_ID},
                                          "actions": [{"action_id": "details_unassign", "value": "Contoso CRM"}]}),
     None),
    ("unknown action id", _form(_common("block_actions", trigger_id="t", actions=[{"action_id": "no_such_action",
                                                                                   "block_id": "b", "type": "button"}])),
     None),
    ("details click without view or trigger", _form(_common("block_actions", actions=[
        {"action_id": "details_unassign", "block_id": "b", "type": "button", "value": "x" * 5000}])), None),
    ("seats click for a provider app", _form(_common("block_actions", trigger_id="t", actions=[
        {"action_id": "details_seats", "block_id": "b", "type": "button", "value": "Fabrikam Design"}])), None),
    ("unknown callback id", _form(_common("view_submission", view={"id": "V1", "type": "modal", "callback_id": "nope",
                                                                   "state": {"values": {}}})), None),
    ("view without type", _form(_common("view_submission", view={"id": "V1", "callback_id": "seats_save"})), None),
    ("submission without view", _form(_common("view_submission")), None),
    ("unassign confirm with junk metadata", _form(_common("view_submission", view={
        "id": "V2", "type": "modal", "callback_id": "unassign_confirm", "private_metadata": "{not json"})), None),
    ("unassign confirm with junk lists", _form(_common("view_submission", view={
        "id": "V3", "type": "modal", "callback_id": "unassign_confirm",
        "private_metadata": json.dumps({"app": "Contoso CRM", "users": "U0ANN001", "groups": [{"x": 1}]})})), None),
    ("unassign confirm with forged ids", _form(_common("view_submission", view={
        "id": "V4", "type": "modal", "callback_id": "unassign_confirm",
        "private_metadata": json.dumps({"app": "Contoso CRM", "users": ["'; DROP TABLE apps; --"], "groups": []})})),
     None),
    ("unassign pick with junk state", _form(_common("view_submission", view={
        "id": "V5", "type": "modal", "callback_id": "unassign_pick", "private_metadata": json.dumps({"app": "Contoso CRM"}),
        "state": {"values": {"assignees": {"unassign_assignees": {"type": "multi_static_select",
                                                                  "selected_options": "user:U1"}}}}})), None),
    ("seats save with junk state", _form(_common("view_submission", view={
        "id": "V6", "type": "modal", "callback_id": "seats_save", "private_metadata": json.dumps({"app": "Contoso CRM"}),
        "state": {"values": {"total": "12"}}})), None),
    ("seats save with a list for a number", _form(_common("view_submission", view={
        "id": "V7", "type": "modal", "callback_id": "seats_save", "private_metadata": json.dumps({"app": "Contoso CRM"}),
        "state": {"values": {"total": {"total": {"type": "number_input", "value": ["12"]}}}}})), None),
    ("view closed without view", _form(_common("view_closed")), None),
    ("suggestion for an unknown action", _form(_common("block_suggestion", action_id="nope", block_id="b",
                                                       value="x")), None),
    ("suggestion without a view", _form(_common("block_suggestion", action_id="unassign_assignees",
                                                block_id="assignees", value="a" * 10000)), None),
    ("command without team or user", urlencode({"command": "/licenses", "text": "seats contoso"}).encode(), None),
    ("command without user", urlencode({"command": "/licenses", "text": "seats contoso", "team_id": TEAM_ID,
                                        "trigger_id": "t"}).encode(), None),
    ("unknown command", slack.slash_command_body(command="/other", text="list", user_id=GLOBAL_ADMIN), None),
    ("200 kB of text", slack.slash_command_body(text="roles grant " + "x" * 200_000, user_id=GLOBAL_ADMIN), None),
    ("control characters", slack.slash_command_body(text="seats \x00\x1b[31mcontoso\u202e", user_id=GLOBAL_ADMIN),
     None),
    ("not utf-8", b"command=%2Flicenses&team_id=T0TEAM&user_id=UADMIN01&text=\xff\xfe%ff", None),
    ("unbalanced quotes", slack.slash_command_body(text='seats "contoso', user_id=GLOBAL_ADMIN), None),
    ("wrong content type", slack.slash_command_body(text="list", user_id=GLOBAL_ADMIN), "text/plain"),
    ("multipart", b"--x\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{}\r\n--x--",
     "multipart/form-data; boundary=x"),
]


def test_malformed_bodies_and_payloads_never_get_a_5xx_and_change_nothing(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    answers = {}
    for name, body, content_type in MALFORMED:
        headers = {"Content-Type": content_type} if content_type else None
        status, _, raw = slack.post(bot.events_url, body, SIGNING_SECRET, extra_headers=headers)
        answers[name] = status
        assert status < 500, (name, status, raw[:300])
    assert bot.healthz() == 200  # still serving
    time.sleep(0.3)  # background work the corpus started (views to open, people to tell) has run
    assert everything(bot.database_url) == before
    assert answers["200 kB of text"] == 200 and answers["command without team or user"] == 401


def test_a_200_kb_command_gets_a_clear_answer(bot: BotProcess) -> None:
    status, ack = bot.command("seats " + "contoso " * 25_000)
    assert status == 200 and "That is too long for a command" in ack["text"]


def test_wrong_methods_paths_and_huge_bodies_get_4xx(bot: BotProcess) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def status_of(request: urllib.request.Request) -> int:
        try:
            with opener.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert status_of(urllib.request.Request(bot.events_url)) == 405
    assert status_of(urllib.request.Request(bot.events_url, data=b"x", method="PUT")) == 405
    assert status_of(urllib.request.Request(f"{bot.url}/nowhere")) == 404
    # just past 1 MiB: refused from its Content-Length (the server closes before reading it, so a client
    # still sending sees a broken pipe; the answer is read after the headers alone)
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (1024 * 1024 + 10))
        assert conn.recv(4096).startswith(b"HTTP/1.1 413")


# ------------------------------------------------------------------ lifecycle
def test_restart_keeps_everything(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seed_catalog(sqlite_url)
    fake_slack.add_user("U0ANN001", "ann")  # roles go only to people of the workspace
    with BotProcess(fake_slack, sqlite_url) as first:
        view = open_view(first, "seats contoso")
        submit(first, view, answers={TOTAL: "9"})
        assert "license-admin" in first.command("roles grant <@U0ANN001|ann> license-admin")[1]["text"]
        before = everything(sqlite_url)
    assert first.proc is not None and first.proc.returncode == 0
    with BotProcess(fake_slack, sqlite_url) as second:
        assert everything(sqlite_url) == before
        status, ack = second.command("list")
        assert "*Contoso CRM* — 0 assigned / 9 available / 9 total" in ack["text"]
        roles = second.command("roles", user_id="U0ANN001")[1]["text"]
        assert "*license-admin*: <@U0ANN001>" in roles


def test_sigterm_stops_cleanly_with_status_0(bot: BotProcess) -> None:
    open_view(bot, "show contoso")
    assert bot.stop() == 0
    assert bot.output[-1].endswith("licensebot: stopped")
    assert not [line for line in bot.output if "Traceback" in line]


def test_healthz_answers_200_while_the_database_answers(bot: BotProcess) -> None:
    assert bot.healthz() == 200


@pytest.mark.postgres
def test_healthz_answers_503_when_the_database_is_gone(fake_slack: FakeSlack) -> None:
    base = postgres_base_url()
    assert base is not None
    name = f"lb_health_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        with BotProcess(fake_slack, url) as bot:
            assert bot.healthz() == 200
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            assert bot.healthz() == 503
            assert bot.command("list")[0] < 500
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN: must be a bot token"),
        ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN: must be an app-level token"),
        ({"SLACK_API_URL": "ftp://slack"}, "SLACK_API_URL: must be an http(s) URL"),
        ({"LICENSEBOT_GLOBAL_ADMINS": "UADMIN01,bob"}, 'LICENSEBOT_GLOBAL_ADMINS: "bob" is not a Slack user id'),
        ({"LICENSEBOT_REQUEST_TTL_HOURS": "soon"}, "LICENSEBOT_REQUEST_TTL_HOURS"),
        ({"PORT": "99999"}, "PORT"),
        ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "SLACK_BOT_TOKEN was refused by Slack: invalid_auth"),
        # nothing listens on port 9: slack-sdk's own error line must not come out beside ours
        ({"SLACK_API_URL": "http://127.0.0.1:9/api/"}, "SLACK_API_URL http://127.0.0.1:9/api/ cannot be reached"),
        ({"DATABASE_URL": "mysql://nobody@127.0.0.1:1/none"}, "DATABASE_URL"),
    ],
)
def test_a_missing_or_malformed_setting_stops_start_up_with_one_line(fake_slack: FakeSlack, sqlite_url: str,
                                                                      change: dict[str, str | None],
                                                                      named: str) -> None:
    env = BotProcess(fake_slack, sqlite_url).env()
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    result = subprocess.run([licensebot_executable(), "serve", "--port", "0"], env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("licensebot: error: ") and named in lines[0], result.stderr
    assert "Traceback" not in result.stdout


# ------------------------------------------------------------------ PostgreSQL
@pytest.mark.postgres
def test_the_modal_flows_on_postgresql(fake_slack: FakeSlack, postgres_url: str) -> None:
    seed_catalog(postgres_url)
    with service_on(postgres_url) as service:
        service.assignments.assign(CLI, "Contoso CRM", ["U0ANN001", "U0BEN001"])
    with BotProcess(fake_slack, postgres_url) as bot:
        view = open_view(bot, "seats contoso")
        _, ack = submit(bot, view, answers={TOTAL: "1"})
        assert ack["errors"] == {"total": "2 licenses are assigned: unassign 1 first to go down to 1."}

        view = open_view(bot, "unassign contoso")
        dialog = pushed(submit(bot, view, answers={"Users and groups": ["user:U0ANN001"]})[1])
        _, ack = submit(bot, dialog)
        assert ack["view"]["title"]["text"] == "Licenses unassigned"
        assert submit(bot, dialog)[1] == ack  # the double submit replays

        view = open_view(bot, "seats contoso")
        _, ack = submit(bot, view, answers={TOTAL: "1"})
        assert ack["response_action"] == "update"
    state = app_state(postgres_url)
    assert (state["users"], state["seats"], state["available"]) == (["U0BEN001"], 1, 0)
    assert [e["action"] for e in audit_log(postgres_url)].count("unassign") == 1

