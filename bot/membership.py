"""Group-based licenses follow the workspace: members join and leave, groups are disabled, accounts deleted.

Each app is brought in line in its own locked unit of work. Joins get a seat if one is free, else wait;
leaves free the seat unless another source holds it; freed seats go to the oldest waiter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.directory import Group
from bot.domain import Actor, MembershipOutcome, SourceKind, UserRemoval
from bot.kernel import Kernel

USER, GROUP = SourceKind.USER, SourceKind.GROUP
PRUNE_SLOT = dt.timedelta(hours=1)  # pruning old keys runs at most once an hour across processes


class MembershipService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def apply_group(self, actor: Actor, group: Group) -> MembershipOutcome:
        """Brings every app assigned to the group in line with its members now: one transaction per app.
        A disabled group loses its assignments."""
        outcome = MembershipOutcome(group.id)
        with self.k.uow() as uow:
            app_ids = [a.app_id for a in uow.licenses.group_assignments(group.id)]
        for app_id in app_ids:
            self._apply_to_app(actor, group, app_id, outcome)
        return outcome

    def _apply_to_app(self, actor: Actor, group: Group, app_id: int, outcome: MembershipOutcome) -> None:
        with self.k.uow(write=True) as uow:
            row = uow.apps.lock(app_id)
            assignment = uow.licenses.assignment(app_id, GROUP, group.id)
            if assignment is None:
                return  # unassigned meanwhile
            if group.disabled:
                uow.licenses.delete_assignment(assignment.id)
                gone = sorted(uow.licenses.release_orphan_seats(app_id))
                outcome.freed.extend((row.name, u) for u in gone)
                self.k.audit(uow, actor, "group.disabled", row, [group.id, *gone], {"freed": gone})
                outcome.filled.extend((row.name, u) for u in self.k.fill_waitlist(uow, actor, row))
                uow.commit()
                return
            now = self.k.now()
            granted = uow.licenses.granted_users(assignment.id)
            current = list(dict.fromkeys(group.members))
            joins = [u for u in current if u not in granted]
            leaves = sorted(granted - set(current))
            freed: set[str]
            if not joins and not leaves:
                return
            # One audit entry per join and per leave, with the counts right after it, counted here rather
            # than re-read per entry (a sync of thousands of changes spent most of its time re-counting).
            assigned = uow.licenses.seated_count(app_id)
            uow.licenses.delete_grants(assignment.id, leaves)
            freed = set(uow.licenses.release_orphan_seats(app_id))
            for user_id in leaves:
                assigned -= user_id in freed
                outcome.left.append((row.name, user_id))
                self.k.audit(uow, actor, "group.leave", row, [group.id, user_id], {"freed": user_id in freed},
                             counts=(row.total_seats, assigned))
            outcome.freed.extend((row.name, u) for u in sorted(freed))
            # the waiters already in line go before the newcomers
            outcome.filled.extend((row.name, u) for u in self.k.fill_waitlist(uow, actor, row))
            seated = uow.licenses.seated_users(app_id)
            free = max(0, row.total_seats - len(seated))
            uow.licenses.add_grants(assignment.id, app_id, joins, now)  # in order: the waitlist's order
            statuses: list[tuple[str, str]] = []
            for user_id in joins:
                if user_id in seated:
                    statuses.append((user_id, "already-held"))
                elif free > 0:
                    free -= 1
                    statuses.append((user_id, "seated"))
                    outcome.joined.append((row.name, user_id))
                else:
                    statuses.append((user_id, "waiting"))
                    outcome.waiting.append((row.name, user_id))
            uow.licenses.add_seats(app_id, [u for u, status in statuses if status == "seated"], now)
            assigned = len(seated)
            for user_id, status in statuses:
                assigned += status == "seated"
                self.k.audit(uow, actor, "group.join", row, [group.id, user_id], {"status": status},
                             counts=(row.total_seats, assigned))
            uow.commit()

    def remove_user(self, actor: Actor, user_id: str) -> UserRemoval:
        """A deleted Slack user loses every license, direct or through groups: one transaction per app."""
        user_id = self.k.user_id(user_id)
        with self.k.uow() as uow:
            app_ids = sorted({app_id for app_id, _, _, _ in uow.licenses.holdings_of(user_id)})
        removal = UserRemoval(user_id)
        for app_id in app_ids:
            with self.k.uow(write=True) as uow:
                row = uow.apps.lock(app_id)
                if not uow.licenses.sources_of(app_id, [user_id]):
                    continue  # removed meanwhile (a sync and an event at once): nothing to do or audit
                for assignment in uow.licenses.assignments(app_id):
                    if assignment.kind == USER and assignment.subject_id == user_id:
                        uow.licenses.delete_assignment(assignment.id)
                    elif assignment.kind == GROUP:
                        uow.licenses.delete_grants(assignment.id, [user_id])
                freed = uow.licenses.release_orphan_seats(app_id)
                self.k.audit(uow, actor, "user.removed", row, [user_id], {"freed": sorted(freed)})
                filled = self.k.fill_waitlist(uow, actor, row)
                uow.commit()
            removal.apps.append(row.name)
            if freed:
                removal.freed.append(row.name)
            removal.filled.extend((row.name, u) for u in filled)
        return removal

    def licensed_user_ids(self) -> set[str]:
        """Everyone holding a seat of any app or waiting for one (a sync checks them against deleted users)."""
        with self.k.uow() as uow:
            users: set[str] = set()
            for row in uow.apps.all():
                users |= uow.licenses.seated_users(row.id)
                users.update(user for user, _ in uow.licenses.waiters(row.id))
            return users

    def assigned_group_ids(self) -> list[str]:
        with self.k.uow() as uow:
            return uow.licenses.assigned_group_ids()

    # ------------------------------------------------------------------ once across processes
    def claim(self, key: str) -> bool:
        """Records `key` (a scheduled run's slot) in a transaction of its own; False when it was recorded
        before, by this process or another: several processes share a schedule. An event's id is
        recorded with its effect instead (`apply_group(..., event=...)`, `remove_user(..., event=...)`)."""
        key = clean_key(key)
        if not key:
            return True  # nothing to deduplicate on: every change it leads to is idempotent anyway
        with self.k.uow(write=True) as uow:
            if not uow.events.claim(key, self.k.now()):
                return False
            uow.commit()
        return True

    def seen(self, key: str) -> bool:
        """Was this event applied already? A cheap early answer for redeliveries; the change itself
        decides, in its own transaction."""
        key = clean_key(key)
        if not key:
            return False
        with self.k.uow(lone_read=True) as uow:
            return uow.events.seen(key)

    def prune_keys(self, retention: dt.timedelta, every: dt.timedelta = PRUNE_SLOT) -> PrunedKeys | None:
        """Deletes processed event ids and idempotency keys older than `retention` (Slack retries for
        under an hour; a double click lands within seconds). Once per `every` across processes: None
        when another process (or this one) already pruned in this slot."""
        now = self.k.now()
        if not self.claim(f"prune-keys:{int(now.timestamp() // every.total_seconds())}"):
            return None
        before, pruned = now - retention, PrunedKeys()
        while True:
            with self.k.uow(write=True) as uow:
                events, keys = uow.events.prune(before), uow.idempotency.prune(before)
                uow.commit()
            pruned.events += events
            pruned.idempotency_keys += keys
            if not events and not keys:
                return pruned


@dataclass
class PrunedKeys:
    events: int = 0
    idempotency_keys: int = 0


def clean_key(key: str | None) -> str:
    return (key or "").strip()[:100]
