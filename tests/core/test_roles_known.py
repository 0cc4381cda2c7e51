"""Issue 10, defect 12: a door with the workspace's directory grants roles only to ids it knows
(`known_only`); unknown ids and deleted accounts are refused with UnknownUser and nothing is written.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.directory import InMemoryDirectory, User
from bot.errors import UnknownUser
from bot.service import LicensingService
from tests.support.core import ADMIN, snapshot


def test_only_known_ids_get_a_role_when_the_door_asks(
    service: LicensingService, engine: Engine, directory: InMemoryDirectory
) -> None:
    directory.put_user(User("U0KNOWN1", "known"))
    directory.put_user(User("U0GONE01", "gone", deleted=True))
    before = snapshot(engine)
    for user_id in ("U0NOPE01", "U0GONE01"):
        with pytest.raises(UnknownUser) as refused:
            service.roles.grant(ADMIN, user_id, "license-admin", known_only=True)
        assert refused.value.user_id == user_id
    assert snapshot(engine) == before
    assert service.roles.grant(ADMIN, "U0KNOWN1", "license-admin", known_only=True)
    assert service.roles.grant(ADMIN, "U0NOPE01", "license-admin")  # the CLI's way: taken as given
