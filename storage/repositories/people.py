"""Roles, the audit log, idempotency keys, requests and processed events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.audit_chain import GENESIS, entry_hash, row_contents
from storage.models import (
    ApprovalMessageRow,
    AuditChainRow,
    AuditRow,
    IdempotencyKeyRow,
    LicenseRequestRow,
    ProcessedEventRow,
    RoleBindingRow,
)
from storage.repositories.bulk import rowcount

_ROLES_OF = select(RoleBindingRow.role).where(RoleBindingRow.user_id == bindparam("user_id"))


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
        return bool(rowcount(result))

    def all(self) -> list[RoleBindingRow]:
        return list(self.session.scalars(select(RoleBindingRow).order_by(RoleBindingRow.role, RoleBindingRow.user_id)))

    def users_with(self, roles: Iterable[str]) -> list[str]:
        return sorted(
            set(self.session.scalars(select(RoleBindingRow.user_id).where(RoleBindingRow.role.in_(list(roles)))))
        )


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._pending: list[AuditRow] = []

    def add(self, row: AuditRow) -> None:
        """Queues an entry; it is chained and inserted by `seal`, as the transaction commits."""
        self._pending.append(row)

    def seal(self) -> None:
        """Chains and inserts the entries added in this transaction, under the chain's lock. The unit of
        work calls it right before COMMIT: the chain's lock is the last lock a transaction takes (no
        deadlock with the apps' locks) and is held only until the commit. Entries are numbered here,
        under the lock, so ids follow the chain on every database."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        head = self._lock_head()
        ids = self._next_ids(len(rows))
        previous = head.last_hash
        for row, row_id in zip(rows, ids, strict=True):
            row.id, row.prev_hash = row_id, previous
            row.hash = previous = entry_hash(previous, row_contents(row))
        self.session.add_all(rows)
        head.last_id, head.last_hash = ids[-1], previous
        self.session.flush()

    def _lock_head(self) -> AuditChainRow:
        query = (select(AuditChainRow).where(AuditChainRow.id == 1).with_for_update()
                 .execution_options(populate_existing=True))
        head = self.session.scalar(query)
        if head is None:  # made by the migration; only a database tampered with lacks it (verify says so)
            insert = sqlite_insert if self._dialect() == "sqlite" else postgresql_insert
            self.session.execute(insert(AuditChainRow).values(id=1, last_id=None, last_hash=GENESIS)
                                 .on_conflict_do_nothing(index_elements=["id"]))
            head = self.session.scalars(query).one()
        return head

    def _next_ids(self, count: int) -> list[int]:
        if self._dialect() == "sqlite":  # under the write lock: nobody else inserts meanwhile
            last = self.session.scalar(select(func.coalesce(func.max(AuditRow.id), 0)))
            return list(range(int(last or 0) + 1, int(last or 0) + 1 + count))
        return sorted(self.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ))

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def head(self) -> tuple[int | None, str] | None:
        """The chain's head as committed now: (the last entry's id, its hash); None when it is gone."""
        row = self.session.execute(
            select(AuditChainRow.last_id, AuditChainRow.last_hash).where(AuditChainRow.id == 1)
        ).first()
        return None if row is None else (row.last_id, row.last_hash)

    def first_after(self, entry_id: int) -> int | None:
        """The id of the first entry after `entry_id`, if any."""
        return self.session.scalar(select(func.min(AuditRow.id)).where(AuditRow.id > entry_id))

    def latest(self, app: str | None = None, limit: int = 20) -> list[AuditRow]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if app is not None:
            query = query.where(AuditRow.app == app)
        return list(self.session.scalars(query))

    def stream(
        self,
        batch: int = 1000,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        app: str | None = None,
        actor: str | None = None,
        after: int = 0,
        through_id: int | None = None,
    ) -> Iterator[AuditRow]:
        """Every entry (at in [since, until), of the app, by the actor, after id `after` and up to id
        `through_id`, when given), oldest first, without holding them all in memory."""
        query = select(AuditRow)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        if app is not None:
            query = query.where(AuditRow.app == app)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if through_id is not None:
            query = query.where(AuditRow.id <= through_id)
        last_id = after
        while True:
            rows = list(self.session.scalars(query.where(AuditRow.id > last_id).order_by(AuditRow.id).limit(batch)))
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

    def prune(self, before: dt.datetime, batch: int = 5000) -> int:
        """Deletes up to `batch` keys stored before the time; how many went."""
        keys = (select(IdempotencyKeyRow.key).where(IdempotencyKeyRow.created_at < before).limit(batch)
                .scalar_subquery())
        return rowcount(self.session.execute(
            delete(IdempotencyKeyRow).where(IdempotencyKeyRow.key.in_(keys)).execution_options(synchronize_session=False)
        ))


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

    def pending(
        self, requester_id: str | None = None, *, offset: int = 0, limit: int | None = None
    ) -> list[LicenseRequestRow]:
        query = select(LicenseRequestRow).where(LicenseRequestRow.status == "pending")
        if requester_id is not None:
            query = query.where(LicenseRequestRow.requester_id == requester_id)
        query = query.order_by(LicenseRequestRow.created_at, LicenseRequestRow.id).offset(offset)
        return list(self.session.scalars(query.limit(limit) if limit is not None else query))

    def pending_count(self, app_id: int | None = None) -> int:
        query = select(func.count()).select_from(LicenseRequestRow).where(LicenseRequestRow.status == "pending")
        if app_id is not None:
            query = query.where(LicenseRequestRow.app_id == app_id)
        return self.session.scalar(query) or 0

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
        return rowcount(result) == 1

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
        return rowcount(result) == 1

    def messages(self, request_id: int) -> list[ApprovalMessageRow]:
        return list(
            self.session.scalars(select(ApprovalMessageRow).where(ApprovalMessageRow.request_id == request_id))
        )

    def message_of(self, request_id: int, approver_id: str) -> ApprovalMessageRow | None:
        return self.session.scalar(
            select(ApprovalMessageRow).where(
                ApprovalMessageRow.request_id == request_id, ApprovalMessageRow.approver_id == approver_id
            )
        )

    def add_message(self, request_id: int, approver_id: str, channel: str, ts: str) -> None:
        self.session.add(ApprovalMessageRow(request_id=request_id, approver_id=approver_id, channel=channel, ts=ts))
        self.session.flush()


class ProcessedEventRepository:
    """Keys of work done once across processes: Slack event ids, and the slots of scheduled runs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, key: str, at: dt.datetime) -> bool:
        """Records a key in this transaction; False when it is recorded already (committed by another
        transaction; PostgreSQL waits for a twin in flight and answers once it ends)."""
        values = {"event_id": key, "received_at": at}
        dialect = self.session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = (insert(ProcessedEventRow).values(values).on_conflict_do_nothing(index_elements=["event_id"])
                     .returning(ProcessedEventRow.event_id))
        return self.session.execute(statement).first() is not None

    def seen(self, key: str) -> bool:
        """Was the key recorded (committed) already? A hint to skip work early; `claim` decides."""
        return self.session.get(ProcessedEventRow, key) is not None

    def prune(self, before: dt.datetime, batch: int = 5000) -> int:
        """Deletes up to `batch` keys recorded before the time; how many went."""
        keys = (select(ProcessedEventRow.event_id).where(ProcessedEventRow.received_at < before).limit(batch)
                .scalar_subquery())
        return rowcount(self.session.execute(
            delete(ProcessedEventRow).where(ProcessedEventRow.event_id.in_(keys))
            .execution_options(synchronize_session=False)
        ))
