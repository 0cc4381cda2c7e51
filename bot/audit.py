"""Reading the audit log (the kernel appends to it, inside each change's own transaction)."""

from __future__ import annotations

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

    def export(self, actor: Actor) -> Iterator[AuditEntry]:
        """Every entry, oldest first, streamed."""
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.READ_AUDIT)
            for row in uow.audit.stream():
                yield entry(row)


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
