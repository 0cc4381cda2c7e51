"""The sample catalog the end-to-end tests and benchmarks start from, imported as the operator would."""

from __future__ import annotations

from bot.directory import InMemoryDirectory
from bot.domain import Actor
from bot.service import LicensingService
from handlers.cli.catalog_file import parse_catalog
from storage.db import make_engine, upgrade_schema
from storage.uow import UnitOfWorkFactory

SAMPLE_CATALOG = """
apps:
  - name: Contoso CRM
    vendor: Contoso Ltd
    seats: 5
    purchased_via: marketplace
    provider_contact: sales@contoso.example
    install_url: https://contoso.example/install
    renewal_date: 2027-03-01
  - name: Fabrikam Design
    vendor: Fabrikam
    seats: 3
    purchased_via: provider
    provider_contact: reseller@fabrikam.example
    install_url: https://fabrikam.example/install
"""


def seed_catalog(database_url: str, catalog: str = SAMPLE_CATALOG) -> None:
    """Imports a catalog the way the CLI does (as the operator), before or while the bot runs."""
    engine = make_engine(database_url)
    try:
        upgrade_schema(engine)
        LicensingService(UnitOfWorkFactory(engine), InMemoryDirectory()).catalog.import_apps(
            Actor.cli(), parse_catalog(catalog)
        )
    finally:
        engine.dispose()
