"""Assigning, unassigning and seat totals: the seat rules of SPEC §1.

Methods that change seats open a *write* unit of work, lock the app (the row on PostgreSQL, the database
on SQLite) and only then count: so seats are never oversubscribed, whatever runs concurrently. Roles are
checked inside that transaction, when the change runs: a modal opened by an admin and submitted by
someone else changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.domain import (
    GROUP_ID,
    MAX_SEATS,
    Action,
    Actor,
    AssignOutcome,
    AssignPreview,
    GroupImpact,
    PurchaseChannel,
    SeatsOutcome,
    SourceKind,
    UnassignOutcome,
    UnassignPreview,
)
from bot.errors import (
    GroupNotAssigned,
    InvalidGroupId,
    InvalidSeats,
    NotDirectlyAssigned,
    NotEnoughLicenses,
    NothingPicked,
    ProviderPurchase,
    SeatsBelowAssigned,
    TooManySeats,
    UnknownGroup,
)
from bot.errors_lifecycle import UntilInPast
from bot.kernel import Kernel
from storage.models import AppRow
from storage.uow import UnitOfWork

USER, GROUP = SourceKind.USER, SourceKind.GROUP


def parse_seats(value: Any) -> int:
    """A total of licenses as a person types it: ASCII digits, thousands separators allowed."""
    text = str(value).strip().replace(",", "").replace("_", "") if value is not None else ""
    digits = text.lstrip("+")
    # ASCII only: str.isdigit() also accepts "²" (int() refuses it) and "٣" (int() reads 3)
    if isinstance(value, bool) or not (digits.isascii() and digits.isdigit()):
        raise InvalidSeats(str(value)[:40])
    if len(digits) > len(str(MAX_SEATS)):  # before int(): thousands of digits cost int() dearly
        raise TooManySeats(MAX_SEATS)
    number = int(text)
    if number > MAX_SEATS:
        raise TooManySeats(MAX_SEATS)
    return number


class AssignmentService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    # ------------------------------------------------------------------ assign
    def preview(
        self, actor: Actor, query: str, users: Sequence[str] = (), groups: Sequence[str] = ()
    ) -> AssignPreview:
        """What assigning would take, without changing anything (the modal, before submit). The counts are
        for those who may assign."""
        users, groups = self.clean_subjects(users, groups, allow_empty=True)
        members = self.members_of(groups)
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.PREVIEW_ASSIGNMENT)
            row = self.k.resolve(uow, query)
            seated = uow.licenses.seated_users(row.id)
            impacts = [GroupImpact(g, len(members[g]), len(set(members[g]) - seated)) for g in groups]
            wanted = (set(users) | {m for g in groups for m in members[g]}) - seated
            return AssignPreview(self.k.summary_of(uow, row), impacts, len(wanted))

    def assign(
        self,
        actor: Actor,
        query: str,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        *,
        until: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> AssignOutcome:
        """Licenses users and groups, all or nothing: every current group member gets a seat now.

        `until`: the last day of the assignments named (not before today, UTC); None: permanent. Naming
        someone already assigned sets their assignment's end to it: that is how time is extended (or made
        permanent)."""
        self.check_until(until)
        users, groups = self.clean_subjects(users, groups)
        members = self.members_of(groups)  # from the directory, before any lock is held
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.ASSIGN)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            replay = self.k.replay(uow, idempotency_key)
            if replay is not None:
                return AssignOutcome(self.k.summary_of(uow, row), **replay, replayed=True)
            outcome, counts = self.assign_within(uow, actor, row, users, groups, members, set_until=True, until=until)
            if counts is not None:  # re-assigning what is already there changes nothing
                targets = [*users, *groups, *outcome["seated"]]
                self.k.audit(uow, actor, "assign", row, targets, outcome, counts=counts)
            self.k.remember(uow, idempotency_key, "assign", outcome)
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return AssignOutcome(summary, **outcome)

    def assign_within(
        self,
        uow: UnitOfWork,
        actor: Actor,
        row: AppRow,
        users: Sequence[str],
        groups: Sequence[str],
        members: dict[str, list[str]],
        *,
        set_until: bool = False,
        until: dt.date | None = None,
    ) -> tuple[dict[str, Any], tuple[int, int] | None]:
        """The seat rules of `assign`, inside the caller's locked unit of work (an approved request runs
        them too, in the same transaction as its decision). Raises NotEnoughLicenses before writing anything.
        `set_until`: the assignments named end after `until` (None: permanent), whether new or already there.

        Returns the outcome and, when something changed, the (total, assigned) seat counts after it.
        """
        now = self.k.now()
        seated = uow.licenses.seated_users(row.id)
        everyone = set(users).union(*(members[g] for g in groups))
        needed = len(everyone - seated)
        available = max(0, row.total_seats - len(seated))
        if needed > available:
            raise NotEnoughLicenses(needed, available)

        already = uow.licenses.direct_subjects(row.id, users) if users else set()
        new_direct = [u for u in users if u not in already]
        uow.licenses.add_direct_assignments(row.id, new_direct, actor.user_id, now)  # two statements for any number
        new_grants = 0
        for group_id in groups:
            existing = uow.licenses.assignment(row.id, GROUP, group_id)
            if existing is None:
                assignment = uow.licenses.add_assignment(row.id, GROUP, group_id, actor.user_id, now)
                missing = list(members[group_id])
                new_grants += 1  # a new source, even for a group whose members all hold a seat
            else:
                assignment = existing
                granted = uow.licenses.granted_users(assignment.id)
                missing = [m for m in members[group_id] if m not in granted]
            uow.licenses.add_grants(assignment.id, row.id, missing, now)
            new_grants += len(missing)
            # these grants follow the directory's copy, of no known version: the next sync must not be
            # discarded as stale (bot/membership.py). Taken after the app's lock, as membership does.
            uow.groups.forget(group_id)

        # exactly the users counted above: not every unseated grant of the group (a waiter who has
        # left it since the last sync is not a current member and was not counted)
        newly = sorted(everyone - seated)
        uow.licenses.add_seats(row.id, newly, now)
        outcome: dict[str, Any] = {
            "users": list(users),
            "groups": list(groups),
            "seated": newly,
            "already_held": sorted(set(users) & seated),
        }
        new_until = 0
        if set_until:  # a changed end date re-arms its reminders (storage/repositories/lifetimes.py)
            new_until = uow.lifetimes.set_until(row.id, USER, users, until, now)
            new_until += uow.lifetimes.set_until(row.id, GROUP, groups, until, now)
            if until is not None or new_until:
                outcome["until"] = until.isoformat() if until is not None else None
        changed = bool(new_direct or new_grants or newly or new_until)
        return outcome, (row.total_seats, len(seated) + len(newly)) if changed else None

    def check_until(self, until: dt.date | None) -> None:
        """An end date is today (UTC) or later: a license "until" a day is valid through that day."""
        today = self.k.now().date()
        if until is not None and until < today:
            raise UntilInPast(until, today)

    def clean_subjects(
        self, users: Sequence[str], groups: Sequence[str], allow_empty: bool = False
    ) -> tuple[list[str], list[str]]:
        clean_users = list(dict.fromkeys(self.k.user_id(u) for u in users))
        clean_groups: list[str] = []
        for g in dict.fromkeys(groups):
            g = (g or "").strip()
            if not GROUP_ID.match(g):
                raise InvalidGroupId(g[:40])
            clean_groups.append(g)
        if not clean_users and not clean_groups and not allow_empty:
            raise NothingPicked()
        return clean_users, clean_groups

    def members_of(self, groups: Sequence[str]) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {}
        for group_id in groups:
            group = self.k.directory.group(group_id)
            if group is None or group.disabled:
                raise UnknownGroup(group_id)
            members[group_id] = list(dict.fromkeys(group.members))
        return members

    # ------------------------------------------------------------------ unassign
    def preview_unassign(self, actor: Actor, query: str, users: Sequence[str] = (),
                         groups: Sequence[str] = ()) -> UnassignPreview:
        users, groups = self.clean_subjects(users, groups)
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.UNASSIGN)
            row = self.k.resolve(uow, query)
            frees, keeps = self._unassign_effect(uow, row, users, groups)
            return UnassignPreview(self.k.summary_of(uow, row), users, groups, frees, keeps)

    def _unassign_effect(
        self, uow: UnitOfWork, row: AppRow, users: list[str], groups: list[str]
    ) -> tuple[list[str], list[str]]:
        """Who would lose their seat and who keeps it through another source. Checks every subject."""
        removed: set[tuple[str, str]] = set()
        affected: set[str] = set()
        for user_id in users:
            if uow.licenses.assignment(row.id, USER, user_id) is None:
                held = uow.licenses.sources_of(row.id, [user_id]).get(user_id, [])
                raise NotDirectlyAssigned(user_id, row.name, [s for k, s in held if k == GROUP])
            removed.add((USER, user_id))
            affected.add(user_id)
        for group_id in groups:
            assignment = uow.licenses.assignment(row.id, GROUP, group_id)
            if assignment is None:
                raise GroupNotAssigned(group_id, row.name)
            removed.add((GROUP, group_id))
            affected |= uow.licenses.granted_users(assignment.id)
        seated = uow.licenses.seated_users(row.id)
        sources = uow.licenses.sources_of(row.id, sorted(affected))
        frees: list[str] = []
        keeps: list[str] = []
        for user_id in sorted(affected & seated):
            remaining = [s for s in sources.get(user_id, []) if s not in removed]
            (keeps if remaining else frees).append(user_id)
        return frees, keeps

    def unassign(
        self,
        actor: Actor,
        query: str,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        *,
        idempotency_key: str | None = None,
    ) -> UnassignOutcome:
        """Removes assignments; a group takes back only what it gave. Freed seats go to the waitlist."""
        users, groups = self.clean_subjects(users, groups)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.UNASSIGN)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            replay = self.k.replay(uow, idempotency_key)
            if replay is not None:
                return UnassignOutcome(self.k.summary_of(uow, row), **replay, replayed=True)
            self._unassign_effect(uow, row, users, groups)  # every subject must be assigned
            for kind, subjects in ((USER, users), (GROUP, groups)):
                for subject in subjects:
                    assignment = uow.licenses.assignment(row.id, kind, subject)
                    assert assignment is not None
                    uow.licenses.delete_assignment(assignment.id)
            freed = sorted(uow.licenses.release_orphan_seats(row.id))
            outcome: dict[str, Any] = {"users": users, "groups": groups, "freed": freed, "filled": []}
            self.k.audit(uow, actor, "unassign", row, [*users, *groups, *freed], outcome)
            outcome["filled"] = self.k.fill_waitlist(uow, actor, row)
            self.k.remember(uow, idempotency_key, "unassign", outcome)
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return UnassignOutcome(summary, **outcome)

    # ------------------------------------------------------------------ seats
    def set_seats(self, actor: Actor, query: str, total: Any, *, idempotency_key: str | None = None) -> SeatsOutcome:
        """Sets an app's total seats (marketplace apps only); never below what is assigned."""
        total = parse_seats(total)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.CHANGE_SEATS)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            if row.purchased_via != PurchaseChannel.MARKETPLACE:
                raise ProviderPurchase(row.name, row.provider_contact)
            replay = self.k.replay(uow, idempotency_key)
            if replay is not None:
                return SeatsOutcome(self.k.summary_of(uow, row), **replay, replayed=True)
            assigned = uow.licenses.seated_count(row.id)
            if total < assigned:
                raise SeatsBelowAssigned(total, assigned)
            before = row.total_seats
            outcome: dict[str, Any] = {"before": before, "after": total, "filled": []}
            if total != before:  # saving the same total changes nothing and audits nothing
                row.total_seats = total
                row.updated_at = self.k.now()
                uow.flush()
                self.k.audit(uow, actor, "seats", row, [], {"before": before, "after": total})
                outcome["filled"] = self.k.fill_waitlist(uow, actor, row)
            self.k.remember(uow, idempotency_key, "seats", outcome)
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return SeatsOutcome(summary, **outcome)
