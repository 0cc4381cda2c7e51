"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and the real service over it.

PostgreSQL tests read their server from LICENSEBOT_TEST_POSTGRES_URL and skip with a reason where it is
absent — except in CI (CI=true), where an absent server is a failure, never a silent skip.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, inspect, make_url

from bot.directory import Group, InMemoryDirectory
from bot.service import LicensingService
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.support.catalogs import seed_catalog
from tests.support.core import ADMIN, BILLING_ADMIN, LICENSE_ADMIN
from tests.support.databases import IN_CI, postgres_base_url
from tests.support.postgres_schema import Statement, fresh_schema, record_migrations, replay

if TYPE_CHECKING:
    from tests.support.bot_process import BotProcess
    from tests.support.fake_slack import FakeSlack


def pytest_sessionstart(session: pytest.Session) -> None:
    """Our modules compiled once, where Python looks for them: the suite starts `licensebot serve` some
    hundreds of times, and where PYTHONDONTWRITEBYTECODE is set (as on our machines) each start would
    otherwise compile every module of ours again, about half a second. Up-to-date files are left alone."""
    import compileall

    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller compiled them
        return
    root = Path(__file__).resolve().parent.parent
    for package in ("bot", "handlers", "storage", "tests"):
        compileall.compile_dir(root / package, quiet=2)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server; the URL points its search_path there."""
    base = postgres_base_url()
    assert base is not None
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_schema(base))
        except Exception as error:  # any failure to reach the server
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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations brought to the newest revision, once for the whole run."""
    path = tmp_path_factory.mktemp("template") / "licensebot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    engine.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture(scope="session")
def postgres_migrations() -> list[Statement]:
    base = postgres_base_url()
    assert base is not None
    return record_migrations(base)


@pytest.fixture
def engine(database_url: str, migrated_sqlite: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The test's database at the newest revision, built from the migrations run once for the whole run
    (Alembic costs 0.2 s a test on SQLite, 0.5 s on PostgreSQL): a SQLite one starts as a copy of
    `migrated_sqlite`, a PostgreSQL schema replays what they wrote; `upgrade_schema` then finds it at head."""
    file = make_url(database_url).database if database_url.startswith("sqlite") else None
    if file and not Path(file).exists():
        shutil.copyfile(migrated_sqlite, file)
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql" and not inspect(engine).get_table_names():
        replay(engine, request.getfixturevalue("postgres_migrations"))
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
    svc.roles.grant(ADMIN, LICENSE_ADMIN.user_id, "license-admin")
    svc.roles.grant(ADMIN, BILLING_ADMIN.user_id, "billing-admin")
    return svc


# ---------------------------------------------------------------------- end to end: the bot as a process
@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    from tests.support.fake_slack import FakeSlack

    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def bot(fake_slack: FakeSlack, sqlite_url: str) -> Iterator[BotProcess]:
    """`licensebot serve` on SQLite with the sample catalog, global admin UADMIN01, against the fake Slack."""
    from tests.support.bot_process import BotProcess

    seed_catalog(sqlite_url)
    with BotProcess(fake_slack, sqlite_url) as process:
        yield process
