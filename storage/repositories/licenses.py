"""Apps, and the licenses of each: assignments (the sources), grants (users covered by a source) and seats."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from storage.catalog_version import READ as _CATALOG_VERSION
from storage.models import (
    AppRow,
    AssignmentRow,
    GrantRow,
    SeatRow,
)
from storage.repositories.bulk import chunks, insert_per_user, json_rows, table_of

# The reads behind every `/licenses` command, built once: constructing a statement costs SQLAlchemy more
# than SQLite takes to run these (bench/ack_latency.py).
_ACTIVE = AppRow.retired_at.is_(None)  # a retired app leaves every list and picker
_ALL_APPS = select(AppRow).where(_ACTIVE).order_by(AppRow.name_fold, AppRow.id)

_APP_BY_KEY = select(AppRow).where(AppRow.name_key == bindparam("name_key"))
_SEATED = select(func.count()).where(SeatRow.app_id == AppRow.id).correlate(AppRow).scalar_subquery()
_WAITING = (
    select(func.count(func.distinct(GrantRow.user_id)))
    .where(
        GrantRow.app_id == AppRow.id,
        ~exists().where(SeatRow.app_id == GrantRow.app_id, SeatRow.user_id == GrantRow.user_id),
    )
    .correlate(AppRow)
    .scalar_subquery()
)
_APP_SUMMARIES = select(AppRow, _SEATED, _WAITING).where(_ACTIVE).order_by(AppRow.name_fold, AppRow.id)


def _page_query(where: Any) -> Any:
    return (select(AppRow, _SEATED, _WAITING, func.count().over()).where(where)
            .order_by(AppRow.name_fold, AppRow.id).offset(bindparam("offset")).limit(bindparam("limit")))


_PAGE_ALL = _page_query(_ACTIVE)


# The license details modal's reads (see LicensingService.details_for), built once.
_SEATED_USERS = select(SeatRow.user_id).where(SeatRow.app_id == bindparam("app_id"))
_SOURCES = (
    select(AssignmentRow.kind, AssignmentRow.subject_id, GrantRow.user_id)
    .join(GrantRow, GrantRow.assignment_id == AssignmentRow.id, isouter=True)
    .where(AssignmentRow.app_id == bindparam("app_id"))
    .order_by(GrantRow.id.is_(None), GrantRow.id, AssignmentRow.id)  # grant order is waitlist order
)
def _like(text: str) -> str:
    """Text matched literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AppRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # the ids of the apps this unit of work locked, in order: every change to an app's seats, waitlist or
        # totals holds its lock, so these are the apps whose alerts are looked at before the commit
        self.locked: list[int] = []

    def catalog_version(self) -> int | None:
        """The shared number every change to apps, seats or grants bumps (storage/catalog_version.py); None
        on a schema without its row."""
        return self.session.scalar(_CATALOG_VERSION)

    def all(self) -> list[AppRow]:
        """Every app in service (not retired), by folded name."""
        return list(self.session.scalars(_ALL_APPS))

    def names_of(self, app_ids: Sequence[int]) -> dict[int, str]:
        """These apps' names by id: a person's few licenses without reading the whole catalog."""
        names: dict[int, str] = {}
        for chunk in chunks(list(app_ids)):
            query = select(AppRow.id, AppRow.name).where(AppRow.id.in_(chunk))
            names.update((app_id, name) for app_id, name in self.session.execute(query))
        return names

    def summaries_of(self, app_ids: Sequence[int]) -> list[tuple[AppRow, int, int]]:
        """`summaries` for these apps only (retired ones too), in one read: many requests' apps at once."""
        found: list[tuple[AppRow, int, int]] = []
        for chunk in chunks(list(app_ids)):
            query = select(AppRow, _SEATED, _WAITING).where(AppRow.id.in_(chunk))
            found.extend((row, seated, waiting) for row, seated, waiting in self.session.execute(query))
        return found

    def summaries(self) -> list[tuple[AppRow, int, int]]:
        """Every app with how many users hold a seat and how many wait for one: `/licenses list` in one read."""
        return [(row, seated, waiting) for row, seated, waiting in self.session.execute(_APP_SUMMARIES)]

    @staticmethod
    def _matching(words: Sequence[str]) -> Any:
        """Apps in service whose folded name or vendor holds each folded word."""
        condition: list[Any] = [_ACTIVE]
        for word in words:
            pattern = f"%{_like(word)}%"
            condition.append(or_(AppRow.name_fold.like(pattern, escape="\\"),
                                 AppRow.vendor_fold.like(pattern, escape="\\")))
        return and_(*condition)

    def count_matching(self, words: Sequence[str]) -> int:
        return self.session.scalar(select(func.count()).select_from(AppRow).where(self._matching(words))) or 0

    def page_and_total(
        self, words: Sequence[str], offset: int, limit: int
    ) -> tuple[list[tuple[AppRow, int, int]], int]:
        """`page` and `count_matching` in one statement (a window count over the filtered apps); the total is
        -1 when the page is empty (past the end, or nothing matches): then ask `count_matching`. Without
        words the statement is built once: `/licenses list` is the command people type most."""
        query = _PAGE_ALL if not words else _page_query(self._matching(words))
        rows = self.session.execute(query, {"offset": offset, "limit": limit}).all()
        if not rows:
            return [], -1
        return [(row, seated, waiting) for row, seated, waiting, _ in rows], int(rows[0][3])

    def page(self, words: Sequence[str], offset: int, limit: int) -> list[tuple[AppRow, int, int]]:
        """One page of `summaries`, filtered by folded words: the counts are read for this page's apps only."""
        query = (select(AppRow, _SEATED, _WAITING).where(self._matching(words))
                 .order_by(AppRow.name_fold, AppRow.id).offset(offset).limit(limit))
        return [(row, seated, waiting) for row, seated, waiting in self.session.execute(query)]

    def names_matching(self, words: Sequence[str], limit: int) -> list[str]:
        """The names of the first apps matching (an app picker's typeahead)."""
        query = select(AppRow.name).where(self._matching(words)).order_by(AppRow.name_fold, AppRow.id).limit(limit)
        return list(self.session.scalars(query))

    def active_by_fold(self, folded_name: str) -> list[AppRow]:
        """Apps in service whose folded name is exactly this one, or starts with it."""
        query = (select(AppRow).where(_ACTIVE, AppRow.name_fold.like(f"{_like(folded_name)}%", escape="\\"))
                 .order_by(AppRow.name_fold, AppRow.id))
        return list(self.session.scalars(query))

    def get(self, app_id: int) -> AppRow | None:
        return self.session.get(AppRow, app_id)

    def by_key(self, name_key: str) -> AppRow | None:
        return self.session.scalar(_APP_BY_KEY, {"name_key": name_key})

    def lock(self, app_id: int) -> AppRow:
        """Locks the app row for the rest of the transaction (PostgreSQL; SQLite holds its write lock)."""
        row = self.session.scalar(
            select(AppRow).where(AppRow.id == app_id).with_for_update().execution_options(populate_existing=True)
        )
        if row is None:
            raise LookupError(app_id)
        self.locked.append(app_id)
        return row

    def add(self, row: AppRow) -> AppRow:
        self.session.add(row)
        self.session.flush()
        return row


class LicenseRepository:
    """Assignments (the sources), grants (users covered by a source) and seats (users holding one)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # (app id, user id) of every seat given or taken in this unit of work, in order: what follows a
        # seat change (provisioning at the vendor) is written from it before the commit
        self.seat_changes: list[tuple[int, str]] = []

    # --- assignments
    def assignment(self, app_id: int, kind: str, subject_id: str) -> AssignmentRow | None:
        return self.session.scalar(
            select(AssignmentRow).where(
                AssignmentRow.app_id == app_id, AssignmentRow.kind == kind, AssignmentRow.subject_id == subject_id
            )
        )

    def assignments(self, app_id: int) -> list[AssignmentRow]:
        return list(
            self.session.scalars(
                select(AssignmentRow).where(AssignmentRow.app_id == app_id).order_by(AssignmentRow.id)
            )
        )

    def group_assignments(self, group_id: str) -> list[AssignmentRow]:
        return list(
            self.session.scalars(
                select(AssignmentRow).where(AssignmentRow.kind == "group", AssignmentRow.subject_id == group_id)
            )
        )

    def assigned_group_ids(self) -> list[str]:
        return list(
            self.session.scalars(
                select(AssignmentRow.subject_id).where(AssignmentRow.kind == "group").distinct()
            )
        )

    def add_assignment(self, app_id: int, kind: str, subject_id: str, by: str, at: dt.datetime) -> AssignmentRow:
        row = AssignmentRow(app_id=app_id, kind=kind, subject_id=subject_id, created_by=by, created_at=at)
        self.session.add(row)
        self.session.flush()
        return row

    def delete_assignment(self, assignment_id: int) -> None:
        self.session.execute(delete(GrantRow).where(GrantRow.assignment_id == assignment_id))
        self.session.execute(delete(AssignmentRow).where(AssignmentRow.id == assignment_id))

    # --- grants
    def granted_users(self, assignment_id: int) -> set[str]:
        return set(self.session.scalars(select(GrantRow.user_id).where(GrantRow.assignment_id == assignment_id)))

    def add_grants(self, assignment_id: int, app_id: int, users: Sequence[str], at: dt.datetime) -> None:
        """In list order: the grant id orders the waitlist."""
        same = {"assignment_id": assignment_id, "app_id": app_id, "created_at": at}
        insert_per_user(self.session, table_of(GrantRow), same, users)

    def delete_grants(self, assignment_id: int, users: Sequence[str]) -> None:
        for chunk in chunks(users):
            self.session.execute(
                delete(GrantRow).where(GrantRow.assignment_id == assignment_id, GrantRow.user_id.in_(chunk))
            )

    def sources_of(self, app_id: int, users: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """For each user, the (kind, subject) of every assignment that covers them."""
        result: dict[str, list[tuple[str, str]]] = {}
        for chunk in chunks(users):
            rows = self.session.execute(
                select(GrantRow.user_id, AssignmentRow.kind, AssignmentRow.subject_id)
                .join(AssignmentRow, AssignmentRow.id == GrantRow.assignment_id)
                .where(GrantRow.app_id == app_id, GrantRow.user_id.in_(chunk))
                .order_by(GrantRow.id)
            )
            for user_id, kind, subject in rows:
                result.setdefault(user_id, []).append((kind, subject))
        return result

    # --- seats
    def seated_users(self, app_id: int) -> set[str]:
        return set(self.session.scalars(_SEATED_USERS, {"app_id": app_id}))

    def sources(self, app_id: int) -> list[tuple[str, str, str | None]]:
        """(kind, subject, user) for every grant of every assignment of the app, oldest first;
        an assignment with no grant yet (an empty group) comes once with user None."""
        return [(kind, subject, user) for kind, subject, user in self.session.execute(_SOURCES, {"app_id": app_id})]

    def seated_count(self, app_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(SeatRow).where(SeatRow.app_id == app_id)) or 0

    def add_seats(self, app_id: int, users: Sequence[str], at: dt.datetime) -> None:
        insert_per_user(self.session, table_of(SeatRow), {"app_id": app_id, "since": at}, users)
        self.seat_changes.extend((app_id, user) for user in users)

    @staticmethod
    def _has_seat(app_id: Any, user_id: Any) -> Any:
        return exists().where(SeatRow.app_id == app_id, SeatRow.user_id == user_id)

    def release_orphan_seats(self, app_id: int) -> list[str]:
        """Frees the seats of users no assignment covers any more; returns who lost one."""
        orphan = and_(
            SeatRow.app_id == app_id,
            ~exists().where(GrantRow.app_id == app_id, GrantRow.user_id == SeatRow.user_id),
        )
        users = list(self.session.scalars(select(SeatRow.user_id).where(orphan)))
        if users:
            self.session.execute(delete(SeatRow).where(orphan))
            self.seat_changes.extend((app_id, user) for user in users)
        return users

    def waiters(self, app_id: int, limit: int | None = None) -> list[tuple[str, dt.datetime]]:
        """Users covered by a source but holding no seat, who waited longest first."""
        first_grant = func.min(GrantRow.id)
        query = (
            select(GrantRow.user_id, func.min(GrantRow.created_at))
            .where(GrantRow.app_id == app_id, ~self._has_seat(app_id, GrantRow.user_id))
            .group_by(GrantRow.user_id)
            .order_by(first_grant)
        )
        if limit is not None:
            query = query.limit(limit)
        return [(user_id, since) for user_id, since in self.session.execute(query)]

    def holdings_of(self, user_id: str) -> list[tuple[int, bool, str, str]]:
        """(app_id, seated, kind, subject) for every source covering the user, in any app."""
        seated = self._has_seat(GrantRow.app_id, GrantRow.user_id)
        rows = self.session.execute(
            select(GrantRow.app_id, seated, AssignmentRow.kind, AssignmentRow.subject_id)
            .join(AssignmentRow, AssignmentRow.id == GrantRow.assignment_id)
            .where(GrantRow.user_id == user_id)
            .order_by(GrantRow.app_id, GrantRow.id)
        )
        return [(app_id, bool(has), kind, subject) for app_id, has, kind, subject in rows]

    def has_seat(self, app_id: int, user_id: str) -> bool:
        return bool(self.session.scalar(select(self._has_seat(app_id, user_id))))

    # --- many direct assignments at once (assignments import)
    def direct_subjects(self, app_id: int, users: Sequence[str]) -> set[str]:
        """Those of `users` the app is already assigned to directly."""
        found: set[str] = set()
        for chunk in chunks(users):
            found.update(self.session.scalars(
                select(AssignmentRow.subject_id).where(
                    AssignmentRow.app_id == app_id, AssignmentRow.kind == "user", AssignmentRow.subject_id.in_(chunk))
            ))
        return found

    def add_direct_assignments(self, app_id: int, users: Sequence[str], by: str, at: dt.datetime) -> None:
        """A direct assignment and its grant for each user (none assigned directly yet), in list order:
        two statements whatever the number of users."""
        if not users:
            return
        same = {"app_id": app_id, "kind": "user", "created_by": by, "created_at": at}
        insert_per_user(self.session, table_of(AssignmentRow), same, users, column="subject_id")
        # the new assignments' grants, in assignment id order (list order): only our table names formatted in
        statement = text(
            "INSERT INTO grants (assignment_id, app_id, user_id, created_at) "  # noqa: S608
            "SELECT a.id, a.app_id, a.subject_id, :at FROM assignments a "
            "WHERE a.app_id = :app_id AND a.kind = 'user' "
            f"AND a.subject_id IN (SELECT u.value FROM {json_rows(self.session)[0]}) "
            "AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.assignment_id = a.id) ORDER BY a.id"
        ).bindparams(bindparam("at", type_=table_of(GrantRow).c.created_at.type))
        self.session.execute(statement, {"at": at, "app_id": app_id, "users": json.dumps(list(users))})
