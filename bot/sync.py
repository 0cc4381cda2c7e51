"""Keeping group-based licenses true to the workspace: a full sync, and one group at a time (events).

The directory is anything with the small `MembershipSource` shape (the Slack-backed one lives in
handlers/). Memberships are applied one group at a time, each under a per-group lock that also covers
the update of the cached members; across processes, the core applies a group's members only when they
are newer (Slack's date_update) than the version the database says it applied.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from bot.directory import Group
from bot.domain import Actor, MembershipOutcome, UserRemoval
from bot.service import LicensingService

Progress = Callable[[int, int], None]  # (groups done, groups in all)


class MembershipSource(Protocol):
    def refresh(self) -> None:
        """Re-reads groups, their members and the users from the workspace."""
        ...

    def group(self, group_id: str) -> Group | None: ...

    def snapshot(self, group_id: str) -> tuple[Group | None, float | None]:
        """The group and the version of it held (Slack's date_update; None: unknown), read together."""
        ...

    def deleted_user_ids(self) -> Iterable[str]: ...


@dataclass
class SyncReport:
    groups: int = 0
    joined: int = 0  # members seated on joining
    left: int = 0  # members whose license went with the group (or with their deleted account)
    waiting: int = 0  # members who joined and wait for a seat
    filled: int = 0  # waiters seated from the waitlist
    missing_groups: list[str] = field(default_factory=list)  # assigned, but unknown to the workspace
    removed_users: list[str] = field(default_factory=list)  # deleted accounts that lost their licenses

    def add(self, outcome: MembershipOutcome) -> None:
        self.joined += len(outcome.joined)
        self.left += len(outcome.left)
        self.waiting += len(outcome.waiting)
        self.filled += len(outcome.filled)

    def add_removal(self, removal: UserRemoval) -> None:
        if removal.apps:
            self.removed_users.append(removal.user_id)
        self.left += len(removal.apps)
        self.filled += len(removal.filled)

    def summary(self) -> str:
        groups = f"{self.groups} group" + ("" if self.groups == 1 else "s")
        return f"synced {groups}: {self.joined} joined, {self.left} left, {self.waiting} waiting, {self.filled} filled"


class GroupSync:
    """Applies the directory's memberships to the licenses, as `actor` (the bot, or `cli`)."""

    def __init__(self, service: LicensingService, source: MembershipSource, actor: Actor) -> None:
        self.service = service
        self.source = source
        self.actor = actor
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, group_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(group_id, threading.Lock())

    def apply(
        self, group_id: str, update: Callable[[], object] | None = None, *, event: str | None = None
    ) -> MembershipOutcome | None:
        """Brings one group's licenses in line with its cached members, after `update` (e.g. an event's
        change) ran under the same lock. The core applies them only when they are newer than what the
        database says was applied (another process may be ahead), recording `event` with the change.
        None when the directory has no such group."""
        with self._lock(group_id):
            if update is not None:
                update()
            group, version = self.source.snapshot(group_id)
            if group is None:
                return None
            return self.service.membership.apply_group(self.actor, group, version=version, event=event)

    def apply_change(
        self, group_id: str, added: list[str], removed: list[str], previous: float, current: float,
        update: Callable[[], object] | None = None, *, event: str | None = None,
    ) -> MembershipOutcome:
        """A member change Slack announced, from version `previous` to `current`: applied by the core as
        that change, in version order (MembershipService.apply_change), after `update` (the cached
        directory's own copy) ran under this group's lock."""
        with self._lock(group_id):
            if update is not None:
                update()
            return self.service.membership.apply_change(
                self.actor, group_id, added, removed, previous=previous, current=current, event=event)

    def remove_user(self, user_id: str, *, event: str | None = None) -> UserRemoval:
        return self.service.membership.remove_user(self.actor, user_id, event=event)

    def run(self, progress: Progress | None = None) -> SyncReport:
        """Re-reads the directory, removes deleted users' licenses, then applies every assigned group."""
        self.source.refresh()
        report = SyncReport()
        # deleted accounts first: the seats they free go to people already waiting, before newcomers
        deleted = set(self.source.deleted_user_ids()) & self.service.membership.licensed_user_ids()
        for user_id in sorted(deleted):
            report.add_removal(self.remove_user(user_id))
        group_ids = sorted(self.service.membership.assigned_group_ids())
        report.groups = len(group_ids)
        if progress is not None:
            progress(0, len(group_ids))
        for done, group_id in enumerate(group_ids, start=1):
            outcome = self.apply(group_id)
            if outcome is None:
                report.missing_groups.append(group_id)
            else:
                report.add(outcome)
            if progress is not None:
                progress(done, len(group_ids))
        return report
