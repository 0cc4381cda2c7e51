"""`licensebot provision status|retry|reconcile` and `apps show --json` through the console script, against
the test database (SQLite and PostgreSQL) and the real scim2-server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.directory import InMemoryDirectory
from bot.service import LicensingService
from storage.uow import UnitOfWorkFactory
from tests.provisioning.conftest import deliver_all
from tests.support.cli_runner import clean_env, run_cli
from tests.support.core import A1, A2, ADMIN, snapshot
from tests.support.scim_server import TOKEN, ScimServer

TOKEN_ENV = "CONTOSO_SCIM_TOKEN"


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with ScimServer() as server:
        yield server


def run(database_url: str, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env(DATABASE_URL=database_url).items() if not k.startswith(TOKEN_ENV)}
    if token is not None:
        env[TOKEN_ENV] = token
    return run_cli(args, env)


def write_catalog(tmp_path: Path, url: str) -> str:
    path = tmp_path / "catalog.yml"
    path.write_text(f"""apps:
  - name: Contoso CRM
    seats: 5
    purchased_via: marketplace
    provisioning: {{scim_url: "{url}", token_env: {TOKEN_ENV}}}
  - name: Plain App
    seats: 5
    purchased_via: marketplace
""")
    return str(path)


def test_status_retry_reconcile_and_apps_show(database_url: str, engine: Engine, scim: ScimServer,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imported = run(database_url, "apps", "import", write_catalog(tmp_path, scim.url))
    assert imported.returncode == 0, imported.stderr
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id])
    service.assignments.assign(ADMIN, "Contoso CRM", users=[A1, A2])  # nothing delivers: both pending

    status = json.loads(run(database_url, "provision", "status", "contoso", "--json").stdout)
    assert status["counts"] == {"pending": 2, "provisioned": 0, "failed": 0} and status["token_set"] is True
    assert status["token_env"] == TOKEN_ENV and TOKEN not in json.dumps(status)
    text = run(database_url, "provision", "status", "contoso", token=None).stdout
    assert "0 provisioned, 2 pending, 0 failed" in text and f"{TOKEN_ENV}: NOT SET" in text

    shown = json.loads(run(database_url, "apps", "show", "contoso", "--json").stdout)
    assert shown["provisioning"]["counts"]["pending"] == 2
    assert json.loads(run(database_url, "apps", "show", "plain", "--json").stdout)["provisioning"] is None
    assert f"provisioning:   0 provisioned, 2 pending, 0 failed ({scim.url})" in run(
        database_url, "apps", "show", "contoso").stdout

    retried = run(database_url, "provision", "retry", "contoso")
    assert retried.returncode == 0 and "0 failed user(s) queued again" in retried.stdout

    drift = run(database_url, "provision", "reconcile", "contoso")
    assert drift.returncode == 0, drift.stderr
    assert "0 active at the vendor without a seat, 2 seat(s) without an active vendor user" in drift.stdout
    assert "run again with --fix" in drift.stdout

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    from bot.directory import User
    from handlers.scim.vendor import scim_vendor
    from tests.provisioning.conftest import PEOPLE

    for user_id in (A1, A2):
        service.directory.put_user(User(user_id, PEOPLE[user_id], email=f"{PEOPLE[user_id]}@example.com"))  # type: ignore[attr-defined]
    service.provisioning.connect(scim_vendor)
    deliver_all(service)
    assert run(database_url, "provision", "reconcile", "contoso").stdout.startswith(
        "Contoso CRM: 0 active at the vendor without a seat, 0 seat(s)")


def test_bad_input_is_one_line_and_exit_2(database_url: str, engine: Engine, scim: ScimServer,
                                          tmp_path: Path) -> None:
    run(database_url, "apps", "import", write_catalog(tmp_path, scim.url))
    before = snapshot(engine)
    for args in (("provision", "status", "plain"), ("provision", "retry", "nothing-like-it"),
                 ("provision", "reconcile", "plain", "--fix")):
        result = run(database_url, *args)
        assert result.returncode == 2 and result.stdout == "", (args, result.stdout)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Plain App is not provisioned" in run(database_url, "provision", "status", "plain").stderr
    unreachable = run(database_url, "provision", "reconcile", "contoso", token=None)
    assert unreachable.returncode == 2 and f"{TOKEN_ENV} is not set" in unreachable.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("apps:\n  - {name: X, seats: 1, purchased_via: marketplace, provisioning: "
                   "{scim_url: 'http://vendor.example/scim', token_env: X_TOKEN}}\n")
    refused = run(database_url, "apps", "import", str(bad))
    assert refused.returncode == 2 and "provisioning.scim_url" in refused.stderr and "https" in refused.stderr
    assert snapshot(engine) == before
