"""The alerts' rows: each app's low-license and waitlist states, and the renewal milestones already told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import AlertStateRow, AppRow, GrantRow, RenewalAlertRow, SeatRow
from storage.repositories.bulk import chunks

_SEATED = select(func.count()).where(SeatRow.app_id == AppRow.id).correlate(AppRow).scalar_subquery()
# someone waits: a user granted the app who holds no seat of it. As a set difference (hashed or sorted,
# whatever the planner believes of the tables' sizes): an anti-join planned from stale statistics reads the
# seats once per grant
_SOMEONE_WAITS = exists(
    select(GrantRow.user_id).where(GrantRow.app_id == AppRow.id).correlate(AppRow)
    .except_(select(SeatRow.user_id).where(SeatRow.app_id == AppRow.id).correlate(AppRow))
    .subquery().select()
).correlate(AppRow)
_NUMBERS = select(AppRow, _SEATED, _SOMEONE_WAITS).where(AppRow.retired_at.is_(None))


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> Any:
        return sqlite_insert if self.session.get_bind().dialect.name == "sqlite" else postgresql_insert

    # --- low licenses and waitlists
    def numbers(self, app_ids: Sequence[int] | None = None) -> list[tuple[AppRow, int, bool]]:
        """(app, seats held, whether someone waits) of these apps in service (every one when None), in one
        read per thousand apps."""
        if app_ids is None:
            return [(row, seated, bool(waits)) for row, seated, waits in self.session.execute(_NUMBERS)]
        found: list[tuple[AppRow, int, bool]] = []
        for chunk in chunks(list(app_ids)):
            rows = self.session.execute(_NUMBERS.where(AppRow.id.in_(chunk)))
            found.extend((row, seated, bool(waits)) for row, seated, waits in rows)
        return found

    def states(self, app_ids: Sequence[int] | None = None) -> dict[int, tuple[bool, bool]]:
        """(low, waiting) of these apps (every app when None) that have a state row."""
        query = select(AlertStateRow.app_id, AlertStateRow.low, AlertStateRow.waiting)
        if app_ids is None:
            return {app_id: (bool(low), bool(waiting)) for app_id, low, waiting in self.session.execute(query)}
        found: dict[int, tuple[bool, bool]] = {}
        for chunk in chunks(list(app_ids)):
            rows = self.session.execute(query.where(AlertStateRow.app_id.in_(chunk)))
            found.update((app_id, (bool(low), bool(waiting))) for app_id, low, waiting in rows)
        return found

    def add_states(self, app_ids: Sequence[int], at: dt.datetime) -> None:
        """A state row (both alerts off) for each of these apps that has none yet."""
        if not app_ids:
            return
        rows = [{"app_id": app_id, "low": False, "waiting": False, "updated_at": at} for app_id in app_ids]
        self.session.execute(self._insert()(AlertStateRow).values(rows).on_conflict_do_nothing(
            index_elements=["app_id"]))

    def flip(self, app_id: int, flag: str, on: bool, at: dt.datetime) -> bool:
        """Turns the app's `flag` ("low" or "waiting") on or off, only if it is not so already: True when this
        call changed it (the caller alone then tells of it)."""
        column = getattr(AlertStateRow, flag)
        result = self.session.execute(
            update(AlertStateRow).where(AlertStateRow.app_id == app_id, column == (not on))
            .values({flag: on, "updated_at": at}).execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    # --- renewals
    def renewing(self, first: dt.date, last: dt.date) -> list[tuple[int, dt.date]]:
        """(app id, renewal date) of the apps in service renewing between these days, both included."""
        query = (select(AppRow.id, AppRow.renewal_date)
                 .where(AppRow.retired_at.is_(None), AppRow.renewal_date.between(first, last))
                 .order_by(AppRow.id))
        return [(app_id, day) for app_id, day in self.session.execute(query) if day is not None]

    def milestones_told(self, app_ids: Sequence[int]) -> set[tuple[int, dt.date, int]]:
        told: set[tuple[int, dt.date, int]] = set()
        for chunk in chunks(list(app_ids)):
            rows = self.session.execute(
                select(RenewalAlertRow.app_id, RenewalAlertRow.renewal_date, RenewalAlertRow.milestone)
                .where(RenewalAlertRow.app_id.in_(chunk)))
            told.update((app_id, day, milestone) for app_id, day, milestone in rows)
        return told

    def tell_milestone(self, app_id: int, renewal_date: dt.date, milestone: int, at: dt.datetime) -> bool:
        """Records the milestone as told; False when it already was (by another run or process)."""
        result = self.session.execute(
            self._insert()(RenewalAlertRow)
            .values(app_id=app_id, renewal_date=renewal_date, milestone=milestone, sent_at=at)
            .on_conflict_do_nothing(index_elements=["app_id", "renewal_date", "milestone"])
            .returning(RenewalAlertRow.id)
        )
        return result.first() is not None  # a refused insert returns no row
