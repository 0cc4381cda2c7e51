"""Provisioning against the real scim2-server: the service on SQLite and PostgreSQL, connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.delivery import Deliverer
from bot.directory import InMemoryDirectory, User
from bot.notify import Kind
from bot.outbox import OutboxMessage, Outcome, Sent
from bot.service import LicensingService
from handlers.scim.vendor import scim_vendor
from tests.support.core import A1, A2, A3, ADMIN, B1, B2, add_app
from tests.support.scim_server import TOKEN, ScimServer

TOKEN_ENV = "LICENSEBOT_TEST_SCIM_TOKEN"
APP = "Contoso CRM"
PEOPLE = {A1: "alice", A2: "arthur", A3: "anna", B1: "bruno", B2: "bella"}


def email(user_id: str) -> str:
    return f"{PEOPLE[user_id]}@example.com"


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with ScimServer() as server:
        yield server


@pytest.fixture
def people(directory: InMemoryDirectory) -> InMemoryDirectory:
    for user_id, name in PEOPLE.items():
        directory.put_user(User(user_id, name, name.title() + " Example", email=f"{name}@example.com"))
    return directory


@pytest.fixture
def provisioned(service: LicensingService, people: InMemoryDirectory, scim: ScimServer,
                monkeypatch: pytest.MonkeyPatch) -> LicensingService:
    """The service with Contoso CRM (10 seats) provisioned into the scim2-server."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    service.provisioning.connect(scim_vendor)
    add_app(service, APP, 10, provisioning={"scim_url": scim.url, "token_env": TOKEN_ENV})
    return service


def slack_sent(message: OutboxMessage) -> Outcome:
    return Sent()  # the Slack messages of these tests are not what they check


def deliverer(service: LicensingService) -> Deliverer:
    return Deliverer(service.outbox, slack_sent, routes={Kind.PROVISION: service.provisioning.deliver})


def deliver_all(service: LicensingService) -> int:
    """What serve's deliverer would do: every message due now, until none is."""
    worker, total = deliverer(service), 0
    while (n := worker.deliver(16)) > 0:
        total += n
    return total


__all__ = ["ADMIN", "APP", "TOKEN_ENV", "deliver_all", "email"]
