"""Usage imported from vendors, and "Keep or release?" reclaims with their asks (issue 13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import AssignmentRow, GrantRow, ReclaimAskRow, ReclaimRow, SeatRow, UsageRow
from storage.repositories.bulk import chunks, rowcount


class UsageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def replace(self, app_id: int, last_active: dict[str, dt.date], at: dt.datetime) -> None:
        """The rows of these users of the app replaced by the file's dates."""
        users = sorted(last_active)
        for chunk in chunks(users):
            self.session.execute(delete(UsageRow).where(UsageRow.app_id == app_id, UsageRow.user_id.in_(chunk)))
        self.session.add_all(UsageRow(app_id=app_id, user_id=u, last_active=last_active[u], imported_at=at)
                             for u in users)

    def last_active(self, app_id: int, users: Sequence[str]) -> dict[str, dt.date]:
        found: dict[str, dt.date] = {}
        for chunk in chunks(list(users)):
            rows = self.session.execute(select(UsageRow.user_id, UsageRow.last_active)
                                        .where(UsageRow.app_id == app_id, UsageRow.user_id.in_(chunk)))
            found.update((user_id, day) for user_id, day in rows)
        return found

    def idle_holders(self, app_id: int, cutoff: dt.date) -> tuple[int, int]:
        """(holders whose last activity is on or before `cutoff`, holders with no usage row)."""
        joined = (select(func.count()).select_from(SeatRow)
                  .join(UsageRow, (UsageRow.app_id == SeatRow.app_id) & (UsageRow.user_id == SeatRow.user_id),
                        isouter=True)
                  .where(SeatRow.app_id == app_id))
        idle = self.session.scalar(joined.where(UsageRow.last_active <= cutoff)) or 0
        unknown = self.session.scalar(joined.where(UsageRow.id.is_(None))) or 0
        return idle, unknown


class ReclaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_of(self, app_id: int) -> ReclaimRow | None:
        return self.session.scalar(select(ReclaimRow).where(ReclaimRow.app_id == app_id,
                                                            ReclaimRow.status == "open"))

    def get(self, reclaim_id: int, *, fresh: bool = False) -> ReclaimRow | None:
        """`fresh`: read again from the database (after a lock was taken), not the session's copy."""
        return self.session.get(ReclaimRow, reclaim_id, populate_existing=fresh)

    def add(self, row: ReclaimRow, users: Sequence[str]) -> None:
        self.session.add(row)
        self.session.flush()
        self.session.add_all(ReclaimAskRow(reclaim_id=row.id, user_id=u, state="asked") for u in users)
        self.session.flush()

    def direct_holders(self, app_id: int) -> list[str]:
        """Users assigned the app directly who hold a seat, by id."""
        return list(self.session.scalars(
            select(AssignmentRow.subject_id)
            .join(SeatRow, (SeatRow.app_id == AssignmentRow.app_id) & (SeatRow.user_id == AssignmentRow.subject_id))
            .where(AssignmentRow.app_id == app_id, AssignmentRow.kind == "user")
            .order_by(AssignmentRow.subject_id)))

    # --- asks
    def ask(self, ask_id: int, *, fresh: bool = False) -> ReclaimAskRow | None:
        return self.session.get(ReclaimAskRow, ask_id, populate_existing=fresh)

    def asks(self, reclaim_id: int, state: str | None = None) -> list[ReclaimAskRow]:
        query = select(ReclaimAskRow).where(ReclaimAskRow.reclaim_id == reclaim_id)
        if state is not None:
            query = query.where(ReclaimAskRow.state == state)
        return list(self.session.scalars(query.order_by(ReclaimAskRow.id)))

    def answer(self, ask_id: int, state: str, at: dt.datetime) -> bool:
        """asked → `state`, only if still asked: True for the one change that did it."""
        result = self.session.execute(
            update(ReclaimAskRow).where(ReclaimAskRow.id == ask_id, ReclaimAskRow.state == "asked")
            .values(state=state, answered_at=at))
        return rowcount(result) == 1

    def answer_all(self, reclaim_id: int, state: str, at: dt.datetime) -> int:
        """Every ask still "asked" → `state` (the deadline): how many changed."""
        result = self.session.execute(
            update(ReclaimAskRow).where(ReclaimAskRow.reclaim_id == reclaim_id, ReclaimAskRow.state == "asked")
            .values(state=state, answered_at=at))
        return rowcount(result)

    def end_direct_assignments(self, app_id: int, users: Sequence[str]) -> None:
        """These users' direct assignments of the app, and their grants, deleted (the seats are the caller's)."""
        for chunk in chunks(list(users)):
            ids = select(AssignmentRow.id).where(AssignmentRow.app_id == app_id, AssignmentRow.kind == "user",
                                                 AssignmentRow.subject_id.in_(chunk))
            self.session.execute(delete(GrantRow).where(GrantRow.assignment_id.in_(ids)))
            self.session.execute(delete(AssignmentRow).where(AssignmentRow.app_id == app_id,
                                                             AssignmentRow.kind == "user",
                                                             AssignmentRow.subject_id.in_(chunk)))

    def unanswered(self, reclaim_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(ReclaimAskRow).where(
            ReclaimAskRow.reclaim_id == reclaim_id, ReclaimAskRow.state == "asked")) or 0

    # --- the timed work: conditional updates, so each happens once across processes
    def due_reminders(self, now: dt.datetime) -> list[int]:
        return list(self.session.scalars(select(ReclaimRow.id).where(
            ReclaimRow.status == "open", ReclaimRow.reminded_at.is_(None), ReclaimRow.remind_at <= now,
            ReclaimRow.ends_at > now).order_by(ReclaimRow.id)))

    def due_ends(self, now: dt.datetime) -> list[int]:
        """Open reclaims past their deadline, or with nobody left to answer."""
        answered_all = ~select(ReclaimAskRow.id).where(ReclaimAskRow.reclaim_id == ReclaimRow.id,
                                                       ReclaimAskRow.state == "asked").exists()
        return list(self.session.scalars(select(ReclaimRow.id).where(
            ReclaimRow.status == "open", (ReclaimRow.ends_at <= now) | answered_all).order_by(ReclaimRow.id)))

    def mark_reminded(self, reclaim_id: int, at: dt.datetime) -> bool:
        result = self.session.execute(
            update(ReclaimRow).where(ReclaimRow.id == reclaim_id, ReclaimRow.status == "open",
                                     ReclaimRow.reminded_at.is_(None)).values(reminded_at=at))
        return rowcount(result) == 1

    def end(self, reclaim_id: int, at: dt.datetime) -> bool:
        result = self.session.execute(
            update(ReclaimRow).where(ReclaimRow.id == reclaim_id, ReclaimRow.status == "open")
            .values(status="ended", ended_at=at))
        return rowcount(result) == 1
