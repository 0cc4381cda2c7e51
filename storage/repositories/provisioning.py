"""Provisioning: each user's state at the vendor of a provisioned app, and the usage-rights API's tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import AppRow, AppTokenRow, GrantRow, ProvisioningStateRow, SeatRow
from storage.repositories.bulk import chunks, rowcount

_NO_SYNC = {"synchronize_session": False}


class ProvisioningRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def provisioned_apps(self, app_ids: Sequence[int]) -> list[AppRow]:
        """Those of the apps that name a SCIM endpoint."""
        return list(self.session.scalars(
            select(AppRow).where(AppRow.id.in_(list(app_ids)), AppRow.provisioning_scim_url.is_not(None))
        ))

    def get(self, app_id: int, user_id: str) -> ProvisioningStateRow | None:
        return self.session.scalar(select(ProvisioningStateRow).where(
            ProvisioningStateRow.app_id == app_id, ProvisioningStateRow.user_id == user_id))

    def want(self, app_id: int, users: dict[str, str], at: dt.datetime) -> None:
        """Sets what each user should be at the vendor ("active" / "inactive"); their state is pending."""
        existing = {row.user_id: row for user_chunk in chunks(sorted(users)) for row in self.session.scalars(
            select(ProvisioningStateRow).where(
                ProvisioningStateRow.app_id == app_id, ProvisioningStateRow.user_id.in_(user_chunk)))}
        new = []
        for user_id, want in users.items():
            row = existing.get(user_id)
            if row is None:
                new.append({"app_id": app_id, "user_id": user_id, "want": want, "state": "pending",
                            "reason": None, "vendor_id": None, "updated_at": at})
            else:
                row.want, row.state, row.reason, row.updated_at = want, "pending", None, at
        if new:
            for rows in chunks(new, 500):
                self.session.execute(insert(ProvisioningStateRow), list(rows))
        self.session.flush()

    def settle(self, app_id: int, user_id: str, want: str, state: str, reason: str | None,
               vendor_id: str | None, at: dt.datetime) -> None:
        """Records how the vendor answered, unless `want` changed meanwhile (a newer message follows). An
        inactive user the vendor has caught up with leaves the table."""
        match = (ProvisioningStateRow.app_id == app_id, ProvisioningStateRow.user_id == user_id,
                 ProvisioningStateRow.want == want)
        if want == "inactive" and state == "provisioned":
            self.session.execute(delete(ProvisioningStateRow).where(*match).execution_options(**_NO_SYNC))
            return
        values: dict[str, object] = {"state": state, "reason": (reason or None) and reason[:500], "updated_at": at}
        if vendor_id is not None:
            values["vendor_id"] = vendor_id[:200]
        self.session.execute(update(ProvisioningStateRow).where(*match).values(**values)
                             .execution_options(**_NO_SYNC))

    def note(self, app_id: int, user_id: str, reason: str, at: dt.datetime) -> None:
        """The last error of a pending user (still retried)."""
        self.session.execute(update(ProvisioningStateRow).where(
            ProvisioningStateRow.app_id == app_id, ProvisioningStateRow.user_id == user_id,
            ProvisioningStateRow.state == "pending").values(reason=reason[:500], updated_at=at)
            .execution_options(**_NO_SYNC))

    def counts(self, app_id: int) -> dict[str, int]:
        return {state: int(n) for state, n in self.session.execute(
            select(ProvisioningStateRow.state, func.count()).where(ProvisioningStateRow.app_id == app_id)
            .group_by(ProvisioningStateRow.state))}

    def rows(self, app_id: int, state: str | None = None, limit: int | None = None,
             noted: bool = False) -> list[ProvisioningStateRow]:
        """noted: only those with a reason (a pending one's last error)."""
        query = select(ProvisioningStateRow).where(ProvisioningStateRow.app_id == app_id)
        if state is not None:
            query = query.where(ProvisioningStateRow.state == state)
        if noted:
            query = query.where(ProvisioningStateRow.reason.is_not(None))
        query = query.order_by(ProvisioningStateRow.user_id)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def mark_pending(self, app_id: int, users: Sequence[str], at: dt.datetime) -> None:
        for chunk in chunks(users):
            self.session.execute(update(ProvisioningStateRow).where(
                ProvisioningStateRow.app_id == app_id, ProvisioningStateRow.user_id.in_(chunk))
                .values(state="pending", updated_at=at).execution_options(**_NO_SYNC))

    def rights(self, app_id: int, user_id: str | None) -> tuple[str, dt.datetime | None, dt.datetime | None] | None:
        """(app name, when the user's seat began, when they began waiting) in one read; None: no such app."""
        seat = select(SeatRow.since).where(SeatRow.app_id == AppRow.id, SeatRow.user_id == user_id) \
            .correlate(AppRow).scalar_subquery()
        grant = select(func.min(GrantRow.created_at)).where(GrantRow.app_id == AppRow.id, GrantRow.user_id == user_id) \
            .correlate(AppRow).scalar_subquery()
        row = self.session.execute(select(AppRow.name, seat, grant).where(AppRow.id == app_id)).first()
        if row is None:
            return None
        since, waiting = (_utc(row[1]), _utc(row[2])) if user_id else (None, None)
        return str(row[0]), since, waiting


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, app_id: int, token_hash: str, at: dt.datetime) -> int:
        row = AppTokenRow(app_id=app_id, token_hash=token_hash, created_at=at)
        self.session.add(row)
        self.session.flush()
        return row.id

    def get(self, token_id: int) -> AppTokenRow | None:
        return self.session.get(AppTokenRow, token_id)

    def revoke_all(self, app_id: int, at: dt.datetime) -> int:
        return rowcount(self.session.execute(
            update(AppTokenRow).where(AppTokenRow.app_id == app_id, AppTokenRow.revoked_at.is_(None))
            .values(revoked_at=at).execution_options(**_NO_SYNC)))


def _utc(value: Any) -> dt.datetime | None:
    """A time read through a subquery skips the column's type on SQLite: make it aware UTC."""
    if value is None:
        return None
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
