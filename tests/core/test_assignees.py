"""SPEC §6 in the core: the details modal's content is bounded (30 users, 30 groups, 20 waiting) with the
totals of each, and "See all" pages through every group and every user with their sources and state.
The silent cuts of version 1 reproduced: 500 users, 60 groups with waiters. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.directory import Group, InMemoryDirectory
from bot.domain import SourceKind
from bot.service import LicensingService
from tests.support.core import ADMIN, add_app, sync_members

APP = "Éditeur Café Crème"
DIRECT = [f"UDIRECT{i:04d}" for i in range(500)]


def members(group: int, n: int, start: int = 0) -> list[str]:
    return [f"U{group:04d}{i:05d}" for i in range(start, start + n)]


@pytest.fixture
def crowded(service: LicensingService, directory: InMemoryDirectory) -> LicensingService:
    """500 users assigned directly, 60 groups of 5 members; then 3 more join each group while no seat is
    left: 180 wait."""
    add_app(service, APP, 500 + 60 * 5)
    groups = [Group(f"SG{g:04d}", f"team-{g}", f"Team {g}", tuple(members(g, 5))) for g in range(60)]
    for group in groups:
        directory.put_group(group)
    service.assignments.assign(ADMIN, APP, DIRECT, [g.id for g in groups])
    for g in range(60):
        sync_members(service, directory, f"SG{g:04d}", members(g, 8))
    return service


def test_the_details_show_30_users_30_groups_and_count_the_rest(crowded: LicensingService) -> None:
    overview, rights = crowded.catalog.overview("editeur", ADMIN.user_id)
    assert rights.edit_apps
    assert (overview.app.assigned, overview.app.waiting) == (800, 180)
    assert len(overview.users) == 30 and overview.users_total == 500
    assert [u.id for u in overview.users] == DIRECT[:30] and all(u.seated for u in overview.users)
    assert len(overview.groups) == 30 and overview.groups_total == 60
    first = overview.groups[0]
    assert (first.id, first.licensed, first.waiting) == ("SG0000", 5, 3)
    assert first.first_waiting == tuple(members(0, 3, 5))
    assert len(overview.waiting) == 20 and overview.waiting_total == 180
    assert overview.waiting[:3] == members(0, 3, 5)  # oldest first
    assert overview.assignees_total == 60 + 500 + 60 * 8


def test_see_all_pages_through_every_group_then_every_user(crowded: LicensingService) -> None:
    summary, first = crowded.catalog.assignees("EDITEUR", 1, 50)
    assert summary.name == APP and first.total == 60 + 980 and first.pages == 21
    assert [e.kind for e in first.items] == [SourceKind.GROUP] * 50
    _, second = crowded.catalog.assignees(APP, 2, 50)
    assert [e.kind for e in second.items] == [SourceKind.GROUP] * 10 + [SourceKind.USER] * 40
    first_user = second.items[10]  # users by id: a walk of an index, whatever the total
    assert (first_user.id, first_user.seated, first_user.sources) == ("U000000000", True, ((SourceKind.GROUP, "SG0000"),))
    last = crowded.catalog.assignees(APP, 21, 50)[1].items[-1]
    assert (last.id, last.seated, last.sources) == (DIRECT[-1], True, ((SourceKind.USER, DIRECT[-1]),))
    seen = []
    for number in range(1, first.pages + 1):
        seen += crowded.catalog.assignees(APP, number, 50)[1].items
    users = [e for e in seen if e.kind == SourceKind.USER]
    assert len(seen) == 1040 and len({e.id for e in users}) == 980
    waiting = [e for e in users if not e.seated]
    assert len(waiting) == 180
    assert all(e.sources == ((SourceKind.GROUP, f"SG{e.id[1:5]}"),) for e in waiting)
    group = next(e for e in seen if e.id == "SG0059")
    assert (group.licensed, group.waiting) == (5, 3)


def test_a_user_covered_twice_is_one_entry_with_both_sources(
    service: LicensingService, directory: InMemoryDirectory
) -> None:
    add_app(service, "Contoso CRM", 10)
    directory.put_group(Group("SBOTH001", "both", "Both", ("U00000X1",)))
    service.assignments.assign(ADMIN, "Contoso CRM", ["U00000X1"], ["SBOTH001"])
    _, page = service.catalog.assignees("contoso", 1, 50)
    assert [(e.kind, e.id) for e in page.items] == [(SourceKind.GROUP, "SBOTH001"), (SourceKind.USER, "U00000X1")]
    assert set(page.items[1].sources) == {(SourceKind.USER, "U00000X1"), (SourceKind.GROUP, "SBOTH001")}
    assert page.items[1].seated and page.total == 2
