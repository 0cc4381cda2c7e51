"""Reading the audit log (the kernel appends to it, inside each change's own transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bot.domain import Action, Actor, AuditEntry
from bot.kernel import Kernel
from storage.models import AuditRow


class AuditService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def latest(self, actor: Actor, app_query: str | None = None, limit: int = 20) -> list[AuditEntry]:
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.READ_AUDIT)
            app_name = self.k.resolve(uow, app_query, retired=True).name if app_query else None
            return [entry(r) for r in uow.audit.latest(app_name, max(1, min(limit, 200)))]

    def export(
        self,
        actor: Actor,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        app_query: str | None = None,
        by: str | None = None,
    ) -> Iterator[AuditEntry]:
        """Every entry, oldest first, streamed; only those from `since` to `until` (whole UTC days, both
        included), of one app, or made by one actor (a user id, or `cli`), when given."""
        if by is not None and by != "cli":
            by = self.k.user_id(by)
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.READ_AUDIT)
            app_name = self.k.resolve(uow, app_query).name if app_query else None
            start = _midnight(since) if since else None
            end = _midnight(until + dt.timedelta(days=1)) if until else None
            for row in uow.audit.stream(since=start, until=end, app=app_name, actor=by):
                yield entry(row)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        row.at,
        row.actor,
        row.via,
        row.action,
        row.app,
        list(row.targets),
        dict(row.detail),
        row.seats_total,
        row.seats_assigned,
        row.seats_available,
    )
