"""Issue 10, defects 2 and 6 in the core: a group's members are applied in the order of Slack's
`date_update` against the database's record of the version applied (an older snapshot is discarded, never
applied over a newer one), and an event's id is recorded in the same transaction as its effect.

Every test runs on SQLite and on PostgreSQL (the `service` fixture)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from bot.directory import Group, InMemoryDirectory
from bot.service import LicensingService
from storage.models import GroupVersionRow, ProcessedEventRow
from tests.support.core import A1, A2, A3, ADMIN, DESIGN, add_app, audit_actions, seat_state, snapshot

NEW = "UJOIN001"
V1, V2 = 1_700_000_001.0, 1_700_000_002.0


def design(members: list[str]) -> Group:
    return Group(DESIGN, "design", "Design team", tuple(members))


def events(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(ProcessedEventRow.event_id).order_by(ProcessedEventRow.event_id)))


def version(engine: Engine) -> float | None:
    with engine.connect() as conn:
        return conn.scalar(select(GroupVersionRow.version).where(GroupVersionRow.group_id == DESIGN))


def test_an_older_snapshot_after_a_newer_one_is_discarded(service: LicensingService, engine: Engine) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])

    newer = service.membership.apply_group(ADMIN, design([A1, A2, A3, NEW]), version=V2)
    assert newer.joined == [(app, NEW)] and version(engine) == V2
    before = snapshot(engine)
    for stale in (V1, V2):  # older, and the same version again
        outcome = service.membership.apply_group(ADMIN, design([A1, A2]), version=stale)
        assert outcome.skipped == "stale" and (outcome.left, outcome.freed) == ([], [])
    assert snapshot(engine) == before
    assert seat_state(service, app) == ([A1, A2, A3, NEW], [])
    assert "group.leave" not in audit_actions(engine)


def test_a_newer_snapshot_is_applied_and_one_without_a_version_always(service: LicensingService, engine: Engine) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    service.membership.apply_group(ADMIN, design([A1, A2, A3, NEW]), version=V1)

    outcome = service.membership.apply_group(ADMIN, design([A1, A2, A3]), version=V2)
    assert outcome.left == [(app, NEW)] and version(engine) == V2
    outcome = service.membership.apply_group(ADMIN, design([A1, A2]))  # unknown version: a fresh read
    assert outcome.left == [(app, A3)] and version(engine) == V2


def test_an_event_is_recorded_with_its_effect_and_a_redelivery_changes_nothing(
    service: LicensingService, engine: Engine
) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])

    first = service.membership.apply_group(ADMIN, design([A1, A2, A3, NEW]), version=V1, event="Ev0001")
    assert first.joined == [(app, NEW)] and events(engine) == ["Ev0001"]
    assert service.membership.seen("Ev0001") and not service.membership.seen("Ev0002")
    before = snapshot(engine)
    again = service.membership.apply_group(ADMIN, design([A1]), version=V2, event="Ev0001")
    assert again.skipped == "duplicate" and snapshot(engine) == before


def test_a_stale_event_is_recorded_too(service: LicensingService, engine: Engine) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    service.membership.apply_group(ADMIN, design([A1, A2, A3]), version=V2, event="Ev0002")
    assert service.membership.apply_group(ADMIN, design([A1]), version=V1, event="Ev0001").skipped == "stale"
    assert events(engine) == ["Ev0001", "Ev0002"]


def test_a_deleted_user_is_removed_with_the_event_recorded_once(
    service: LicensingService, engine: Engine, directory: InMemoryDirectory
) -> None:
    first, second = add_app(service, "Contoso CRM", 10), add_app(service, "Fabrikam", 10)
    service.assignments.assign(ADMIN, first, [A1], groups=[DESIGN])
    service.assignments.assign(ADMIN, second, [A1])

    removal = service.membership.remove_user(ADMIN, A1, event="EvDel001")
    assert sorted(removal.apps) == [first, second] and events(engine) == ["EvDel001"]
    assert audit_actions(engine).count("user.removed") == 2
    service.assignments.assign(ADMIN, second, [A1])
    assert service.membership.remove_user(ADMIN, A1, event="EvDel001").apps == []  # a redelivery
    assert service.catalog.holds(A1, second)


def test_a_change_is_applied_as_a_change_in_version_order(service: LicensingService, engine: Engine) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    service.membership.apply_group(ADMIN, design([A1, A2, A3]), version=V1)
    late, V3 = "ULATE001", V2 + 1

    # the change from V2 to V3 comes first (the one from V1 to V2 is still on its way): applied, and the
    # recorded version stays at V1, so the earlier one is still applied when it comes
    second = service.membership.apply_change(ADMIN, DESIGN, [late], [A1], previous=V2, current=V3)
    assert (second.joined, second.left) == ([(app, late)], [(app, A1)]) and version(engine) == V1
    first = service.membership.apply_change(ADMIN, DESIGN, [NEW], [], previous=V1, current=V2)
    assert first.joined == [(app, NEW)] and version(engine) == V2
    assert seat_state(service, app) == ([A2, A3, NEW, late], [])
    # the same changes again, or older ones: nothing
    again = service.membership.apply_change(ADMIN, DESIGN, [NEW], [], previous=V1, current=V2)
    assert again.skipped == "stale"
    assert audit_actions(engine).count("group.join") == 2 and audit_actions(engine).count("group.leave") == 1


def test_a_group_assigned_from_an_older_copy_is_corrected_by_the_next_sync(service: LicensingService) -> None:
    first, second = add_app(service, "Contoso CRM", 10), add_app(service, "Fabrikam", 10)
    service.assignments.assign(ADMIN, first, groups=[DESIGN])
    service.membership.apply_group(ADMIN, design([A1, A2, A3, NEW]), version=V2)
    service.assignments.assign(ADMIN, second, groups=[DESIGN])  # from the directory's older copy: A1 A2 A3
    assert seat_state(service, second)[0] == [A1, A2, A3]

    changed = service.membership.apply_change(ADMIN, DESIGN, [], [A1], previous=V2, current=V2 + 1)
    assert changed.left == [(first, A1), (second, A1)]
    outcome = service.membership.apply_group(ADMIN, design([A2, A3, NEW]), version=V2 + 1)  # the sync
    assert outcome.skipped == "" and outcome.joined == [(second, NEW)]


def test_a_version_that_is_not_a_finite_number_orders_nothing(service: LicensingService, engine: Engine) -> None:
    app = add_app(service, seats=10)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    service.membership.apply_group(ADMIN, design([A1, A2, A3]), version=V1)
    for bad in (float("inf"), float("nan")):
        service.membership.apply_group(ADMIN, design([A1, A2, A3, NEW]), version=bad)
        assert version(engine) == V1  # recorded as it was: later changes still apply
    assert service.membership.apply_change(ADMIN, DESIGN, [], [NEW], previous=V1, current=V2).left == [(app, NEW)]
