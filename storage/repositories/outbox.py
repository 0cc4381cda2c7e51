"""The outbox: messages written with the change they follow, claimed and marked by the deliverer.

A lane is delivered in id order, one message at a time: only a lane's head (its oldest pending message)
may be claimed. On PostgreSQL the claim locks the head with FOR UPDATE SKIP LOCKED, so several processes
deliver at once and never the same message; the lock lasts while the message is sent. On SQLite one
process delivers (see storage.db.ProcessLock) and leaves out the lanes its own workers are sending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import OutboxRow
from storage.repositories.bulk import rowcount

PENDING, DELIVERED, DROPPED = "pending", "delivered", "dropped"
# Written into the SQL, not bound: a partial index (WHERE status = 'pending') is only used when the
# planner sees the literal, and psycopg prepares repeated statements with generic plans.
_PENDING: ColumnElement[str] = literal_column("'pending'")

_older = aliased(OutboxRow)
_IS_HEAD = ~exists().where(_older.lane == OutboxRow.lane, _older.status == _PENDING, _older.id < OutboxRow.id)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts messages (dicts of OutboxRow's columns), in order: the ids give each lane its order."""
        if rows:
            self.session.execute(insert(OutboxRow), list(rows))

    def claim(self, now: dt.datetime, *, skip_locked: bool, busy_lanes: Collection[str] = ()) -> OutboxRow | None:
        """The oldest due message that heads its lane. skip_locked (PostgreSQL): locks it until this
        transaction ends, passing over heads other transactions hold. Otherwise `busy_lanes` are left out."""
        due = or_(OutboxRow.available_at.is_(None), OutboxRow.available_at <= now)
        query = select(OutboxRow).where(OutboxRow.status == _PENDING, due, _IS_HEAD).order_by(OutboxRow.id).limit(1)
        if skip_locked:
            query = query.with_for_update(skip_locked=True, of=OutboxRow)
        elif busy_lanes:
            query = query.where(OutboxRow.lane.not_in(list(busy_lanes)))
        return self.session.scalar(query)

    def finish(self, message_id: int, status: str, at: dt.datetime, error: str | None = None) -> None:
        """Delivered or dropped: done, kept until pruned."""
        self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(status=status, done_at=at, attempts=OutboxRow.attempts + 1, last_error=_short(error))
        )

    def reschedule(self, message_id: int, not_before: dt.datetime, error: str) -> None:
        self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(available_at=not_before, attempts=OutboxRow.attempts + 1, last_error=_short(error))
        )

    def pending_recipients(self, lane: str, kind: str) -> list[str]:
        return list(self.session.scalars(
            select(OutboxRow.recipient).where(
                OutboxRow.status == _PENDING, OutboxRow.lane == lane, OutboxRow.kind == kind
            ).order_by(OutboxRow.id)
        ))

    def pending(self, limit: int = 1000) -> list[OutboxRow]:
        return list(self.session.scalars(
            select(OutboxRow).where(OutboxRow.status == _PENDING).order_by(OutboxRow.id).limit(limit)
        ))

    def dropped(self, since: dt.datetime, limit: int = 20) -> list[OutboxRow]:
        """Messages given up on since a time, newest first."""
        return list(self.session.scalars(
            select(OutboxRow).where(OutboxRow.status == DROPPED, OutboxRow.done_at >= since)
            .order_by(OutboxRow.id.desc()).limit(limit)
        ))

    def counts(self, since: dt.datetime) -> tuple[int, dt.datetime | None, int, int]:
        """(pending, the oldest pending one's creation, delivered since, dropped since)."""
        pending, oldest = self.session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.status == _PENDING)
        ).one()
        done: dict[str, int] = {
            status: int(n) for status, n in self.session.execute(
                select(OutboxRow.status, func.count()).where(OutboxRow.done_at >= since).group_by(OutboxRow.status)
            )
        }
        return int(pending), oldest, done.get(DELIVERED, 0), done.get(DROPPED, 0)

    def prune(self, done_before: dt.datetime, batch: int = 5000) -> int:
        """Deletes up to `batch` delivered or dropped messages finished before the time; how many went."""
        ids = select(OutboxRow.id).where(OutboxRow.done_at < done_before).limit(batch).scalar_subquery()
        return rowcount(self.session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids))))


def _short(error: str | None) -> str | None:
    return None if error is None else error[:500]

