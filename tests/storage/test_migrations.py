"""The Alembic migrations (storage/migrations): they build the schema the models describe, on SQLite and on
PostgreSQL, repeatably and reversibly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from storage.db import alembic_config, make_engine, upgrade_schema
from storage.models import Base

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (no schema yet)."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite:///unused.db")).get_current_head()


def downgrade(engine: Engine, target: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)


def assert_append_only(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_log (at, actor, via, action, targets, detail) "
                 "VALUES (CURRENT_TIMESTAMP, 'cli', 'cli', 'note', '[]', '{}')")
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_upgrade_on_an_empty_database_creates_the_schema(empty_engine: Engine) -> None:
    assert tables(empty_engine) == set()

    upgrade_schema(empty_engine)

    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert revision(empty_engine) == head()
    assert_append_only(empty_engine)


def test_upgrading_twice_is_a_no_op_that_keeps_the_data(empty_engine: Engine) -> None:
    upgrade_schema(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO processed_events (event_id, received_at) VALUES ('Ev1', CURRENT_TIMESTAMP)"))

    upgrade_schema(empty_engine)

    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert revision(empty_engine) == head()
    with empty_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM processed_events")) == 1
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1


def test_downgrade_to_base_then_upgrade_rebuilds_the_schema(empty_engine: Engine) -> None:
    upgrade_schema(empty_engine)

    downgrade(empty_engine, "base")

    assert tables(empty_engine) <= {"alembic_version"}
    assert revision(empty_engine) is None

    upgrade_schema(empty_engine)

    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert revision(empty_engine) == head()
    assert_append_only(empty_engine)  # the trigger came back too


def test_the_models_match_the_migrations(empty_engine: Engine) -> None:
    upgrade_schema(empty_engine)

    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, Base.metadata)

    assert diffs == []


def test_the_head_read_from_the_files_is_alembics() -> None:
    from storage.db import schema_head

    assert schema_head() == head()


def test_a_schema_at_head_is_left_without_importing_alembic(sqlite_url: str) -> None:
    """What keeps Alembic's modules out of `serve`'s long-lived process on every start but the first."""
    import subprocess
    import sys

    program = ("import sys; from storage.db import make_engine, upgrade_schema; "
               f"upgrade_schema(make_engine({sqlite_url!r})); print(sorted(m for m in sys.modules if m == 'alembic'))")
    first = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "['alembic']"  # an empty database: Alembic builds it
    again = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "[]"


def test_a_long_lived_process_upgrades_in_a_child_and_never_imports_alembic(database_url: str) -> None:
    import subprocess
    import sys

    program = ("import sys; from storage.db import make_engine, upgrade_schema_apart; "
               f"upgrade_schema_apart(make_engine({database_url!r})); "
               "print(sorted(m for m in sys.modules if m == 'alembic'))")
    for _ in range(2):  # an empty database (the child builds it), then one at head (nothing to do)
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "[]"
    engine = make_engine(database_url)
    try:
        assert revision(engine) == head() and tables(engine) >= MODEL_TABLES
    finally:
        engine.dispose()


def test_a_failed_upgrade_in_the_child_is_one_line(sqlite_url: str) -> None:
    from storage.db import SchemaUpgradeFailed, upgrade_schema_apart

    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as conn:  # a database from a newer Licensebot: Alembic cannot go on from there
            conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
        with pytest.raises(SchemaUpgradeFailed) as caught:
            upgrade_schema_apart(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert message.startswith("cannot upgrade the schema: ") and "9999_from_the_future" in message
    assert "\n" not in message
