"""Wiring: settings → engine (schema brought up to date) → unit of work → the licensing service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bot.config import Settings, SettingsError
from bot.directory import Directory, InMemoryDirectory
from bot.service import LicensingService
from storage.db import backend_of, make_engine, single_use_engine, sqlite_backup, upgrade_schema, upgrade_schema_apart
from storage.uow import UnitOfWorkFactory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    service: LicensingService

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # a command's connections closed however it ends


def build_runtime(
    settings: Settings, directory: Directory | None = None, *, pooled: bool = True, migrate: bool = True,
    long_lived: bool = False,
) -> Runtime:
    """`long_lived` (`serve`): the schema is upgraded in a child process, so Alembic is never imported here."""
    try:
        engine = make_engine(settings.database_url) if pooled else single_use_engine(settings.database_url)
    except ValueError as error:
        raise SettingsError(f"DATABASE_URL: {error}") from None
    if migrate:
        (upgrade_schema_apart if long_lived else upgrade_schema)(engine)
    uow = UnitOfWorkFactory(engine)
    service = LicensingService(
        uow,
        directory if directory is not None else InMemoryDirectory(),
        global_admins=settings.licensebot_global_admins,
        request_ttl_hours=settings.licensebot_request_ttl_hours,
        reclaim_days=settings.licensebot_reclaim_days,
        alerts_channel=settings.licensebot_alerts_channel or None,
    )
    return Runtime(settings, engine, uow, service)


def backup_database(settings: Settings, target: Path) -> int:
    """A consistent copy of the SQLite database at `target` (its size in bytes), safe while `serve` runs.
    Raises BackupUnsupported on PostgreSQL (pg_dump does it), FileNotFoundError without a database."""
    try:
        backend = backend_of(settings.database_url)
    except ValueError as error:
        raise SettingsError(f"DATABASE_URL: {error}") from None
    if backend != "sqlite":
        raise BackupUnsupported(backend)
    return sqlite_backup(settings.database_url, target)


class BackupUnsupported(Exception):
    def __init__(self, backend: str) -> None:
        super().__init__(backend)
        self.backend = backend
