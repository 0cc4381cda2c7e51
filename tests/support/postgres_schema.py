"""A fresh PostgreSQL schema per test or benchmark run: the tables of one never meet another's."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event

from storage.db import make_engine, normalize_url, upgrade_schema


@contextlib.contextmanager
def fresh_schema(base_url: str, prefix: str = "t") -> Iterator[str]:
    """Creates a schema on the server at `base_url`, yields a URL whose search_path is that schema, and
    drops it (with everything in it) afterwards. Raises if the server cannot be reached."""
    base = normalize_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    created = False
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        created = True
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{name}"
    finally:
        if created:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


Statement = tuple[str, Any]


def record_migrations(base_url: str) -> list[Statement]:
    """What the migrations write into an empty schema (their reads of the catalog left out), recorded once
    in a schema of its own: `replay` builds the same tables in a fresh schema in one transaction, without
    Alembic's half second of Python. tests/storage/test_migrations.py runs the migrations themselves."""
    written: list[Statement] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "SHOW")):
            written.append((statement, parameters))

    with fresh_schema(base_url, "migrated") as url:
        engine = make_engine(url)
        try:
            event.listen(engine, "before_cursor_execute", record)
            upgrade_schema(engine)
        finally:
            engine.dispose()
    return written


def replay(engine: Engine, statements: list[Statement]) -> None:
    """`record_migrations`' statements on `engine`'s (empty) schema: those without parameters sent together."""
    with engine.begin() as conn:
        batch: list[str] = []
        for statement, parameters in [*statements, ("", None)]:
            if batch and (parameters or not statement):
                conn.exec_driver_sql(";\n".join(batch))
                batch = []
            if parameters:
                conn.exec_driver_sql(statement, parameters)
            elif statement:
                batch.append(statement)
