"""Repositories: the only place with queries. They add, find and count rows; the rules live in bot/."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, func, select, text, update
from sqlalchemy.orm import Session

from storage.models import (
    ApprovalMessageRow,
    AppRow,
    AssignmentRow,
    AuditRow,
    Base,
    GrantRow,
    IdempotencyKeyRow,
    LicenseRequestRow,
    ProcessedEventRow,
    RoleBindingRow,
    SeatRow,
)

# Bulk statements are split so no single statement carries more bound parameters than a driver allows.
CHUNK = 2000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types execute()'s result without it)."""
    return int(result.rowcount)


def _insert_per_user(session: Session, table: Table, same: dict[str, Any], users: Sequence[str]) -> None:
    """Inserts one row per user, in list order, the other columns the same for all: ONE statement whose user
    ids travel as a single JSON array parameter, expanded by the database.

    A group of 10,000 members is two such inserts. As an executemany, SQLAlchemy's per-row parameter
    processing and (on PostgreSQL) one statement per row on the wire cost several times the insert itself;
    a JSON text is also cheaper to send than a driver-built array of 10,000 strings.
    """
    if not users:
        return
    if session.get_bind().dialect.name == "postgresql":
        source = "json_array_elements_text(CAST(:users AS JSON)) WITH ORDINALITY AS u(value, n) ORDER BY u.n"
    else:  # SQLite: JSON functions are built in since 3.38
        source = "json_each(:users) AS u ORDER BY u.key"
    columns = ", ".join([*same, "user_id"])
    placeholders = ", ".join(f":{name}" for name in same)
    # only our own table and column names are formatted in: every value is a bound parameter
    statement = text(f"INSERT INTO {table.name} ({columns}) SELECT {placeholders}, u.value FROM {source}")  # noqa: S608
    # typed like the columns: UTC datetimes are stored as the ORM stores them
    statement = statement.bindparams(*(bindparam(name, type_=table.c[name].type) for name in same))
    session.execute(statement, {**same, "users": json.dumps(list(users))})


# The reads behind every `/licenses` command, built once: constructing a statement costs SQLAlchemy more
# than SQLite takes to run these (bench/ack_latency.py).
_ALL_APPS = select(AppRow).order_by(AppRow.name_key)
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
_APP_SUMMARIES = select(AppRow, _SEATED, _WAITING).order_by(AppRow.name_key)


# The license details modal's reads (see LicensingService.details_for), built once.
_SEATED_USERS = select(SeatRow.user_id).where(SeatRow.app_id == bindparam("app_id"))
_SOURCES = (
    select(AssignmentRow.kind, AssignmentRow.subject_id, GrantRow.user_id)
    .join(GrantRow, GrantRow.assignment_id == AssignmentRow.id, isouter=True)
    .where(AssignmentRow.app_id == bindparam("app_id"))
    .order_by(GrantRow.id.is_(None), GrantRow.id, AssignmentRow.id)  # grant order is waitlist order
)
_ROLES_OF = select(RoleBindingRow.role).where(RoleBindingRow.user_id == bindparam("user_id"))


class AppRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[AppRow]:
        return list(self.session.scalars(_ALL_APPS))

    def summaries(self) -> list[tuple[AppRow, int, int]]:
        """Every app with how many users hold a seat and how many wait for one: `/licenses list` in one read."""
        return [(row, seated, waiting) for row, seated, waiting in self.session.execute(_APP_SUMMARIES)]

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
        return row

    def add(self, row: AppRow) -> AppRow:
        self.session.add(row)
        self.session.flush()
        return row


class LicenseRepository:
    """Assignments (the sources), grants (users covered by a source) and seats (users holding one)."""

    def __init__(self, session: Session) -> None:
        self.session = session

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
        _insert_per_user(self.session, _table(GrantRow), same, users)

    def delete_grants(self, assignment_id: int, users: Sequence[str]) -> None:
        for chunk in _chunks(users):
            self.session.execute(
                delete(GrantRow).where(GrantRow.assignment_id == assignment_id, GrantRow.user_id.in_(chunk))
            )

    def sources_of(self, app_id: int, users: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """For each user, the (kind, subject) of every assignment that covers them."""
        result: dict[str, list[tuple[str, str]]] = {}
        for chunk in _chunks(users):
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
        _insert_per_user(self.session, _table(SeatRow), {"app_id": app_id, "since": at}, users)

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


class RoleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def roles_of(self, user_id: str) -> set[str]:
        return set(self.session.scalars(_ROLES_OF, {"user_id": user_id}))

    def add(self, user_id: str, role: str, by: str, at: dt.datetime) -> None:
        self.session.add(RoleBindingRow(user_id=user_id, role=role, granted_by=by, granted_at=at))
        self.session.flush()

    def remove(self, user_id: str, role: str) -> bool:
        result = self.session.execute(
            delete(RoleBindingRow).where(RoleBindingRow.user_id == user_id, RoleBindingRow.role == role)
        )
        return bool(_rowcount(result))

    def all(self) -> list[RoleBindingRow]:
        return list(self.session.scalars(select(RoleBindingRow).order_by(RoleBindingRow.role, RoleBindingRow.user_id)))

    def users_with(self, roles: Iterable[str]) -> list[str]:
        return sorted(
            set(self.session.scalars(select(RoleBindingRow.user_id).where(RoleBindingRow.role.in_(list(roles)))))
        )


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: AuditRow) -> None:
        self.session.add(row)

    def latest(self, app: str | None = None, limit: int = 20) -> list[AuditRow]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if app is not None:
            query = query.where(AuditRow.app == app)
        return list(self.session.scalars(query))

    def stream(self, batch: int = 1000) -> Iterator[AuditRow]:
        """Every entry, oldest first, without holding them all in memory."""
        last_id = 0
        while True:
            rows = list(
                self.session.scalars(select(AuditRow).where(AuditRow.id > last_id).order_by(AuditRow.id).limit(batch))
            )
            if not rows:
                return
            yield from rows
            last_id = rows[-1].id


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> IdempotencyKeyRow | None:
        return self.session.get(IdempotencyKeyRow, key)

    def add(self, key: str, action: str, result: dict[str, Any], at: dt.datetime) -> None:
        self.session.add(IdempotencyKeyRow(key=key, action=action, result=result, created_at=at))
        self.session.flush()


class RequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, request_id: int) -> LicenseRequestRow | None:
        return self.session.get(LicenseRequestRow, request_id)

    def reread(self, request_id: int) -> LicenseRequestRow | None:
        """The row as committed now, not as this session first saw it (after a lock, or a lost race)."""
        return self.session.get(LicenseRequestRow, request_id, populate_existing=True)

    def pending_created_by(self, cutoff: dt.datetime, *, unreminded: bool = False) -> list[LicenseRequestRow]:
        """Pending requests created at or before the cutoff, oldest first (due to expire, or a reminder)."""
        query = select(LicenseRequestRow).where(
            LicenseRequestRow.status == "pending", LicenseRequestRow.created_at <= cutoff
        )
        if unreminded:
            query = query.where(LicenseRequestRow.reminded_at.is_(None))
        return list(self.session.scalars(query.order_by(LicenseRequestRow.created_at, LicenseRequestRow.id)))

    def pending_for(self, app_id: int, requester_id: str) -> LicenseRequestRow | None:
        return self.session.scalar(
            select(LicenseRequestRow).where(
                LicenseRequestRow.app_id == app_id,
                LicenseRequestRow.requester_id == requester_id,
                LicenseRequestRow.status == "pending",
            )
        )

    def pending(self, requester_id: str | None = None) -> list[LicenseRequestRow]:
        query = select(LicenseRequestRow).where(LicenseRequestRow.status == "pending")
        if requester_id is not None:
            query = query.where(LicenseRequestRow.requester_id == requester_id)
        return list(self.session.scalars(query.order_by(LicenseRequestRow.created_at, LicenseRequestRow.id)))

    def add(self, row: LicenseRequestRow) -> LicenseRequestRow:
        self.session.add(row)
        self.session.flush()
        return row

    def decide(self, request_id: int, status: str, by: str, note: str, at: dt.datetime) -> bool:
        """Moves a pending request to its outcome; False when someone else already decided."""
        result = self.session.execute(
            update(LicenseRequestRow)
            .where(LicenseRequestRow.id == request_id, LicenseRequestRow.status == "pending")
            .values(status=status, decided_by=by, decision_note=note, decided_at=at)
        )
        return _rowcount(result) == 1

    def mark_reminded(self, request_id: int, at: dt.datetime) -> bool:
        result = self.session.execute(
            update(LicenseRequestRow)
            .where(
                LicenseRequestRow.id == request_id,
                LicenseRequestRow.status == "pending",
                LicenseRequestRow.reminded_at.is_(None),
            )
            .values(reminded_at=at)
        )
        return _rowcount(result) == 1

    def messages(self, request_id: int) -> list[ApprovalMessageRow]:
        return list(
            self.session.scalars(select(ApprovalMessageRow).where(ApprovalMessageRow.request_id == request_id))
        )

    def add_message(self, request_id: int, approver_id: str, channel: str, ts: str) -> None:
        self.session.add(ApprovalMessageRow(request_id=request_id, approver_id=approver_id, channel=channel, ts=ts))
        self.session.flush()


class ProcessedEventRepository:
    """Keys of work done once across processes: Slack event ids, and the slots of scheduled runs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, key: str, at: dt.datetime) -> None:
        """Records a key; raises IntegrityError (on flush) when it was recorded already."""
        self.session.add(ProcessedEventRow(event_id=key, received_at=at))
        self.session.flush()
