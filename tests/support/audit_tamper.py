"""An attacker with the database's keys: lifts the audit log's triggers and rewrites, removes or reorders
entries, as `audit verify` must notice."""

from __future__ import annotations

from sqlalchemy import Engine, text

from storage.db import is_sqlite

COLUMNS = "at, actor, via, action, app, targets, detail, seats_total, seats_assigned, seats_available, prev_hash, hash"


def tamper(engine: Engine, *statements: str) -> None:
    """Runs the statements with every trigger of the audit log out of the way."""
    with engine.begin() as conn:
        if is_sqlite(engine):
            for name in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(text(statement))
        if not is_sqlite(engine):
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def swap(engine: Engine, first: int, second: int) -> None:
    """Exchanges two entries' whole contents, hashes included: the log reordered."""
    sets = ", ".join(f"{c} = (SELECT {c} FROM audit_copy WHERE audit_copy.id = "
                     f"CASE audit_log.id WHEN {first} THEN {second} ELSE {first} END)" for c in COLUMNS.split(", "))
    tamper(engine,
           f"CREATE TABLE audit_copy AS SELECT id, {COLUMNS} FROM audit_log WHERE id IN ({first}, {second})",
           f"UPDATE audit_log SET {sets} WHERE id IN ({first}, {second})",
           "DROP TABLE audit_copy")


def entry_ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT id FROM audit_log ORDER BY id")))
