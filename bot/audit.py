"""Reading the audit log (the kernel appends to it, inside each change's own transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bot.domain import Action, Actor, AuditCheck, AuditEntry
from bot.kernel import Kernel
from storage.audit_chain import GENESIS, entry_hash, row_contents
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

    def verify(self, actor: Actor) -> AuditCheck:
        """Walks the chain, oldest first: each entry's hash over its contents and the hash before it,
        and the last entry against the chain's head. The first break found is the answer.

        The head is read first and the walk stops there: entries the running bot appends meanwhile come
        after it (then the head is read again and the walk goes on). An entry past a head that no longer
        moves was written around the bot."""
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.READ_AUDIT)
            head = uow.audit.head()
            count, previous, previous_id = 0, GENESIS, None
            while True:
                for row in uow.audit.stream(after=previous_id or 0,
                                                through_id=None if head is None else head[0] or 0):
                    if row.hash is None or row.prev_hash is None:
                        return AuditCheck(count, "unchained", row.id, previous_id)
                    if entry_hash(row.prev_hash, row_contents(row)) != row.hash:
                        return AuditCheck(count, "rewritten", row.id, previous_id)
                    if row.prev_hash != previous:
                        return AuditCheck(count, "unlinked", row.id, previous_id)
                    count, previous, previous_id = count + 1, row.hash, row.id
                if head is None:
                    return AuditCheck(count, "no-head", None, previous_id)
                if head != (previous_id, previous):
                    return AuditCheck(count, "truncated", head[0], previous_id)
                beyond = uow.audit.first_after(previous_id or 0)
                if beyond is None:
                    return AuditCheck(count)
                newer = uow.audit.head()
                if newer == head:  # nobody appended meanwhile: that entry is outside the chain
                    return AuditCheck(count, "unchained", beyond, previous_id)
                head = newer


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
