"""Issue 10, defect 4: the audit log is tamper-evident. What the database can refuse it refuses (UPDATE,
DELETE, TRUNCATE on PostgreSQL, REPLACE on SQLite); what a holder of its keys can still do (lift the
triggers, rewrite, remove, reorder) `verify` names, at the first entry where the chain breaks.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from bot.domain import Actor, AuditCheck
from bot.errors import PermissionDenied
from bot.service import LicensingService
from storage.db import is_sqlite
from tests.support.audit_tamper import entry_ids, swap, tamper
from tests.support.core import ADMIN, NOBODY, add_app


@pytest.fixture
def logged(service: LicensingService) -> LicensingService:
    """A few entries: roles granted by the fixture, an app imported, seats assigned and unassigned."""
    add_app(service, "Contoso CRM", 100)
    service.assignments.assign(ADMIN, "Contoso CRM", ["U00000A1", "U00000A2"])
    service.assignments.unassign(ADMIN, "Contoso CRM", ["U00000A1"])
    service.roles.grant(ADMIN, "U00000A3", "user-admin")
    return service


def test_an_untouched_log_verifies(logged: LicensingService, engine: Engine) -> None:
    ids = entry_ids(engine)
    assert len(ids) >= 5
    assert logged.audit.verify(ADMIN) == AuditCheck(len(ids))
    with pytest.raises(PermissionDenied):
        logged.audit.verify(NOBODY)


def test_the_database_refuses_update_delete_truncate_and_replace(logged: LicensingService, engine: Engine) -> None:
    first = entry_ids(engine)[0]
    refused = [f"UPDATE audit_log SET actor = 'UFORGED1' WHERE id = {first}", "DELETE FROM audit_log"]
    if is_sqlite(engine):
        refused += [f"REPLACE INTO audit_log (id, at, actor, via, action, targets, detail) "
                    f"VALUES ({first}, CURRENT_TIMESTAMP, 'UFORGED1', 'cli', 'role.grant', '[]', '{{}}')",
                    "DELETE FROM audit_chain"]
    else:
        refused += ["TRUNCATE audit_log", "TRUNCATE audit_chain", "DELETE FROM audit_chain"]
    for statement in refused:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert logged.audit.verify(ADMIN).intact


def test_a_rewritten_entry_is_named(logged: LicensingService, engine: Engine) -> None:
    ids = entry_ids(engine)
    tamper(engine, f"UPDATE audit_log SET actor = 'UFORGED1' WHERE id = {ids[2]}")
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id, check.entries) == ("rewritten", ids[2], 2)


def test_a_rewritten_entry_with_its_hash_recomputed_breaks_the_next_link(logged: LicensingService, engine: Engine) -> None:
    from storage.audit_chain import entry_hash, row_contents
    from storage.models import AuditRow

    ids = entry_ids(engine)
    with engine.connect() as conn:
        row = conn.execute(AuditRow.__table__.select().where(AuditRow.id == ids[1])).one()
    forged = SimpleNamespace(**{**row._mapping, "actor": "UFORGED1"})
    digest = entry_hash(row.prev_hash, row_contents(forged))
    tamper(engine, f"UPDATE audit_log SET actor = 'UFORGED1', hash = '{digest}' WHERE id = {ids[1]}")
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id, check.after) == ("unlinked", ids[2], ids[1])


def test_a_removed_entry_is_named(logged: LicensingService, engine: Engine) -> None:
    ids = entry_ids(engine)
    tamper(engine, f"DELETE FROM audit_log WHERE id = {ids[2]}")
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id, check.after) == ("unlinked", ids[3], ids[1])


def test_entries_removed_from_the_end_are_noticed(logged: LicensingService, engine: Engine) -> None:
    ids = entry_ids(engine)
    tamper(engine, f"DELETE FROM audit_log WHERE id >= {ids[-2]}")
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id, check.after) == ("truncated", ids[-1], ids[-3])


def test_reordered_entries_are_named(logged: LicensingService, engine: Engine) -> None:
    ids = entry_ids(engine)
    swap(engine, ids[1], ids[2])
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id, check.after) == ("unlinked", ids[1], ids[0])


def test_an_entry_written_around_the_bot_is_named(logged: LicensingService, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor, via, action, targets, detail) "
                          "VALUES (CURRENT_TIMESTAMP, 'UFORGED1', 'cli', 'role.grant', '[]', '{}')"))
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id) == ("unchained", entry_ids(engine)[-1])


def test_the_chain_holds_under_concurrent_writers(logged: LicensingService, engine: Engine) -> None:
    """Eight threads audit at once (each its own transaction): one chain, numbered in its order."""
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def work(number: int) -> None:
        barrier.wait(timeout=30)
        try:
            for step in range(5):
                logged.roles.grant(ADMIN, f"U0RACE{number}{step}", "user-admin")
                logged.assignments.assign(ADMIN, "Contoso CRM", [f"U0SEAT{number}{step}"])
        except Exception as error:  # reported to the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    check = logged.audit.verify(ADMIN)
    assert check.intact and check.entries == len(entry_ids(engine)), check


def test_a_change_rolled_back_leaves_no_entry_and_the_chain_intact(logged: LicensingService, engine: Engine) -> None:
    before = entry_ids(engine)
    with pytest.raises(PermissionDenied):
        logged.roles.grant(Actor("UNOBODY1"), "U00000A4", "user-admin")
    assert entry_ids(engine) == before and logged.audit.verify(ADMIN).intact


def test_an_entry_chained_by_hand_past_the_head_is_named(logged: LicensingService, engine: Engine) -> None:
    from storage.audit_chain import canonical, entry_hash

    with engine.connect() as conn:
        last_hash = conn.scalar(text("SELECT last_hash FROM audit_chain"))
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    digest = entry_hash(last_hash, canonical(at, "UFORGED1", "cli", "role.grant", None, [], {}, None, None, None))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (at, actor, via, action, targets, detail, prev_hash, hash) "
                          "VALUES (:at, 'UFORGED1', 'cli', 'role.grant', '[]', '{}', :prev, :hash)"),
                     {"at": at, "prev": last_hash, "hash": digest})
    check = logged.audit.verify(ADMIN)
    assert (check.problem, check.entry_id) == ("unchained", entry_ids(engine)[-1])


def test_verify_beside_a_writer_finds_the_log_intact(logged: LicensingService, engine: Engine) -> None:
    """Entries appended while verify walks the log are not taken for tampering."""
    done = threading.Event()

    def write() -> None:
        step = 0
        while not done.is_set():
            logged.roles.grant(ADMIN, f"U0W{step:06d}", "user-admin")
            step += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        checks = [logged.audit.verify(ADMIN) for _ in range(15)]
    finally:
        done.set()
        writer.join(30)
    assert all(check.intact for check in checks), [c for c in checks if not c.intact]
