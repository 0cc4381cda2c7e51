"""Operating `licensebot serve` (SPEC §11): /metrics after real traffic, JSON logs whose request id follows a
request into its background work, a backup taken while it runs, a busy port, and a quiet start."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import slack_signing as slack
from tests.support.bot_process import BotProcess, licensebot_executable
from tests.support.catalogs import seed_catalog
from tests.support.cli_runner import run_cli
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import CLI, seat_waiters, service_on

pytestmark = pytest.mark.e2e


def scrape(bot: BotProcess) -> dict[str, float]:
    """Every sample of /metrics: `name{labels}` -> value."""
    with urllib.request.urlopen(f"{bot.url}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_expose_requests_latency_outbox_and_seats_after_real_traffic(bot: BotProcess) -> None:
    with service_on(bot.database_url) as service:
        service.assignments.assign(CLI, "Contoso CRM", ["UHOLDER1", "UHOLDER2"])
    for _ in range(3):
        status, _ = bot.command("list")
        assert status == 200
    status, _, _ = slack.post(bot.events_url, slack.slash_command_body(text="list"), "not-the-secret")
    assert status == 401

    samples = scrape(bot)

    assert samples['licensebot_requests_total{kind="command",outcome="ok"}'] == 3
    assert samples['licensebot_requests_total{kind="command",outcome="unauthorized"}'] == 1
    assert samples['licensebot_request_duration_seconds_count{kind="command"}'] == 4
    assert samples['licensebot_request_duration_seconds_bucket{kind="command",le="3.0"}'] == 4  # Slack's 3 s
    assert samples['licensebot_seats_assigned{app="Contoso CRM"}'] == 2
    assert samples['licensebot_seats_total{app="Contoso CRM"}'] == 5
    assert samples['licensebot_seats_total{app="Fabrikam Design"}'] == 3
    assert samples["licensebot_outbox_pending"] == 0
    assert samples["licensebot_outbox_oldest_pending_seconds"] == 0
    for result in ("delivered", "retry", "dropped", "lost"):
        assert f'licensebot_outbox_settled_total{{result="{result}"}}' in samples


def test_the_outbox_series_follow_messages_waiting_and_failing(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seed_catalog(sqlite_url)
    fake_slack.server_error_next("chat.postMessage", 500, times=1000)  # Slack is down: DMs wait
    with BotProcess(fake_slack, sqlite_url) as bot:
        seat_waiters(bot.database_url, ["UWAITER1", "UWAITER2"])  # two DMs into the outbox
        deadline = time.monotonic() + 20
        while True:
            samples = scrape(bot)
            if samples['licensebot_outbox_settled_total{result="retry"}'] >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert samples['licensebot_outbox_settled_total{result="retry"}'] >= 1
        assert samples["licensebot_outbox_pending"] >= 1
        assert samples["licensebot_outbox_oldest_pending_seconds"] > 0


def test_json_logs_carry_the_request_id_into_the_request_s_background_work(
    fake_slack: FakeSlack, sqlite_url: str
) -> None:
    seed_catalog(sqlite_url)
    fake_slack.fail_next("views.open", "expired_trigger_id")
    with BotProcess(fake_slack, sqlite_url, env={"LICENSEBOT_LOG_FORMAT": "json"}) as bot:
        status, _ = bot.command("assign Contoso CRM")  # the modal opens after the ack, on a background lane
        assert status == 200
        fake_slack.wait_for("views.open")
        deadline = time.monotonic() + 10
        while not any("views.open failed" in line for line in bot.output) and time.monotonic() < deadline:
            time.sleep(0.05)
        output = list(bot.output)

    entries = [json.loads(line) for line in output if line.startswith("{")]
    assert [line for line in output if not line.startswith("{")] == [
        line for line in output if line.startswith("licensebot listening on")]  # every log line is JSON
    [request] = [e for e in entries if e.get("kind") == "command"]
    [failed] = [e for e in entries if e["message"] == "views.open failed: expired_trigger_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", request["request_id"])
    assert failed["request_id"] == request["request_id"]
    assert failed["thread"] != request["thread"]  # the background lane's thread, with the request's id
    assert (request["level"], request["status"]) == ("info", 200)
    assert all(e["request_id"] is None for e in entries if e["message"].startswith("listening on"))
    assert not any("will be unused" in line for line in output)  # bolt's warning about the token


def test_a_backup_taken_while_serve_runs_holds_the_latest_commit(bot: BotProcess, tmp_path: Path) -> None:
    status, _ = bot.command("list")
    assert status == 200
    with service_on(bot.database_url) as service:
        service.assignments.assign(CLI, "Contoso CRM", ["ULATEST1"])  # the latest commit, serve still running

    backup = tmp_path / "backup.db"
    result = run_cli(["backup", str(backup)], bot.env())
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert bot.proc is not None and bot.proc.poll() is None  # serve never noticed

    restored = tmp_path / "restored" / "licensebot.db"
    restored.parent.mkdir()
    shutil.copy(backup, restored)
    shown = run_cli(["apps", "show", "Contoso CRM", "--json"],
                    {**bot.env(), "DATABASE_URL": f"sqlite:///{restored}"})
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["users"] == ["ULATEST1"]


def test_a_busy_port_is_one_clear_line(fake_slack: FakeSlack, sqlite_url: str) -> None:
    seed_catalog(sqlite_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = BotProcess(fake_slack, sqlite_url)
        result = subprocess.run([licensebot_executable(), "serve", "--port", str(port)], env=process.env(),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"licensebot: error: port {port} is already in use"]
    assert fake_slack.calls_to("chat.postMessage") == []
