"""Time-limited licenses (issue 13): assignments' end dates, the expiry step's scan and the reminders' flags.

Every change here is conditional (a WHERE that still holds only once), so two processes running the life
cycle at the same moment each do a thing once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from storage.models import AssignmentRow
from storage.repositories.bulk import chunks


@dataclass(frozen=True)
class Ending:
    """A time-limited assignment: what the expiry and reminder steps read."""

    assignment_id: int
    app_id: int
    kind: str
    subject_id: str
    until: dt.date
    until_set_at: dt.datetime | None
    reminded_days: int | None


def _ending(row: AssignmentRow) -> Ending:
    assert row.until is not None
    return Ending(row.id, row.app_id, row.kind, row.subject_id, row.until, row.until_set_at, row.reminded_days)


class LifetimeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def set_until(self, app_id: int, kind: str, subjects: Sequence[str], until: dt.date | None,
                  at: dt.datetime) -> int:
        """Sets the end date of these assignments of the app; a changed date re-arms the reminders.
        Returns how many changed (the same date again changes nothing)."""
        changed = 0
        for chunk in chunks(list(subjects)):
            result = self.session.execute(
                update(AssignmentRow)
                .where(AssignmentRow.app_id == app_id, AssignmentRow.kind == kind,
                       AssignmentRow.subject_id.in_(chunk), AssignmentRow.until.is_distinct_from(until))
                .values(until=until, until_set_at=at, reminded_days=None)
                .execution_options(synchronize_session=False)
            )
            assert isinstance(result, CursorResult)
            changed += result.rowcount or 0
        return changed

    def untils(self, app_id: int, kind: str, subjects: Sequence[str]) -> dict[str, dt.date | None]:
        """The end date of each of these assignments of the app (absent: not assigned)."""
        found: dict[str, dt.date | None] = {}
        for chunk in chunks(list(subjects)):
            query = select(AssignmentRow.subject_id, AssignmentRow.until).where(
                AssignmentRow.app_id == app_id, AssignmentRow.kind == kind, AssignmentRow.subject_id.in_(chunk))
            found.update((subject, until) for subject, until in self.session.execute(query))
        return found

    def direct_untils_of(self, user_id: str) -> dict[int, dt.date]:
        """The end date of each time-limited direct assignment of one user, by app id."""
        query = select(AssignmentRow.app_id, AssignmentRow.until).where(
            AssignmentRow.kind == "user", AssignmentRow.subject_id == user_id, AssignmentRow.until.is_not(None))
        return {app_id: until for app_id, until in self.session.execute(query) if until is not None}

    # --- expiry
    def apps_with_ended(self, today: dt.date) -> list[int]:
        """Apps with an assignment whose last day is before `today`, by id (the order apps are locked in)."""
        query = select(AssignmentRow.app_id).where(AssignmentRow.until < today).distinct().order_by(
            AssignmentRow.app_id)
        return list(self.session.scalars(query))

    def ended(self, app_id: int, today: dt.date) -> list[Ending]:
        """The app's assignments whose last day is before `today`, oldest first. Read under the app's lock:
        another process's expiry, committed before the lock was granted, is seen (they are gone)."""
        query = (select(AssignmentRow).where(AssignmentRow.app_id == app_id, AssignmentRow.until < today)
                 .order_by(AssignmentRow.id).execution_options(populate_existing=True))
        return [_ending(row) for row in self.session.scalars(query)]

    # --- reminders
    def ending_direct(self, first: dt.date, last: dt.date) -> list[Ending]:
        """Direct assignments whose last day is from `first` to `last`, by end date."""
        query = (select(AssignmentRow)
                 .where(AssignmentRow.kind == "user", AssignmentRow.until >= first, AssignmentRow.until <= last)
                 .order_by(AssignmentRow.until, AssignmentRow.id))
        return [_ending(row) for row in self.session.scalars(query)]

    def mark_reminded(self, assignment_id: int, until: dt.date, days: int) -> bool:
        """Records the reminder `days` before the end, if it is still owed for this very end date: True for
        the one caller that records it."""
        result = self.session.execute(
            update(AssignmentRow)
            .where(AssignmentRow.id == assignment_id, AssignmentRow.until == until,
                   or_(AssignmentRow.reminded_days.is_(None), AssignmentRow.reminded_days > days))
            .values(reminded_days=days)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return bool(result.rowcount)
