"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and the real service over it.

PostgreSQL tests read their server from LICENSEBOT_TEST_POSTGRES_URL and skip with a reason where it is
absent — except in CI (CI=true), where an absent server is a failure, never a silent skip.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from storage.db import make_engine, normalize_url, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.postgres_schema import fresh_schema

if TYPE_CHECKING:
    from tests.bot_process import BotProcess
    from tests.fake_slack import FakeSlack

POSTGRES_ENV = "LICENSEBOT_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

ADMIN = Actor("UADMIN01")  # made a global admin through the service's env list
LICENSE_ADMIN = Actor("ULICADM1")
BILLING_ADMIN = Actor("UBILLADM")
NOBODY = Actor("UNOBODY1")


def postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        if IN_CI:
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: PostgreSQL tests must run there", pytrace=False)
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return normalize_url(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server; the URL points its search_path there."""
    base = postgres_base_url()
    assert base is not None
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_schema(base))
        except Exception as error:  # noqa: BLE001 - any failure to reach the server
            if IN_CI:
                pytest.fail(f"PostgreSQL at {base} is not reachable: {error}", pytrace=False)
            pytest.skip(f"PostgreSQL at {base} is not reachable: {error}")
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'licensebot.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every test that takes this runs on both databases."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory(
        groups=[
            Group("SDESIGN1", "design", "Design team", ("U00000A1", "U00000A2", "U00000A3")),
            Group("SENGINE1", "engineering", "Engineering", ("U00000A3", "U00000B1", "U00000B2")),
        ]
    )


@pytest.fixture
def service(engine: Engine, directory: InMemoryDirectory) -> LicensingService:
    svc = LicensingService(UnitOfWorkFactory(engine), directory, global_admins=[ADMIN.user_id])
    svc.grant_role(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    svc.grant_role(ADMIN, BILLING_ADMIN.user_id, "billing-admin")
    return svc


# ---------------------------------------------------------------------- end to end: the bot as a process
SAMPLE_CATALOG = """
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 5
    purchased_via: marketplace
    provider_contact: sales@contoso.example
    install_url: https://contoso.example/install
    renewal_date: 2027-03-01
  - name: Fabrikam Design
    vendor: Fabrikam
    seats: 3
    purchased_via: provider
    provider_contact: reseller@fabrikam.example
    install_url: https://fabrikam.example/install
"""


def seed_catalog(database_url: str, catalog: str = SAMPLE_CATALOG) -> None:
    """Imports a catalog the way the CLI does (as the operator), before or while the bot runs."""
    from bot.catalog import parse_catalog

    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory()).import_apps(
            Actor.cli(), parse_catalog(catalog)
        )
    finally:
        engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator["FakeSlack"]:
    from tests.fake_slack import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def bot(fake_slack: "FakeSlack", sqlite_url: str) -> Iterator["BotProcess"]:
    """`licensebot serve` on SQLite with the sample catalog, global admin UADMIN01, against the fake Slack."""
    from tests.bot_process import BotProcess

    seed_catalog(sqlite_url)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process
