"""The outbox: messages written with the change they follow, leased and marked by the deliverer.

A lane is delivered in id order, one message at a time: only a lane's head (its oldest pending message)
may be leased. A lease is a short claim (claimed_by, claimed_until) written by one statement; the
message is sent with no transaction open, then marked by one more statement. On PostgreSQL the lease's
statement picks its rows with FOR UPDATE SKIP LOCKED, so several processes lease at once and never the
same rows; on SQLite one process delivers (see storage.db.ProcessLock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, delete, exists, func, insert, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import OutboxRow
from storage.repositories.bulk import rowcount, table_of

PENDING, DELIVERED, DROPPED = "pending", "delivered", "dropped"
# Written into the SQL, not bound: a partial index (WHERE status = 'pending') is only used when the
# planner sees the literal, and psycopg prepares repeated statements with generic plans.
_PENDING: ColumnElement[str] = literal_column("'pending'")

_older = aliased(OutboxRow)
_IS_HEAD = ~exists().where(_older.lane == OutboxRow.lane, _older.status == _PENDING, _older.id < OutboxRow.id)
LEASED = (OutboxRow.id, OutboxRow.lane, OutboxRow.kind, OutboxRow.recipient, OutboxRow.facts, OutboxRow.attempts,
          OutboxRow.created_at)
_NO_SYNC = {"synchronize_session": False}

# One per message sent: built once, on the table, run on the session's connection (no ORM bookkeeping:
# it cost as much CPU as the Slack call itself).
_table = table_of(OutboxRow)
_SETTLE = update(_table).where(_table.c.id == bindparam("message_id"), _table.c.claimed_by == bindparam("owner"))
_FINISH = _SETTLE.values(
    status=bindparam("status"), done_at=bindparam("done_at"), last_error=bindparam("error"),
    attempts=_table.c.attempts + 1, claimed_by=None, claimed_until=None,
)
_RESCHEDULE = _SETTLE.values(
    available_at=bindparam("not_before"), last_error=bindparam("error"),
    attempts=_table.c.attempts + 1, claimed_by=None, claimed_until=None,
)


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts messages (dicts of OutboxRow's columns), in order: the ids give each lane its order."""
        if rows:
            self.session.execute(insert(OutboxRow), list(rows))

    def lease(
        self, now: dt.datetime, until: dt.datetime, owner: str, limit: int, *, skip_locked: bool
    ) -> list[Row[Any]]:
        """Leases up to `limit` due messages that head their lanes and nobody holds, to `owner` until a
        time; returns them (the LEASED columns), sorted by id. skip_locked (PostgreSQL): passes over rows
        another transaction is leasing at this very moment."""
        heads = (
            select(OutboxRow.id)
            .where(
                OutboxRow.status == _PENDING,
                or_(OutboxRow.available_at.is_(None), OutboxRow.available_at <= now),
                or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                _IS_HEAD,
            )
            # no ORDER BY: the heads of different lanes may go in any order, and sorting every pending
            # message (10,000 after a big change) on each lease cost more than sending them; the scan
            # still meets the oldest first, in the order they were written
            .limit(limit)
        )
        if skip_locked:
            heads = heads.with_for_update(skip_locked=True, of=OutboxRow)
        statement = (
            update(OutboxRow)
            .where(OutboxRow.id.in_(heads.scalar_subquery()))
            .values(claimed_by=owner, claimed_until=until)
            .returning(*LEASED)
            .execution_options(**_NO_SYNC)
        )
        return sorted(self.session.execute(statement).all(), key=lambda row: row.id)

    def finish(self, message_id: int, owner: str, status: str, at: dt.datetime, error: str | None = None) -> bool:
        """Delivered or dropped: done, kept until pruned. False when `owner` no longer holds the lease."""
        params = {"message_id": message_id, "owner": owner, "status": status, "done_at": at, "error": _short(error)}
        return rowcount(self.session.connection().execute(_FINISH, params)) == 1

    def reschedule(self, message_id: int, owner: str, not_before: dt.datetime, error: str) -> bool:
        params = {"message_id": message_id, "owner": owner, "not_before": not_before, "error": _short(error)}
        return rowcount(self.session.connection().execute(_RESCHEDULE, params)) == 1

    def release(self, message_ids: Sequence[int], owner: str) -> None:
        """Gives leased messages back unsent (the rest of a batch at shutdown, or after a 429)."""
        if message_ids:
            self.session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(list(message_ids)), OutboxRow.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
                .execution_options(**_NO_SYNC)
            )

    def release_all(self) -> int:
        """Every lease given back: for the one deliverer of a SQLite database, whose leases are all left by
        a process that died."""
        return rowcount(self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.status == _PENDING, OutboxRow.claimed_by.is_not(None))
            .values(claimed_by=None, claimed_until=None)
            .execution_options(**_NO_SYNC)
        ))

    def hurry(self, lane_prefix: str, kind: str) -> int:
        """Pending messages of a kind whose lanes start with the prefix: due now, not after their backoff."""
        return rowcount(self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.status == _PENDING, OutboxRow.kind == kind, OutboxRow.lane.startswith(lane_prefix),
                   OutboxRow.available_at.is_not(None))
            .values(available_at=None)
            .execution_options(**_NO_SYNC)
        ))

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
        return rowcount(self.session.execute(
            delete(OutboxRow).where(OutboxRow.id.in_(ids)).execution_options(**_NO_SYNC)
        ))


def _short(error: str | None) -> str | None:
    return None if error is None else error[:500]
