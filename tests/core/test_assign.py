"""SPEC §1 Assignment: one seat per user whatever the sources, all-or-nothing assignment, group
assignment at assignment time, and unassignment that takes back only what a source gave.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.directory import InMemoryDirectory
from bot.errors import GroupNotAssigned, InvalidInput, NotAssigned, NotDirectlyAssigned, NotEnoughLicenses
from bot.service import LicensingService
from tests.support.core import (
    A1,
    A2,
    A3,
    ADMIN,
    B1,
    B2,
    DESIGN,
    ENGINEERING,
    LICENSE_ADMIN,
    add_app,
    audit_actions,
    seat_state,
    snapshot,
    sync_members,
)


def test_a_user_licensed_directly_and_through_two_groups_uses_one_seat(service: LicensingService) -> None:
    app = add_app(service, seats=5)

    outcome = service.assignments.assign(LICENSE_ADMIN, app, [A3], [DESIGN, ENGINEERING])

    assert outcome.seated == [A1, A2, A3, B1, B2]
    assert (outcome.app.assigned, outcome.app.available, outcome.app.total) == (5, 0, 5)
    [held] = service.catalog.licenses_of(A3)
    assert held.seated
    assert sorted(held.sources) == [("group", DESIGN), ("group", ENGINEERING), ("user", A3)]


def test_a_user_already_holding_a_seat_needs_no_new_one(service: LicensingService) -> None:
    app = add_app(service, seats=3)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])  # full: A1, A2, A3

    outcome = service.assignments.assign(ADMIN, app, [A1])  # a direct source on top of the group

    assert (outcome.seated, outcome.already_held) == ([], [A1])
    assert (outcome.app.assigned, outcome.app.available) == (3, 0)
    assert ("user", A1) in service.catalog.licenses_of(A1)[0].sources


@pytest.mark.parametrize(
    ("seats", "held", "users", "groups", "counts"),
    [
        (3, ["UHELD001", "UHELD002"], ["UNEW0001", "UNEW0002", "UNEW0003"], [], (3, 1)),
        (4, ["UHELD001", "UHELD002"], [], [DESIGN], (3, 2)),
        # valid users first, the group tips it over: nothing of it is written, not even the users
        (4, ["UHELD001"], ["UNEW0001"], [ENGINEERING], (4, 3)),
        # a user who already holds a seat is not counted as needing one
        (3, ["UHELD001", "UHELD002"], ["UHELD001", "UNEW0001", "UNEW0002"], [], (2, 1)),
        (2, ["UHELD001", "UHELD002"], ["UNEW0001"], [], (1, 0)),
    ],
)
def test_an_assignment_needing_more_seats_than_available_fails_whole(
    service: LicensingService,
    engine: Engine,
    seats: int,
    held: list[str],
    users: list[str],
    groups: list[str],
    counts: tuple[int, int],
) -> None:
    app = add_app(service, seats=seats)
    service.assignments.assign(ADMIN, app, held)
    before = snapshot(engine)

    with pytest.raises(NotEnoughLicenses) as caught:
        service.assignments.assign(LICENSE_ADMIN, app, users, groups, idempotency_key="modal-1")

    assert (caught.value.needed, caught.value.available) == counts
    assert snapshot(engine) == before  # no assignment, grant, seat, idempotency key or audit entry


def test_a_refused_assignment_can_succeed_once_seats_are_added(service: LicensingService) -> None:
    app = add_app(service, seats=1)
    with pytest.raises(NotEnoughLicenses):
        service.assignments.assign(ADMIN, app, groups=[DESIGN], idempotency_key="k1")
    service.assignments.set_seats(ADMIN, app, 3)

    outcome = service.assignments.assign(ADMIN, app, groups=[DESIGN], idempotency_key="k1")  # the failure burnt no key

    assert not outcome.replayed
    assert outcome.seated == [A1, A2, A3]


def test_a_group_assignment_seats_the_members_at_assignment_time(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    app = add_app(service, seats=10)

    outcome = service.assignments.assign(LICENSE_ADMIN, app, groups=[DESIGN])
    directory.set_members(DESIGN, [A1, A2, A3, "ULATER01"])  # joins after: not seated until applied

    assert outcome.seated == [A1, A2, A3]
    assert seat_state(service, app) == ([A1, A2, A3], [])
    [group] = service.catalog.details(app).groups
    assert (group.group_id, group.seated, group.waiting) == (DESIGN, [A1, A2, A3], [])


def test_assigning_a_group_again_seats_only_its_current_members(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    """A member waiting for a seat who has since left the group (not yet synced) must not be seated
    by a re-assignment of the group: the seat check counted current members only."""
    app = add_app(service, seats=3)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    sync_members(service, directory, DESIGN, [A1, A2, A3, "UWAIT001"])  # full: UWAIT001 waits
    directory.set_members(DESIGN, [A1, A2, A3])  # UWAIT001 leaves in Slack; the bot has not synced yet

    outcome = service.assignments.assign(ADMIN, app, groups=[DESIGN])

    assert outcome.seated == []
    summary = service.catalog.app(app)
    assert (summary.assigned, summary.total, summary.available) == (3, 3, 0)
    assert seat_state(service, app) == ([A1, A2, A3], ["UWAIT001"])


def test_assigning_what_is_already_assigned_changes_and_audits_nothing(
    service: LicensingService, engine: Engine
) -> None:
    app = add_app(service, seats=5)
    service.assignments.assign(ADMIN, app, [A1], [DESIGN])
    before = snapshot(engine)

    outcome = service.assignments.assign(ADMIN, app, [A1], [DESIGN])

    assert (outcome.seated, outcome.already_held) == ([], [A1])
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("users", "groups", "field"),
    [([], [], "users"), (["not-a-user"], [], "users"), ([], ["SNOSUCH1"], "groups"), ([], ["design"], "groups")],
)
def test_an_assignment_with_bad_subjects_is_refused(
    service: LicensingService, engine: Engine, users: list[str], groups: list[str], field: str
) -> None:
    app = add_app(service)
    before = snapshot(engine)

    with pytest.raises(InvalidInput) as caught:
        service.assignments.assign(ADMIN, app, users, groups)

    assert caught.value.field == field
    assert snapshot(engine) == before


# ------------------------------------------------------------------ unassign
@pytest.fixture
def overlapping(service: LicensingService) -> str:
    """A1 direct and in design; A3 in design and engineering."""
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, [A1], [DESIGN, ENGINEERING])
    return app


def test_unassigning_a_group_takes_back_only_what_that_group_gave(
    service: LicensingService, overlapping: str
) -> None:
    preview = service.assignments.preview_unassign(ADMIN, overlapping, groups=[DESIGN])
    outcome = service.assignments.unassign(LICENSE_ADMIN, overlapping, groups=[DESIGN])

    assert (preview.frees, preview.keeps) == ([A2], [A1, A3])
    assert outcome.freed == [A2]  # A1 keeps the direct seat, A3 the engineering one
    assert seat_state(service, overlapping) == ([A1, A3, B1, B2], [])
    assert [g.group_id for g in service.catalog.details(overlapping).groups] == [ENGINEERING]
    assert service.catalog.licenses_of(A3)[0].sources == [("group", ENGINEERING)]
    assert (outcome.app.assigned, outcome.app.available) == (4, 6)


def test_unassigning_a_direct_user_keeps_their_group_seat(service: LicensingService, overlapping: str) -> None:
    outcome = service.assignments.unassign(ADMIN, overlapping, [A1])

    assert outcome.freed == []
    assert service.catalog.holds(A1, overlapping)
    assert service.catalog.licenses_of(A1)[0].sources == [("group", DESIGN)]
    assert service.catalog.details(overlapping).direct_users == []


def test_unassigning_users_and_groups_together_frees_every_seat_no_source_keeps(
    service: LicensingService, overlapping: str
) -> None:
    outcome = service.assignments.unassign(ADMIN, overlapping, [A1], [DESIGN, ENGINEERING])

    assert outcome.freed == [A1, A2, A3, B1, B2]
    assert seat_state(service, overlapping) == ([], [])
    assert service.catalog.app(overlapping).available == 10


@pytest.mark.parametrize(
    ("users", "groups", "refusal"),
    [
        ([A2], [], NotDirectlyAssigned(A2, "Contoso CRM", [DESIGN])),  # A2 holds it through design only
        (["UNOBODY9"], [], NotDirectlyAssigned("UNOBODY9", "Contoso CRM", [])),
        ([A1], ["SOTHER01"], GroupNotAssigned("SOTHER01", "Contoso CRM")),
    ],
)
def test_unassigning_something_not_assigned_is_refused_whole(
    service: LicensingService, engine: Engine, overlapping: str, users: list[str], groups: list[str],
    refusal: NotAssigned,
) -> None:
    before = snapshot(engine)

    with pytest.raises(NotAssigned) as caught:
        service.assignments.unassign(ADMIN, overlapping, users, groups)

    assert (type(caught.value), caught.value.facts) == (type(refusal), refusal.facts)
    assert snapshot(engine) == before


def test_unassign_is_audited_with_the_freed_users(service: LicensingService, engine: Engine, overlapping: str) -> None:
    service.assignments.unassign(ADMIN, overlapping, groups=[ENGINEERING])

    assert audit_actions(engine)[-1] == "unassign"
    [entry] = service.audit.latest(ADMIN, overlapping, limit=1)
    assert entry.targets == [ENGINEERING, B1, B2]
    assert (entry.total, entry.assigned, entry.available) == (10, 3, 7)


def test_a_large_group_is_seated_whole(service: LicensingService, directory: InMemoryDirectory) -> None:
    """More members than fit the bound parameters of one statement on some drivers."""
    everyone = [f"U{i:08d}" for i in range(5000)]
    directory.set_members(DESIGN, everyone[::-1])
    app = add_app(service, seats=5000)

    outcome = service.assignments.assign(ADMIN, app, groups=[DESIGN])
    sync_members(service, directory, DESIGN, [*everyone[2:][::-1], "UJOIN001"])  # two leave, one joins

    assert outcome.seated == everyone and outcome.app.available == 0
    summary = service.catalog.app(app)
    assert (summary.assigned, summary.available, summary.waiting) == (4999, 1, 0)
    assert service.catalog.holds("UJOIN001", app) and not service.catalog.holds(everyone[0], app)
