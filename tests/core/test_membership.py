"""SPEC §1 group-based assignment over time: later joiners, the waitlist (oldest waiter first), leavers,
disabled groups and deleted users, through `apply_group_members` as a sync or a Slack event runs it.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from bot.directory import Group, InMemoryDirectory
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
    add_app,
    audit_actions,
    record,
    seat_state,
    snapshot,
    sync_members,
)

# Waiter ids sort the other way round from their arrival: the order must come from the arrival.
FIRST, SECOND, THIRD = "UZFIRST1", "UMSECOND", "UATHIRD1"
DIRECT = "UDIRECT1"


def test_a_member_who_joins_later_gets_a_free_seat(service: LicensingService, engine: Engine, directory: InMemoryDirectory) -> None:
    app = add_app(service, seats=4)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])

    outcome = sync_members(service, directory, DESIGN, [A1, A2, A3, "UJOIN001"])

    assert (outcome.joined, outcome.waiting) == ([(app, "UJOIN001")], [])
    assert seat_state(service, app) == ([A1, A2, A3, "UJOIN001"], [])
    assert audit_actions(engine)[-1] == "group.join"


def test_a_member_who_joins_when_no_seat_is_free_waits(service: LicensingService, directory: InMemoryDirectory) -> None:
    app = add_app(service, seats=3)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])

    outcome = sync_members(service, directory, DESIGN, [A1, A2, A3, "UJOIN001"])

    assert (outcome.joined, outcome.waiting) == ([], [(app, "UJOIN001")])
    assert seat_state(service, app) == ([A1, A2, A3], ["UJOIN001"])
    summary = service.catalog.app(app)
    assert (summary.assigned, summary.available, summary.waiting) == (3, 0, 1)
    [held] = service.catalog.licenses_of("UJOIN001")
    assert (held.app, held.seated, held.sources) == (app, False, [("group", DESIGN)])
    assert not service.catalog.holds("UJOIN001", app)
    assert service.catalog.details(app).groups[0].waiting == ["UJOIN001"]


def test_a_joiner_already_licensed_elsewhere_takes_no_second_seat(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    app = add_app(service, seats=4)
    service.assignments.assign(ADMIN, app, [B1], [DESIGN])

    outcome = sync_members(service, directory, DESIGN, [A1, A2, A3, B1])

    assert (outcome.joined, outcome.waiting) == ([], [])
    assert service.catalog.app(app).assigned == 4
    assert sorted(service.catalog.licenses_of(B1)[0].sources) == [("group", DESIGN), ("user", B1)]


# ------------------------------------------------------------------ the waitlist
@pytest.fixture
def queue(service: LicensingService, directory: InMemoryDirectory) -> str:
    """4 seats, all taken (DIRECT, A1, A2, A3); FIRST, SECOND then THIRD joined design and wait, in that order."""
    app = add_app(service, seats=4)
    service.assignments.assign(ADMIN, app, [DIRECT], [DESIGN])
    for arrived in ([FIRST], [FIRST, SECOND], [FIRST, SECOND, THIRD]):
        sync_members(service, directory, DESIGN, [*arrived, A1, A2, A3])
    assert seat_state(service, app) == ([A1, A2, A3, DIRECT], [FIRST, SECOND, THIRD])
    return app


FreeSeats = Callable[[LicensingService, InMemoryDirectory, str, int], object]


def _unassign(service: LicensingService, directory: InMemoryDirectory, app: str, n: int) -> object:
    return service.assignments.unassign(ADMIN, app, [DIRECT])


def _set_seats(service: LicensingService, directory: InMemoryDirectory, app: str, n: int) -> object:
    return service.assignments.set_seats(ADMIN, app, 4 + n)


def _import_more_seats(service: LicensingService, directory: InMemoryDirectory, app: str, n: int) -> object:
    return service.catalog.import_apps(ADMIN, [record(app, 4 + n)])


def _member_leaves(service: LicensingService, directory: InMemoryDirectory, app: str, n: int) -> object:
    return sync_members(service, directory, DESIGN, [FIRST, SECOND, THIRD, *[A1, A2, A3][n:]])


def _user_removed(service: LicensingService, directory: InMemoryDirectory, app: str, n: int) -> object:
    return service.membership.remove_user(ADMIN, DIRECT).apps


FREEING_ONE_SEAT: dict[str, FreeSeats] = {
    "unassign": _unassign,
    "set_seats": _set_seats,
    "import_raises_seats": _import_more_seats,
    "member_leaves": _member_leaves,
    "user_removed": _user_removed,
}


@pytest.mark.parametrize("event", list(FREEING_ONE_SEAT))
def test_a_freed_seat_goes_to_the_oldest_waiter(
    service: LicensingService, engine: Engine, directory: InMemoryDirectory, queue: str, event: str
) -> None:
    FREEING_ONE_SEAT[event](service, directory, queue, 1)

    seated, waiting = seat_state(service, queue)
    assert FIRST in seated
    assert waiting == [SECOND, THIRD]
    assert service.catalog.app(queue).available == 0  # the seat went to the line, not left free
    assert "waitlist.fill" in audit_actions(engine)


@pytest.mark.parametrize("event", ["set_seats", "import_raises_seats", "member_leaves"])
def test_two_freed_seats_go_to_the_two_oldest_waiters(
    service: LicensingService, directory: InMemoryDirectory, queue: str, event: str
) -> None:
    FREEING_ONE_SEAT[event](service, directory, queue, 2)

    seated, waiting = seat_state(service, queue)
    assert {FIRST, SECOND} <= set(seated)
    assert waiting == [THIRD]


def test_outcomes_name_the_waiters_who_got_the_seats(
    service: LicensingService, directory: InMemoryDirectory, queue: str
) -> None:
    assert service.assignments.set_seats(ADMIN, queue, 6).filled == [FIRST, SECOND]
    assert service.assignments.unassign(ADMIN, queue, [DIRECT]).filled == [THIRD]


def test_waiters_in_line_go_before_a_newcomer_of_the_same_sync(
    service: LicensingService, directory: InMemoryDirectory, queue: str
) -> None:
    # A1 leaves and UNEWCOME joins in one sync: the freed seat is FIRST's, the newcomer queues last
    outcome = sync_members(service, directory, DESIGN, [FIRST, SECOND, THIRD, A2, A3, "UNEWCOME"])

    assert outcome.filled == [(queue, FIRST)]
    assert outcome.waiting == [(queue, "UNEWCOME")]
    assert seat_state(service, queue) == ([A2, A3, DIRECT, FIRST], [SECOND, THIRD, "UNEWCOME"])


def test_a_waiter_who_leaves_the_group_leaves_the_line(
    service: LicensingService, directory: InMemoryDirectory, queue: str
) -> None:
    sync_members(service, directory, DESIGN, [SECOND, THIRD, A1, A2, A3])

    assert seat_state(service, queue)[1] == [SECOND, THIRD]
    assert service.catalog.licenses_of(FIRST) == []


# ------------------------------------------------------------------ leaving
@pytest.mark.parametrize(
    ("other_source", "keeps_seat"),
    [("none", False), ("direct", True), ("other group", True)],
)
def test_leaving_the_group_frees_the_seat_unless_another_source_licenses_the_user(
    service: LicensingService, directory: InMemoryDirectory, other_source: str, keeps_seat: bool
) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    if other_source == "direct":
        service.assignments.assign(ADMIN, app, [A1])
    elif other_source == "other group":
        directory.set_members(ENGINEERING, [A1, B1])
        service.assignments.assign(ADMIN, app, groups=[ENGINEERING])
    assigned_before = service.catalog.app(app).assigned

    outcome = sync_members(service, directory, DESIGN, [A2, A3])

    assert outcome.left == [(app, A1)]
    assert outcome.freed == ([] if keeps_seat else [(app, A1)])
    assert service.catalog.holds(A1, app) is keeps_seat
    assert service.catalog.app(app).assigned == assigned_before - (0 if keeps_seat else 1)
    assert ("group", DESIGN) not in [s for h in service.catalog.licenses_of(A1) for s in h.sources]


def test_a_sync_without_changes_writes_nothing(
    service: LicensingService, directory: InMemoryDirectory, engine: Engine
) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN, ENGINEERING])
    before = snapshot(engine)

    outcome = sync_members(service, directory, DESIGN, [A3, A2, A1])

    assert (outcome.joined, outcome.left, outcome.waiting, outcome.freed) == ([], [], [], [])
    assert snapshot(engine) == before


def test_a_disabled_group_loses_its_assignments(service: LicensingService, engine: Engine, directory: InMemoryDirectory) -> None:
    crm, mail = add_app(service, "Contoso CRM", seats=10), add_app(service, "Contoso Mail", seats=3)
    service.assignments.assign(ADMIN, crm, [A1], [DESIGN, ENGINEERING])
    service.assignments.assign(ADMIN, mail, groups=[DESIGN])
    directory.put_group(Group(DESIGN, "design", "Design team", (A1, A2, A3), disabled=True))

    outcome = service.membership.apply_group(ADMIN, directory.group(DESIGN))

    # A1 keeps the direct seat and A3 the engineering one; A2 loses Contoso CRM; Contoso Mail is emptied
    assert sorted(outcome.freed) == [(crm, A2), ("Contoso Mail", A1), ("Contoso Mail", A2), ("Contoso Mail", A3)]
    assert seat_state(service, crm) == ([A1, A3, B1, B2], [])
    assert [g.group_id for g in service.catalog.details(crm).groups] == [ENGINEERING]
    assert seat_state(service, mail) == ([], []) and service.catalog.details(mail).groups == []
    assert audit_actions(engine)[-2:] == ["group.disabled", "group.disabled"]


def test_a_disabled_group_frees_seats_for_the_waiters_of_another_group(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    app = add_app(service, seats=6)
    service.assignments.assign(ADMIN, app, groups=[DESIGN, ENGINEERING])  # A1 A2 A3 B1 B2: one seat left
    sync_members(service, directory, ENGINEERING, [A3, B1, B2, FIRST, SECOND])  # FIRST seated, SECOND waits
    directory.put_group(Group(DESIGN, "design", "Design team", (A1, A2, A3), disabled=True))

    outcome = service.membership.apply_group(ADMIN, directory.group(DESIGN))

    assert sorted(outcome.freed) == [(app, A1), (app, A2)]  # A3 stays through engineering
    assert outcome.filled == [(app, SECOND)]
    assert seat_state(service, app) == (sorted([A3, B1, B2, FIRST, SECOND]), [])


def test_a_deleted_user_loses_every_license_and_frees_the_seats(
    service: LicensingService, engine: Engine, directory: InMemoryDirectory
) -> None:
    crm, mail, figma = (add_app(service, n, seats=s) for n, s in (("Contoso CRM", 3), ("Contoso Mail", 5), ("Figma", 5)))
    service.assignments.assign(ADMIN, crm, groups=[DESIGN])  # full
    sync_members(service, directory, DESIGN, [A1, A2, A3, FIRST])  # FIRST waits for Contoso CRM
    service.assignments.assign(ADMIN, mail, [A3], [ENGINEERING])  # A3 direct and through engineering
    service.assignments.assign(ADMIN, figma, [B1])

    touched = service.membership.remove_user(ADMIN, A3).apps

    assert sorted(touched) == [crm, mail]
    assert service.catalog.licenses_of(A3) == []
    assert seat_state(service, crm) == ([A1, A2, FIRST], [])
    assert seat_state(service, mail) == ([B1, B2], [])
    assert seat_state(service, figma) == ([B1], [])
    assert audit_actions(engine).count("user.removed") == 2


def test_each_join_and_leave_is_audited_with_the_counts_right_after_it(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    app = add_app(service, seats=4)
    service.assignments.assign(ADMIN, app, users=[A1], groups=[DESIGN])  # A1 direct and in design; A2, A3 in design
    # A1 leaves (keeps the direct seat), A2 leaves (frees one); three join for the 2 free seats
    sync_members(service, directory, DESIGN, [A3, FIRST, SECOND, THIRD])
    entries = [e for e in service.audit.latest(ADMIN, limit=50) if e.action.startswith("group.")][::-1]
    seen = [(e.action, e.targets[1], e.assigned, e.available) for e in entries]
    assert seen == [
        ("group.leave", A1, 3, 1),
        ("group.leave", A2, 2, 2),
        ("group.join", FIRST, 3, 1),
        ("group.join", SECOND, 4, 0),
        ("group.join", THIRD, 4, 0),
    ]
    assert [e.detail["status"] for e in entries[2:]] == ["seated", "seated", "waiting"]
    assert service.catalog.app(app).assigned == 4 and service.catalog.details(app).waiting == [THIRD]
