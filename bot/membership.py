"""Group-based licenses follow the workspace: members join and leave, groups are disabled, accounts deleted.

A group's change is applied in one unit of work under the group's lock (the database's record of which
version of its members the licenses follow) and every app's lock. Joins get a seat if one is free, else
wait; leaves free the seat unless another source holds it; freed seats go to the oldest waiter.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.directory import Group
from bot.domain import Actor, MembershipOutcome, SourceKind, UserRemoval
from bot.kernel import Kernel
from storage.models import AppRow
from storage.uow import UnitOfWork

USER, GROUP = SourceKind.USER, SourceKind.GROUP
PRUNE_SLOT = dt.timedelta(hours=1)  # pruning old keys runs at most once an hour across processes


class MembershipService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def apply_group(
        self, actor: Actor, group: Group, *, version: float | None = None, event: str | None = None
    ) -> MembershipOutcome:
        """Brings every app assigned to the group in line with `group.members`, a snapshot of the group
        at `version` (Slack's date_update; None: unknown), in ONE transaction under the group's lock.

        Ordered by version across processes: a snapshot older than (or as old as) the version the
        database applied is discarded (`outcome.skipped == "stale"`). `event`, a Slack event id, is
        recorded in the same transaction (a crash before the commit leaves it unrecorded: the
        redelivery applies it); already recorded: nothing happens (`skipped == "duplicate"`). A disabled
        group loses its assignments."""
        members = list(dict.fromkeys(group.members))

        def change(granted: set[str]) -> tuple[list[str], list[str]]:
            return [u for u in members if u not in granted], sorted(granted - set(members))

        return self._apply(actor, group.id, change, version=version, previous=None, event=event,
                           disabled=group.disabled)

    def apply_change(
        self, actor: Actor, group_id: str, added: Iterable[str], removed: Iterable[str], *,
        previous: float, current: float, event: str | None = None,
    ) -> MembershipOutcome:
        """A `subteam_members_changed` event: Slack's change from version `previous` to `current`,
        applied as that change (who joined, who left) to the database's record, the grants; never as
        a member list read by one process, which another process may already have overtaken.

        Discarded when the database applied `current` or newer (`skipped == "stale"`). The recorded
        version moves to `current` only when the change follows on from it (nothing missed between);
        after a gap (an earlier change still on its way), or with no version recorded, the change is
        applied and the version kept, so the earlier one is still applied when it comes, and the next
        snapshot (a sync) is not taken for stale. `event`: as in apply_group."""
        gone = list(dict.fromkeys(removed))
        new = [u for u in dict.fromkeys(added) if u not in set(gone)]

        def change(granted: set[str]) -> tuple[list[str], list[str]]:
            return [u for u in new if u not in granted], sorted(set(gone) & granted)

        return self._apply(actor, group_id, change, version=current, previous=previous, event=event)

    def _apply(
        self, actor: Actor, group_id: str, change: Callable[[set[str]], tuple[list[str], list[str]]], *,
        version: float | None, previous: float | None, event: str | None, disabled: bool = False,
    ) -> MembershipOutcome:
        outcome = MembershipOutcome(group_id)
        if version is not None and not math.isfinite(version):  # nan or inf would stop every later change
            version = previous = None
        with self.k.uow(write=True) as uow:
            now = self.k.now()
            if event is not None and clean_key(event) and not uow.events.claim(clean_key(event), now):
                outcome.skipped = "duplicate"
                return outcome
            # every app locked first, in id order, then the group's row: the order an assignment takes
            # them in too (bot/assignments.py), so no two changes wait on each other
            app_ids = sorted(a.app_id for a in uow.licenses.group_assignments(group_id))
            rows = [uow.apps.lock(app_id) for app_id in app_ids]
            # with a version, the group's row orders the changes; without one (no ordering known) the
            # apps' locks alone serialize the change, as for any other change of seats
            held = uow.groups.lock(group_id, now) if version is not None else None
            if version is not None and held is not None and version <= held:
                outcome.skipped = "stale"
                uow.commit()  # the event id, if any: it was seen, and it needs nothing more
                return outcome
            for row in rows:
                self._apply_to_app(uow, actor, group_id, row, change, disabled, outcome)
            # a snapshot is the group at its version; a change says so only when it follows on from the
            # version recorded (None: unknown, until a snapshot, e.g. the next sync, sets it)
            if version is not None and (previous is None or (held is not None and held >= previous)):
                uow.groups.set(group_id, version, now)
            uow.commit()
        return outcome

    def _apply_to_app(
        self, uow: UnitOfWork, actor: Actor, group_id: str, row: AppRow,
        change: Callable[[set[str]], tuple[list[str], list[str]]], disabled: bool, outcome: MembershipOutcome,
    ) -> None:
        app_id = row.id
        assignment = uow.licenses.assignment(app_id, GROUP, group_id)
        if assignment is None:
            return
        if disabled:
            uow.licenses.delete_assignment(assignment.id)
            gone = sorted(uow.licenses.release_orphan_seats(app_id))
            outcome.freed.extend((row.name, u) for u in gone)
            self.k.audit(uow, actor, "group.disabled", row, [group_id, *gone], {"freed": gone})
            outcome.filled.extend((row.name, u) for u in self.k.fill_waitlist(uow, actor, row))
            return
        now = self.k.now()
        joins, leaves = change(uow.licenses.granted_users(assignment.id))
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
            self.k.audit(uow, actor, "group.leave", row, [group_id, user_id], {"freed": user_id in freed},
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
            self.k.audit(uow, actor, "group.join", row, [group_id, user_id], {"status": status},
                         counts=(row.total_seats, assigned))

    def remove_user(self, actor: Actor, user_id: str, *, event: str | None = None) -> UserRemoval:
        """A deleted Slack user loses every license, direct or through groups, in one transaction (with
        `event`, a Slack event id, recorded in it: see apply_group)."""
        user_id = self.k.user_id(user_id)
        removal = UserRemoval(user_id)
        with self.k.uow(write=True) as uow:
            if event is not None and clean_key(event) and not uow.events.claim(clean_key(event), self.k.now()):
                return removal
            app_ids = sorted({app_id for app_id, _, _, _ in uow.licenses.holdings_of(user_id)})
            rows = [uow.apps.lock(app_id) for app_id in app_ids]  # in id order, before any change
            for row in rows:
                if not uow.licenses.sources_of(row.id, [user_id]):
                    continue  # removed meanwhile (a sync and an event at once): nothing to do or audit
                for assignment in uow.licenses.assignments(row.id):
                    if assignment.kind == USER and assignment.subject_id == user_id:
                        uow.licenses.delete_assignment(assignment.id)
                    elif assignment.kind == GROUP:
                        uow.licenses.delete_grants(assignment.id, [user_id])
                freed = uow.licenses.release_orphan_seats(row.id)
                self.k.audit(uow, actor, "user.removed", row, [user_id], {"freed": sorted(freed)})
                removal.filled.extend((row.name, u) for u in self.k.fill_waitlist(uow, actor, row))
                removal.apps.append(row.name)
                if freed:
                    removal.freed.append(row.name)
            uow.commit()
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
