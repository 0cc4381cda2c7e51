"""SPEC §4: a double click or a retried delivery does not assign, unassign or change seats twice, nor audit
twice — also when both copies arrive at the same moment.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.service import LicensingService
from tests.support.core import ADMIN, BILLING_ADMIN, DESIGN, LICENSE_ADMIN, add_app, audit_actions, snapshot

APP = "Contoso CRM"
HOLDER = "UHOLDER1"

# operation -> (the call, given an idempotency key; the audit action it writes)
OPERATIONS: dict[str, tuple[Callable[[LicensingService, str], Any], str]] = {
    "assign": (lambda s, key: s.assignments.assign(LICENSE_ADMIN, APP, ["UNEW0001"], [DESIGN], idempotency_key=key), "assign"),
    "unassign": (lambda s, key: s.assignments.unassign(LICENSE_ADMIN, APP, [HOLDER], idempotency_key=key), "unassign"),
    "set_seats": (lambda s, key: s.assignments.set_seats(BILLING_ADMIN, APP, 12, idempotency_key=key), "seats"),
}


@pytest.fixture
def app(service: LicensingService) -> str:
    add_app(service, APP, 10)
    service.assignments.assign(ADMIN, APP, [HOLDER])
    return APP


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_the_same_submission_twice_acts_and_audits_once(
    service: LicensingService, engine: Engine, app: str, operation: str
) -> None:
    call, action = OPERATIONS[operation]
    audited_before = audit_actions(engine).count(action)

    first = call(service, "view-123:submit")
    after_first = snapshot(engine)
    second = call(service, "view-123:submit")

    assert (first.replayed, second.replayed) == (False, True)
    assert second.as_json() == first.as_json()  # the replay reports what the first one did
    assert second.app == first.app
    assert snapshot(engine) == after_first  # nothing written the second time, not even an audit entry
    assert audit_actions(engine).count(action) == audited_before + 1


def test_another_key_is_another_change(service: LicensingService, engine: Engine, app: str) -> None:
    service.assignments.set_seats(BILLING_ADMIN, app, 12, idempotency_key="k1")
    outcome = service.assignments.set_seats(BILLING_ADMIN, app, 15, idempotency_key="k2")

    assert (outcome.replayed, outcome.before, outcome.after) == (False, 12, 15)
    assert audit_actions(engine).count("seats") == 2


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_the_same_submission_from_two_threads_at_once_acts_once(
    service: LicensingService, engine: Engine, app: str, operation: str
) -> None:
    call, action = OPERATIONS[operation]
    audited_before = audit_actions(engine).count(action)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def submit() -> None:
        barrier.wait()
        try:
            results.append(call(service, "delivery-42"))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sorted(r.replayed for r in results) == [False, True]
    assert results[0].as_json() == results[1].as_json()
    assert audit_actions(engine).count(action) == audited_before + 1
