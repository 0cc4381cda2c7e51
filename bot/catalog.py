"""The catalog: apps with their seat counts, one app's details, a person's licenses, and imports."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app_records import AppRecord, AppRecordService
from bot.catalog_cache import ReadCache
from bot.domain import (
    Actor,
    AppDetails,
    AppOverview,
    AppSummary,
    Assignee,
    GroupAssignee,
    HeldLicense,
    Rights,
    SourceKind,
)
from bot.kernel import Kernel
from bot.names import clean_query, fold
from bot.paging import Page, page_offset
from storage.uow import UnitOfWork


class CatalogService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._kept = ReadCache()  # list pages and names found, while kernel.catalog's stamp holds

    def watch(self) -> bool:
        """Reads the shared catalog version, so answers kept here stay in step with other processes' changes
        (`serve` calls it every bot.catalog_cache.WATCH_SECONDS). False when the database could not answer:
        then nothing kept is used until it answers again."""
        try:
            with self.k.uow(lone_read=True) as uow:
                version = uow.apps.catalog_version()
        except Exception:  # noqa: BLE001 - the database away: read every time meanwhile
            self.k.catalog.observed(None)
            return False
        self.k.catalog.observed(version)
        return version is not None

    # ------------------------------------------------------------------ reading
    def list_apps(self) -> list[AppSummary]:
        with self.k.uow(lone_read=True) as uow:
            return [self.k.summary(row, seated, waiting) for row, seated, waiting in uow.apps.summaries()]

    def list_page(self, query: str = "", page: int = 1, size: int = 20) -> Page[AppSummary]:
        """`/licenses list [WORDS]`: apps in service whose name or vendor holds every word (folded), one page
        by name. The seat counts are read for this page's apps only: the work per page does not grow with the
        catalog."""
        words = query_words(query)
        return self._kept.through(("page", tuple(words), page, size), self.k.catalog.stamp(),
                                  lambda: self._read_page(words, page, size))

    def _read_page(self, words: Sequence[str], page: int, size: int) -> Page[AppSummary]:
        with self.k.uow(lone_read=True) as uow:
            offset = (max(1, page) - 1) * size
            rows, total = uow.apps.page_and_total(words, offset, size)
            if total < 0:  # an empty page: nothing matches, or a stale "Next" past the end (the last page)
                total = uow.apps.count_matching(words)
                offset = page_offset(page, size, total)
                rows = uow.apps.page(words, offset, size) if total else []
            return Page([self.k.summary(row, seated, waiting) for row, seated, waiting in rows], total, offset, size)

    def find_apps(self, query: str = "", limit: int = 100) -> list[str]:
        """Names of apps in service whose name or vendor holds every word of `query` (folded: case, accents
        and Unicode form ignored), by name: an app picker's typeahead. At most `limit`."""
        with self.k.uow(lone_read=True) as uow:
            return uow.apps.names_matching(query_words(query), limit)

    def app(self, query: str) -> AppSummary:
        with self.k.uow() as uow:
            return self.k.summary_of(uow, self.k.resolve(uow, query))

    def resolve_name(self, query: str) -> str:
        """The name of the app in service that `query` names (see Kernel.resolve). Names found are kept; a
        query that finds none is read again each time (it raises)."""
        return self._kept.through(("name", query), self.k.catalog.stamp(), lambda: self._read_name(query))

    def _read_name(self, query: str) -> str:
        with self.k.uow(lone_read=True) as uow:
            return self.k.resolve(uow, query).name

    def details(self, query: str) -> AppDetails:
        return self.details_for(query, None)[0]

    def details_for(self, query: str, viewer: str | None) -> tuple[AppDetails, Rights]:
        """The license details and what the viewer may do with the app, in one unit of work of four reads."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            seated = uow.licenses.seated_users(row.id)
            roles = self.k.roles(uow, Actor(viewer)) if viewer else frozenset()
            direct: list[str] = []
            members: dict[str, list[str]] = {}
            waiting: dict[str, None] = {}  # an ordered set, oldest first: sources come in grant order
            for kind, subject, user_id in uow.licenses.sources(row.id):
                if kind == SourceKind.USER:
                    direct.append(subject)
                else:
                    members.setdefault(subject, [])
                    if user_id is not None:
                        members[subject].append(user_id)
                if user_id is not None and user_id not in seated:
                    waiting.setdefault(user_id)
            summary = self.k.summary(row, len(seated), len(waiting))
        groups = []
        for group_id, users in members.items():
            covered = set(users)
            groups.append(GroupAssignee(group_id, sorted(covered & seated), [u for u in waiting if u in covered]))
        details = AppDetails(summary, sorted(seated), direct, groups, list(waiting))
        return details, Rights(roles, viewer is not None and viewer in seated)

    def overview(
        self, query: str, viewer: str | None, *, users: int = 30, groups: int = 30, waiting: int = 20
    ) -> tuple[AppOverview, Rights]:
        """The license details modal's content, bounded: the first `users` direct users, `groups` groups
        (with their counts and first waiting members) and `waiting` waiters, and the totals of each."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            summary = self.k.summary_of(uow, row)
            a = uow.assignees
            firsts = a.direct_users(row.id, users)
            subjects = a.subjects(row.id, SourceKind.GROUP, 0, groups)
            ends = uow.lifetimes.untils(row.id, SourceKind.USER, [u for u, _ in firsts])
            direct = [Assignee(SourceKind.USER, u, seated=s, until=ends.get(u)) for u, s in firsts]
            shown_groups = self._groups(uow, row.id, subjects)
            groups_total = a.count_subjects(row.id, SourceKind.GROUP)
            overview = AppOverview(
                app=summary,
                users=direct,
                users_total=a.count_subjects(row.id, SourceKind.USER),
                groups=shown_groups,
                groups_total=groups_total,
                waiting=a.first_waiting(row.id, waiting) if summary.waiting else [],
                assignees_total=groups_total + a.count_users(row.id),
            )
            roles = self.k.roles(uow, Actor(viewer)) if viewer else frozenset()
            holds = bool(viewer) and uow.licenses.has_seat(row.id, viewer or "")
        return overview, Rights(roles, holds)

    def assignees(self, query: str, page: int = 1, size: int = 50) -> tuple[AppSummary, Page[Assignee]]:
        """ "See all N assignees": every group (oldest assignment first), then every user covered (first
        covered first) with their sources and state, one page at a time."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            summary = self.k.summary_of(uow, row)
            a = uow.assignees
            groups_total = a.count_subjects(row.id, SourceKind.GROUP)
            total = groups_total + a.count_users(row.id)
            offset = page_offset(page, size, total)
            items: list[Assignee] = []
            if offset < groups_total:
                items = self._groups(uow, row.id, a.subjects(row.id, SourceKind.GROUP, offset, size))
            room = size - len(items)
            if room > 0:
                people = a.users(row.id, max(0, offset - groups_total), room)
                sources = a.sources(row.id, [u for u, _ in people])
                ends = uow.lifetimes.untils(row.id, SourceKind.USER, [u for u, _ in people])  # direct ones
                items += [Assignee(SourceKind.USER, u, seated=s, until=ends.get(u),
                                   sources=tuple((SourceKind(k), subject) for k, subject in sources.get(u, [])))
                          for u, s in people]
        return summary, Page(items, total, offset, size)

    @staticmethod
    def _groups(uow: UnitOfWork, app_id: int, subjects: list[tuple[int, str]], per: int = 5) -> list[Assignee]:
        ids = [assignment_id for assignment_id, _ in subjects]
        counts = uow.assignees.group_counts(app_id, ids)
        first = uow.assignees.first_waiting_of(app_id, ids, per)
        ends = uow.lifetimes.untils(app_id, SourceKind.GROUP, [g for _, g in subjects]) if subjects else {}
        return [Assignee(SourceKind.GROUP, group_id, licensed=counts.get(i, (0, 0))[0],
                         waiting=counts.get(i, (0, 0))[1], first_waiting=tuple(first.get(i, ())),
                         until=ends.get(group_id))
                for i, group_id in subjects]

    def licenses_of(self, user_id: str) -> list[HeldLicense]:
        with self.k.uow() as uow:
            by_app: dict[int, HeldLicense] = {}
            for app_id, seated, kind, subject in uow.licenses.holdings_of(user_id):
                held = by_app.setdefault(app_id, HeldLicense(app=str(app_id), seated=seated, sources=[]))
                held.sources.append((SourceKind(kind), subject))
            names = uow.apps.names_of(sorted(by_app)) if by_app else {}
            untils = uow.lifetimes.direct_untils_of(user_id) if by_app else {}
        return sorted(
            (HeldLicense(names[i], h.seated, h.sources, untils.get(i)) for i, h in by_app.items()),
            key=lambda h: h.app.casefold(),
        )

    def holds(self, user_id: str, query: str) -> bool:
        with self.k.uow() as uow:
            return uow.licenses.has_seat(self.k.resolve(uow, query).id, user_id)

    # ------------------------------------------------------------------ importing
    def import_apps(self, actor: Actor, records: Sequence[AppRecord]) -> list[tuple[str, str]]:
        """Creates or updates apps by name, all or nothing (bot/app_records.py): (name, change) each."""
        return [(c.name, c.change) for c in AppRecordService(self.k).import_records(actor, records)]


def query_words(query: str) -> list[str]:
    """The folded words of a filter a person typed (quotes around it ignored)."""
    return fold(clean_query(query)).split()
