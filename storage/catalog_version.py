"""Whether a transaction changed what the catalog's reads show (apps, their seats, their waitlists), and the
shared version number that tells every process so.

A statement that writes one of those tables marks its connection (a cursor event: it sees what the ORM
flushes, bulk statements and Core DML alike). A unit of work that commits such a change bumps the one row of
`catalog_version` in the same transaction, so a process that caches what it read (bot/catalog_cache.py)
learns of another process's change by reading one number, and of its own at once (after its commit).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, event, select, update

from storage.models import CatalogVersionRow

CATALOG_TABLES = frozenset({"apps", "seats", "grants"})
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_MARK = "licensebot.catalog_written"

BUMP = update(CatalogVersionRow).where(CatalogVersionRow.id == 1).values(n=CatalogVersionRow.n + 1)
READ = select(CatalogVersionRow.n).where(CatalogVersionRow.id == 1)


def track_catalog_writes(engine: Engine) -> None:
    """Marks each connection of `engine` that wrote a catalog table in its current transaction (once per
    engine)."""
    if event.contains(engine, "before_cursor_execute", _seen):
        return
    event.listen(engine, "before_cursor_execute", _seen)
    event.listen(engine, "rollback", _forget)
    event.listen(engine.pool, "checkin", _forget_record)


def catalog_written(conn: Connection) -> bool:
    """Whether this connection's transaction wrote a catalog table; reading it clears the mark."""
    return bool(conn.info.pop(_MARK, False))


def _seen(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    match = _WRITE.match(statement)
    if match and match.group(1).lower() in CATALOG_TABLES:
        conn.info[_MARK] = True


def _forget(conn: Connection) -> None:
    conn.info.pop(_MARK, None)  # rolled back: nothing changed


def _forget_record(_dbapi_conn: Any, record: Any) -> None:
    record.info.pop(_MARK, None)
