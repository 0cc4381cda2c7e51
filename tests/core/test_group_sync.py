"""bot/sync.py and the service hooks it relies on, on SQLite and PostgreSQL: a full sync's report and
order, event deduplication, and the seats-filled DMs written on every path that seats a waiter."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import pytest

from bot.directory import Group, InMemoryDirectory
from bot.domain import Actor
from bot.errors import InvalidInput
from bot.notify import Kind
from bot.service import LicensingService
from bot.sync import GroupSync
from tests.support.core import A1, A2, A3, ADMIN, DESIGN, ENGINEERING, add_app, record, seat_state

WAITER, LATE, DIRECT = "UWAITER1", "ULATE001", "UDIRECT1"


class Source(InMemoryDirectory):
    """An in-memory workspace with the sync's reading side: refreshes counted, deleted users listed."""

    def __init__(self, directory: InMemoryDirectory, deleted: Iterable[str] = ()) -> None:
        super().__init__(directory.search_groups(""))
        self.deleted = set(deleted)
        self.refreshes = 0

    def refresh(self) -> None:
        self.refreshes += 1

    def deleted_user_ids(self) -> list[str]:
        return sorted(self.deleted)


Told = Callable[[], list[tuple[str, str]]]


@pytest.fixture
def filled(service: LicensingService) -> Told:
    """The seats-filled DMs waiting in the outbox, as (app, user), in order."""

    def told() -> list[tuple[str, str]]:
        return [(m.facts["app"], m.recipient) for m in service.outbox.queued() if m.kind == Kind.SEATED]

    return told


@pytest.fixture
def full_app(service: LicensingService, directory: InMemoryDirectory) -> str:
    """3 seats held by design (A1, A2, A3); WAITER joined design and waits."""
    app = add_app(service, seats=3)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    directory.set_members(DESIGN, [A1, A2, A3, WAITER])
    service.membership.apply_group(ADMIN, directory.group(DESIGN))
    assert seat_state(service, app) == ([A1, A2, A3], [WAITER])
    return app


def test_a_sync_applies_every_assigned_group_and_reports(
    service: LicensingService, directory: InMemoryDirectory, full_app: str, filled: Told
) -> None:
    other = add_app(service, "Fabrikam Design", seats=10)
    service.assignments.assign(ADMIN, other, [DIRECT], [ENGINEERING])
    directory.set_members(DESIGN, [A2, A3, WAITER, LATE])  # A1 leaves: WAITER first, LATE waits
    directory.set_members(ENGINEERING, [A3, LATE])
    source = Source(directory, deleted=[DIRECT])
    progress: list[tuple[int, int]] = []

    report = GroupSync(service, source, Actor.cli()).run(progress=lambda done, total: progress.append((done, total)))

    assert source.refreshes == 1
    assert progress == [(0, 2), (1, 2), (2, 2)]
    assert report.summary() == "synced 2 groups: 1 joined, 4 left, 1 waiting, 1 filled"
    assert report.removed_users == [DIRECT] and report.missing_groups == []
    assert seat_state(service, full_app) == ([A2, A3, WAITER], [LATE])
    assert seat_state(service, other) == ([A3, LATE], [])
    assert filled() == [(full_app, WAITER)]


def test_a_group_the_workspace_no_longer_lists_is_reported_and_left_alone(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    app = add_app(service, seats=5)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    source = Source(InMemoryDirectory([directory.group(ENGINEERING)]))
    report = GroupSync(service, source, Actor.cli()).run()
    assert report.missing_groups == [DESIGN] and report.summary() == "synced 1 group: 0 joined, 0 left, 0 waiting, 0 filled"
    assert service.catalog.app(app).assigned == 3


def test_apply_runs_the_update_and_the_membership_under_one_lock(
    service: LicensingService, directory: InMemoryDirectory, full_app: str
) -> None:
    sync = GroupSync(service, Source(directory), Actor.cli())
    inside = threading.Event()
    release = threading.Event()

    def slow_update() -> None:
        inside.set()
        release.wait(5)

    first = threading.Thread(target=sync.apply, args=(DESIGN, slow_update))
    first.start()
    inside.wait(5)
    second_done = threading.Event()
    threading.Thread(target=lambda: (sync.apply(DESIGN), second_done.set())).start()
    assert not second_done.wait(0.3)  # the same group waits for the first to finish
    sync.apply(ENGINEERING)  # another group does not
    release.set()
    first.join(5)
    assert second_done.wait(5)


def test_first_delivery_is_true_once(service: LicensingService) -> None:
    assert service.membership.claim("Ev123") is True
    assert service.membership.claim("Ev123") is False
    assert service.membership.claim("Ev124") is True
    assert service.membership.claim("") is True  # nothing to deduplicate on


def test_first_delivery_under_concurrency_admits_one(service: LicensingService) -> None:
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(service.membership.claim("EvRace"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


# ------------------------------------------------------------------ who is told about a seat from the waitlist
def test_more_seats_tell_the_waiter(service: LicensingService, full_app: str, filled: Told) -> None:
    service.assignments.set_seats(ADMIN, full_app, 4)
    assert filled() == [(full_app, WAITER)]


def test_a_seat_freed_by_unassigning_tells_the_waiter(
    service: LicensingService, directory: InMemoryDirectory, filled: Told
) -> None:
    app = add_app(service, seats=4)
    service.assignments.assign(ADMIN, app, [DIRECT], [DESIGN])
    directory.set_members(DESIGN, [A1, A2, A3, WAITER])
    service.membership.apply_group(ADMIN, directory.group(DESIGN))
    service.assignments.unassign(ADMIN, app, [DIRECT])
    assert filled() == [(app, WAITER)]


def test_an_import_that_adds_seats_tells_the_waiter(service: LicensingService, full_app: str, filled: Told) -> None:
    service.catalog.import_apps(ADMIN, [record(full_app, 5)])
    assert filled() == [(full_app, WAITER)]


def test_a_deleted_user_s_seat_tells_the_waiter(service: LicensingService, full_app: str, filled: Told) -> None:
    removal = service.membership.remove_user(ADMIN, A1)
    assert (removal.apps, removal.freed, removal.filled) == ([full_app], [full_app], [(full_app, WAITER)])
    assert filled() == [(full_app, WAITER)]
    assert service.membership.remove_user(ADMIN, A1).apps == []  # the second time: nothing held, nothing audited


def test_nobody_is_told_when_the_change_is_refused_whole(
    service: LicensingService, full_app: str, filled: Told
) -> None:
    other = add_app(service, "Fabrikam Design", seats=2)
    service.assignments.assign(ADMIN, other, [A1, A2])
    with pytest.raises(InvalidInput):  # entry 1 would seat the waiter; entry 2 is refused: nothing happens
        service.catalog.import_apps(ADMIN, [record(full_app, 5), record(other, 1)])
    assert filled() == [] and seat_state(service, full_app) == ([A1, A2, A3], [WAITER])


def test_the_waiter_s_dm_is_written_with_the_seat_and_goes_nowhere_else(service: LicensingService, full_app: str) -> None:
    outcome = service.assignments.set_seats(ADMIN, full_app, 4)
    assert outcome.filled == [WAITER]
    assert seat_state(service, full_app) == ([A1, A2, A3, WAITER], [])
    # one DM, in the waiter's lane: nothing else was queued (but the admins' alerts: full, people waiting)
    [message] = [m for m in service.outbox.queued() if m.kind != Kind.ALERT]
    assert (message.kind, message.recipient, message.lane, message.facts) == (
        Kind.SEATED, WAITER, f"user:{WAITER}", {"app": full_app})


def test_a_group_joiner_seated_at_once_is_not_a_waitlist_fill(
    service: LicensingService, directory: InMemoryDirectory, filled: Told
) -> None:
    app = add_app(service, seats=5)
    service.assignments.assign(ADMIN, app, groups=[DESIGN])
    directory.put_group(Group(DESIGN, "design", "Design team", (A1, A2, A3, LATE)))
    service.membership.apply_group(ADMIN, directory.group(DESIGN))
    assert filled() == []
