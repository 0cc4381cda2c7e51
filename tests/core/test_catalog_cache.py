"""Issue 16: what `/licenses list` and an app's name answer is kept while nothing changed it, so a busy
`serve` acks them without a database call (bot/catalog_cache.py, storage/catalog_version.py).

What a person must be able to rely on, on both databases:
- a change made by this process shows at once;
- a change made by another process (another engine over the same database: a second `serve`, the CLI)
  shows as soon as the watcher has looked, and never later than MAX_AGE;
- a process that does not watch reads every time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, select

from bot.catalog_cache import Freshness, ReadCache
from bot.directory import InMemoryDirectory
from bot.errors import UnknownApp
from bot.service import LicensingService
from storage.db import make_engine
from storage.models import CatalogVersionRow
from storage.uow import UnitOfWorkFactory
from tests.support.core import A1, A2, ADMIN, BILLING_ADMIN, add_app, record


class Statements:
    """Counts the statements an engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


@pytest.fixture
def other(database_url: str, engine: Engine) -> Iterator[LicensingService]:
    """A second process's service: its own engine, pool and kernel over the same database."""
    second = make_engine(database_url)
    yield LicensingService(UnitOfWorkFactory(second), InMemoryDirectory(), global_admins=[ADMIN.user_id])
    second.dispose()


def version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(CatalogVersionRow.n)) or 0)


def assigned(service: LicensingService, app: str = "Contoso CRM") -> int:
    return next(a.assigned for a in service.catalog.list_page().items if a.name == app)


# ------------------------------------------------------------------ the shared version
def test_changes_to_apps_seats_and_grants_bump_the_version_and_nothing_else_does(
    service: LicensingService, engine: Engine
) -> None:
    start = version(engine)
    add_app(service)  # an app
    assert version(engine) == start + 1
    service.assignments.assign(ADMIN, "Contoso CRM", users=[A1])  # a grant and a seat
    assert version(engine) == start + 2
    service.roles.grant(ADMIN, A2, "user-admin")  # roles are not what the catalog shows
    assert version(engine) == start + 2
    with pytest.raises(UnknownApp):
        service.assignments.assign(ADMIN, "No such app", users=[A1])  # refused: nothing written
    assert version(engine) == start + 2


def test_a_rolled_back_change_bumps_nothing_and_leaves_no_mark_for_the_next_unit_of_work(
    service: LicensingService, engine: Engine
) -> None:
    add_app(service)
    start, told = version(engine), []
    service.kernel.uow.catalog_listeners.append(lambda: told.append(1))
    with service.kernel.uow(write=True) as uow:  # writes seats, then is left without a commit
        row = uow.apps.by_key("contoso crm")
        assert row is not None
        row.total_seats = 99
        uow.flush()
    for _ in range(3):  # the same pooled connection, committing a change the catalog does not show
        service.roles.grant(ADMIN, A2, "user-admin")
    assert version(engine) == start and told == []
    assert assigned(service) == 0 and service.catalog.list_page().items[0].total == 10


# ------------------------------------------------------------------ the kept answers
def test_a_watching_process_answers_list_and_names_without_a_statement(
    service: LicensingService, engine: Engine
) -> None:
    add_app(service)
    statements = Statements(engine)
    assert service.catalog.watch()
    first = service.catalog.list_page()
    name = service.catalog.resolve_name("contoso")
    read = statements.count
    for _ in range(5):
        assert service.catalog.list_page() == first
        assert service.catalog.resolve_name("contoso") == name == "Contoso CRM"
    assert statements.count == read  # kept: no statement at all


def test_a_process_that_does_not_watch_reads_every_time(service: LicensingService, engine: Engine) -> None:
    add_app(service)
    statements = Statements(engine)
    service.catalog.list_page()
    read = statements.count
    service.catalog.list_page()
    assert statements.count > read


def test_a_change_of_this_process_shows_at_once(service: LicensingService) -> None:
    add_app(service)
    assert service.catalog.watch()
    assert assigned(service) == 0
    service.assignments.assign(ADMIN, "Contoso CRM", users=[A1, A2])
    assert assigned(service) == 2  # no watch in between
    service.records.update(ADMIN, "Contoso CRM", record("Contoso Sales"))  # renamed
    assert service.catalog.resolve_name("contoso") == "Contoso Sales"


def test_another_processs_change_shows_once_the_watcher_looked(
    service: LicensingService, other: LicensingService
) -> None:
    add_app(service)
    assert service.catalog.watch()
    assert assigned(service) == 0 and service.catalog.resolve_name("contoso crm") == "Contoso CRM"
    other.assignments.assign(ADMIN, "Contoso CRM", users=[A1])
    other.assignments.set_seats(BILLING_ADMIN, "Contoso CRM", 12)
    other.records.update(ADMIN, "Contoso CRM", record("Contoso Sales", 12))
    assert assigned(service) == 0  # kept, until the watcher looks (serve: every 0.1 s)
    assert service.catalog.watch()
    page = service.catalog.list_page()
    assert [(a.name, a.assigned, a.total) for a in page.items] == [("Contoso Sales", 1, 12)]
    with pytest.raises(UnknownApp):
        service.catalog.resolve_name("contoso crm")


def test_kept_answers_are_not_used_once_the_watcher_is_late() -> None:
    now = [100.0]
    freshness = Freshness(clock=lambda: now[0], max_age=1.0)
    kept = ReadCache(size=2)
    assert freshness.stamp() is None  # never looked: nothing is kept
    freshness.observed(7)
    stamp = freshness.stamp()
    kept.put("list", stamp, "page")
    assert kept.get("list", freshness.stamp()) == "page"
    now[0] += 1.5  # the watcher stalled (or the database stopped answering)
    assert freshness.stamp() is None and kept.get("list", freshness.stamp()) is None
    freshness.observed(7)
    assert kept.get("list", freshness.stamp()) == "page"  # the same version: still good
    freshness.observed(None)  # could not look
    assert freshness.stamp() is None
    freshness.observed(8)  # another process changed the catalog
    assert kept.get("list", freshness.stamp()) is None
    kept.put("list", freshness.stamp(), "new page")
    freshness.changed()  # this process changed it
    assert kept.get("list", freshness.stamp()) is None


def test_a_value_read_before_a_change_is_never_kept_under_the_new_stamp() -> None:
    freshness, kept = Freshness(clock=lambda: 0.0), ReadCache()
    freshness.observed(1)
    stamp = freshness.stamp()  # taken before the read
    freshness.changed()  # a commit lands while the read runs
    kept.put("list", stamp, "old page")
    assert kept.get("list", freshness.stamp()) is None


def test_the_cache_holds_at_most_its_size() -> None:
    freshness, kept = Freshness(clock=lambda: 0.0), ReadCache(size=2)
    freshness.observed(1)
    stamp = freshness.stamp()
    for key in "abc":
        kept.put(key, stamp, key.upper())
    assert [kept.get(k, stamp) for k in "abc"] == [None, "B", "C"]
