"""Who holds what, for bulk imports and exports: the people the database knows, each seat with its sources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import AppRow, AssignmentRow, GrantRow, LicenseRequestRow, RoleBindingRow, SeatRow
from storage.repositories.bulk import chunks


@dataclass(frozen=True)
class HoldingRow:
    app: str
    user_id: str
    since: dt.datetime
    kind: str  # "user" (direct) or "group"
    subject_id: str
    until: dt.date | None


class HoldingsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def known_users(self, users: Sequence[str]) -> set[str]:
        """Those of `users` the database has met: holding or waiting for a seat, holding a role, or asking."""
        known: set[str] = set()
        for chunk in chunks(sorted(set(users))):
            for column in (SeatRow.user_id, GrantRow.user_id, RoleBindingRow.user_id, LicenseRequestRow.requester_id):
                known.update(self.session.scalars(select(column).where(column.in_(chunk)).distinct()))
        return known

    def set_until(self, app_id: int, users: Sequence[str], until: dt.date | None, at: dt.datetime) -> None:
        """The end date of these users' direct assignments of the app; a changed date re-arms the reminders."""
        for chunk in chunks(users):
            self.session.execute(
                update(AssignmentRow)
                .where(AssignmentRow.app_id == app_id, AssignmentRow.kind == "user")
                .where(AssignmentRow.subject_id.in_(chunk), AssignmentRow.until.is_distinct_from(until))
                .values(until=until, until_set_at=at, reminded_days=None)
            )

    def holdings(self, app_id: int | None = None, batch: int = 5000) -> Iterator[HoldingRow]:
        """Every seat with each source that covers it (a user in two groups comes twice), by app name and
        user, streamed in batches."""
        query = (
            select(AppRow.name, SeatRow.user_id, SeatRow.since, AssignmentRow.kind, AssignmentRow.subject_id,
                   AssignmentRow.until, GrantRow.id)
            .join(SeatRow, SeatRow.app_id == AppRow.id)
            .join(GrantRow, (GrantRow.app_id == SeatRow.app_id) & (GrantRow.user_id == SeatRow.user_id))
            .join(AssignmentRow, AssignmentRow.id == GrantRow.assignment_id)
            .order_by(AppRow.name_key, SeatRow.user_id, GrantRow.id)
        )
        if app_id is not None:
            query = query.where(AppRow.id == app_id)
        result = self.session.execute(query.execution_options(yield_per=batch))
        for name, user_id, since, kind, subject, until, _ in result:
            yield HoldingRow(name, user_id, since, kind, subject, until)
