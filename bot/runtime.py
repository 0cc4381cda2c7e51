"""Wiring: settings → engine (schema brought up to date) → unit of work → the licensing service."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings, SettingsError
from bot.directory import Directory, InMemoryDirectory
from bot.service import LicensingService
from storage.db import make_engine, single_use_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    service: LicensingService

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(
    settings: Settings, directory: Directory | None = None, *, pooled: bool = True, migrate: bool = True
) -> Runtime:
    try:
        engine = make_engine(settings.database_url) if pooled else single_use_engine(settings.database_url)
    except ValueError as error:
        raise SettingsError(f"DATABASE_URL: {error}") from None
    if migrate:
        upgrade_schema(engine)
    uow = UnitOfWorkFactory(engine)
    service = LicensingService(
        uow,
        directory if directory is not None else InMemoryDirectory(),
        global_admins=settings.licensebot_global_admins,
        request_ttl_hours=settings.licensebot_request_ttl_hours,
    )
    return Runtime(settings, engine, uow, service)
