"""The assignees of one app, a bounded piece at a time: the license details modal and its "See all" list.

Every read here takes a limit (or aggregates in SQL): building a page costs the same with 100 assignees
or 10,000 (bench/size_views.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from storage.models import AssignmentRow, GrantRow, SeatRow


def _seated(app_id: int) -> object:
    return exists().where(SeatRow.app_id == app_id, SeatRow.user_id == GrantRow.user_id)


class AssigneeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def count_subjects(self, app_id: int, kind: str) -> int:
        query = select(func.count()).select_from(AssignmentRow).where(
            AssignmentRow.app_id == app_id, AssignmentRow.kind == kind)
        return self.session.scalar(query) or 0

    def subjects(self, app_id: int, kind: str, offset: int, limit: int) -> list[tuple[int, str]]:
        """(assignment id, subject id) of one kind, oldest assignment first."""
        query = (select(AssignmentRow.id, AssignmentRow.subject_id)
                 .where(AssignmentRow.app_id == app_id, AssignmentRow.kind == kind)
                 .order_by(AssignmentRow.id).offset(offset).limit(limit))
        return [(assignment_id, subject) for assignment_id, subject in self.session.execute(query)]

    def group_counts(self, app_id: int, assignment_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """For each assignment: (members holding a seat, members waiting for one)."""
        if not assignment_ids:
            return {}
        seated = case((_seated(app_id), 1), else_=0)  # type: ignore[arg-type]
        query = (select(GrantRow.assignment_id, func.sum(seated), func.count())
                 .where(GrantRow.assignment_id.in_(list(assignment_ids)))
                 .group_by(GrantRow.assignment_id))
        return {a: (int(s or 0), int(n) - int(s or 0)) for a, s, n in self.session.execute(query)}

    def first_waiting_of(self, app_id: int, assignment_ids: Sequence[int], per: int) -> dict[int, list[str]]:
        """For each assignment, its first `per` members waiting for a seat, oldest first."""
        if not assignment_ids:
            return {}
        rank = func.row_number().over(partition_by=GrantRow.assignment_id, order_by=GrantRow.id).label("rank")
        waiting = (select(GrantRow.assignment_id, GrantRow.user_id, rank)
                   .where(GrantRow.assignment_id.in_(list(assignment_ids)), ~_seated(app_id))  # type: ignore[operator]
                   .subquery())
        query = select(waiting.c.assignment_id, waiting.c.user_id).where(waiting.c.rank <= per).order_by(
            waiting.c.assignment_id, waiting.c.rank)
        result: dict[int, list[str]] = {}
        for assignment_id, user_id in self.session.execute(query):
            result.setdefault(assignment_id, []).append(user_id)
        return result

    def direct_users(self, app_id: int, limit: int) -> list[tuple[str, bool]]:
        """The first users assigned directly, oldest first, and whether each holds a seat."""
        query = (select(AssignmentRow.subject_id, exists().where(SeatRow.app_id == app_id,
                                                                  SeatRow.user_id == AssignmentRow.subject_id))
                 .where(AssignmentRow.app_id == app_id, AssignmentRow.kind == "user")
                 .order_by(AssignmentRow.id).limit(limit))
        return [(user_id, bool(seated)) for user_id, seated in self.session.execute(query)]

    def count_users(self, app_id: int) -> int:
        """Distinct users any assignment of the app covers (holding a seat or waiting)."""
        query = select(func.count(func.distinct(GrantRow.user_id))).where(GrantRow.app_id == app_id)
        return self.session.scalar(query) or 0

    def users(self, app_id: int, offset: int, limit: int) -> list[tuple[str, bool]]:
        """One page of the users covered, by id (a walk of the (app, user) index: no sort of every grant),
        and whether each holds a seat."""
        page = (select(GrantRow.user_id).where(GrantRow.app_id == app_id).distinct()
                .order_by(GrantRow.user_id).offset(offset).limit(limit).subquery())
        seated = exists().where(SeatRow.app_id == app_id, SeatRow.user_id == page.c.user_id)
        query = select(page.c.user_id, seated).order_by(page.c.user_id)
        return [(user_id, bool(has)) for user_id, has in self.session.execute(query)]

    def first_waiting(self, app_id: int, limit: int, batch: int = 200) -> list[str]:
        """The users waiting longest, oldest first: grants in id order (the (app, id) index), the first of
        each user without a seat, read a batch at a time until `limit` are found."""
        found: dict[str, None] = {}
        last = 0
        while len(found) < limit:
            rows = self.session.execute(
                select(GrantRow.id, GrantRow.user_id)
                .where(GrantRow.app_id == app_id, GrantRow.id > last, ~_seated(app_id))  # type: ignore[operator]
                .order_by(GrantRow.id).limit(batch)).all()
            for grant_id, user_id in rows:
                last = grant_id
                found.setdefault(user_id)
            if len(rows) < batch:
                break
        return list(found)[:limit]

    def count_waiting(self, app_id: int) -> int:
        query = select(func.count(func.distinct(GrantRow.user_id))).where(
            GrantRow.app_id == app_id, ~_seated(app_id))  # type: ignore[operator]
        return self.session.scalar(query) or 0

    def sources(self, app_id: int, users: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """For each of these (few) users, the (kind, subject) of every assignment covering them, oldest first."""
        if not users:
            return {}
        query = (select(GrantRow.user_id, AssignmentRow.kind, AssignmentRow.subject_id)
                 .join(AssignmentRow, AssignmentRow.id == GrantRow.assignment_id)
                 .where(GrantRow.app_id == app_id, GrantRow.user_id.in_(list(users)))
                 .order_by(GrantRow.id))
        result: dict[str, list[tuple[str, str]]] = {}
        for user_id, kind, subject in self.session.execute(query):
            result.setdefault(user_id, []).append((kind, subject))
        return result

