"""A fresh PostgreSQL schema per test or benchmark run: the tables of one never meet another's."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine

from storage.db import normalize_url


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
