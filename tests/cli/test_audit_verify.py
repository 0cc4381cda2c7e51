"""`licensebot audit verify` (issue 10, defect 4) through the console script, on SQLite and PostgreSQL:
exit 0 when the chain is intact, 1 with one line naming the first bad entry; and the migration that
added the chain hashed the entries written before it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, text

from bot.directory import InMemoryDirectory
from bot.service import LicensingService
from storage.db import alembic_config, is_sqlite, make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory
from tests.cli.test_cli import licensebot
from tests.support.audit_tamper import COLUMNS, entry_ids, tamper
from tests.support.core import ADMIN, add_app


def audited(url: str) -> Engine:
    engine = make_engine(url)
    upgrade_schema(engine)
    service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id])
    add_app(service, "Contoso CRM", 10)
    service.assignments.assign(ADMIN, "Contoso CRM", ["U00000A1", "U00000A2"])
    service.roles.grant(ADMIN, "U00000A3", "license-admin")
    return engine


def assert_tampered(url: str, fragment: str) -> None:
    result = licensebot("audit", "verify", database_url=url)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("licensebot: audit log tampered: ") and fragment in result.stderr, result.stderr


def test_verify_passes_an_intact_log_and_names_a_rewritten_entry(database_url: str) -> None:
    engine = audited(database_url)
    try:
        ids = entry_ids(engine)
        result = licensebot("audit", "verify", database_url=database_url)
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout == f"audit log intact: {len(ids)} entries, each chained to the one before\n"

        if is_sqlite(engine):  # the attack: REPLACE INTO over an entry, keeping its hashes
            tamper(engine, f"REPLACE INTO audit_log (id, {COLUMNS}) SELECT id, at, 'UFORGED1', via, action, app, "
                           f"targets, detail, seats_total, seats_assigned, seats_available, prev_hash, hash "
                           f"FROM audit_log WHERE id = {ids[1]}")
        else:
            tamper(engine, f"UPDATE audit_log SET actor = 'UFORGED1' WHERE id = {ids[1]}")
        assert_tampered(database_url, f"entry {ids[1]} was changed after it was written")
    finally:
        engine.dispose()


def test_verify_names_a_removed_entry(database_url: str) -> None:
    engine = audited(database_url)
    try:
        ids = entry_ids(engine)
        tamper(engine, f"DELETE FROM audit_log WHERE id = {ids[1]}")
        assert_tampered(database_url, f"entry {ids[2]} does not follow entry {ids[0]}")
    finally:
        engine.dispose()


def test_the_migration_chains_the_entries_written_before_it(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004_core_group_members")
        with engine.begin() as conn:
            for actor in ("UOLD0001", "UOLD0002", "UOLD0003"):
                conn.execute(text("INSERT INTO audit_log (at, actor, via, action, targets, detail) VALUES "
                                  "('2026-01-02 03:04:05.123456', :actor, 'cli', 'role.grant', '[\"U1\"]', "
                                  "'{\"role\": \"user-admin\"}')"), {"actor": actor})
        upgrade_schema(engine)
        ids = entry_ids(engine)
        assert len(ids) == 3
        assert licensebot("audit", "verify", database_url=database_url).returncode == 0
        service = LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory(), global_admins=[ADMIN.user_id])
        service.roles.grant(ADMIN, "U00000A3", "license-admin")  # chained after the old ones
        assert service.audit.verify(ADMIN).entries == 4
        tamper(engine, f"UPDATE audit_log SET actor = 'UFORGED1' WHERE id = {ids[0]}")
        assert_tampered(database_url, f"entry {ids[0]} was changed")
    finally:
        engine.dispose()
