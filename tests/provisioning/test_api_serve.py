"""End to end: `licensebot apps token` then the usage-rights API on `licensebot serve` over real HTTP, and
2,000 random, malformed and hostile requests that never get a 5xx."""

from __future__ import annotations

import http.client
import json
import random
import socket
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from bot.domain import Actor
from tests.support.bot_process import BotProcess
from tests.support.catalogs import seed_catalog
from tests.support.cli_runner import clean_env, run_cli
from tests.support.fake_slack import FakeSlack
from tests.support.slack_e2e import service_on

pytestmark = pytest.mark.e2e
ANN, BOB = "U00000A1", "U00000A2"


def cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, clean_env(DATABASE_URL=db))


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    fake_slack.add_user(ANN, name="ann")
    fake_slack.add_user(BOB, name="bob")
    seed_catalog(sqlite_url)
    with service_on(sqlite_url) as service:
        service.assignments.assign(Actor.cli(), "Contoso CRM", users=[ANN])
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process


def get(bot: BotProcess, target: str, headers: dict[str, str]) -> tuple[int, Any]:
    host, port = bot.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else body
    finally:
        conn.close()


def raw(bot: BotProcess, request: bytes) -> int:
    """Bytes no well-behaved client would send; the status line's code (0: the server closed without one)."""
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def test_a_token_from_the_cli_answers_over_http_until_revoked(bot: BotProcess, sqlite_url: str) -> None:
    issued = cli(sqlite_url, "apps", "token", "contoso")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("lbt_") and " " not in token
    auth = {"Authorization": f"Bearer {token}"}
    status, body = get(bot, f"/api/v1/usage-rights?user={ANN}", auth)
    assert status == 200 and body["state"] == "active" and body["app"] == "Contoso CRM"
    status, body = get(bot, f"/api/v1/usage-rights?user={quote('bob@example.com')}", auth)
    assert status == 200 and (body["user"], body["state"]) == (BOB, "none")
    assert get(bot, "/api/v1/usage-rights", auth)[0] == 400
    assert get(bot, f"/api/v1/usage-rights?user={ANN}", {})[0] == 401
    revoked = cli(sqlite_url, "apps", "token", "contoso", "--revoke")
    assert revoked.returncode == 0 and "revoked 1 token(s) of Contoso CRM" in revoked.stdout
    assert get(bot, f"/api/v1/usage-rights?user={ANN}", auth)[0] == 401
    assert token not in "\n".join(bot.output)


def test_2000_hostile_requests_never_get_a_5xx(bot: BotProcess, sqlite_url: str) -> None:
    token = cli(sqlite_url, "apps", "token", "contoso").stdout.strip().splitlines()[-1]
    rng = random.Random(2026)
    pieces = ["user=", ANN, "%", "%zz", "%00", "%FF", "é", "'", '"', "<script>", "..", "/", "&", "=", ";", "#",
              "user[]=", "%0d%0a", "@", "a" * 3000, "\t", "+", "lbt_", "9" * 25]
    headers_pool = [f"Bearer {token}", "Bearer", "Bearer lbt_1_" + "x" * 43, "Basic dXNlcjpwYXNz", "bearer " + token,
                    "Bearer " + "y" * 5000, "Bearer lbt_" + "9" * 40 + "_" + "z" * 43, "", "Bearer  ", "Token x"]
    statuses: dict[int, int] = {}
    for n in range(2000):
        query = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        if n % 10 == 0:  # bytes on the wire that no client library would produce
            junk = bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 40))).replace(b"\r", b"").replace(
                b"\n", b"").replace(b" ", b"")
            status = raw(bot, b"GET /api/v1/usage-rights?user=" + junk + b" HTTP/1.1\r\nHost: x\r\nAuthorization: "
                         + junk + b"\r\nConnection: close\r\n\r\n")
        else:
            target = "/api/v1/usage-rights?" + quote(query, safe="=&%/+@;'")
            status, _ = get(bot, target, {"Authorization": rng.choice(headers_pool)})
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (n, query)
    assert statuses.get(200, 0) > 0 and statuses.get(401, 0) > 0
