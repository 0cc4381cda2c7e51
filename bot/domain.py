"""Values the service takes and returns. Plain data: no Slack payloads, no database rows."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    GLOBAL_ADMIN = "global-admin"
    BILLING_ADMIN = "billing-admin"
    LICENSE_ADMIN = "license-admin"
    USER_ADMIN = "user-admin"


# Who may do what (SPEC §1). Everyone may read the catalog and their own licenses.
ASSIGNERS = frozenset({Role.GLOBAL_ADMIN, Role.LICENSE_ADMIN, Role.USER_ADMIN})
APPROVERS = ASSIGNERS
BILLERS = frozenset({Role.GLOBAL_ADMIN, Role.BILLING_ADMIN})
ROLE_MANAGERS = frozenset({Role.GLOBAL_ADMIN})
ADMINS = frozenset(Role)


class Action(StrEnum):
    """What a role allows. The door names each in its reader's words."""

    ASSIGN = "assign"
    UNASSIGN = "unassign"
    PREVIEW_ASSIGNMENT = "preview-assignment"
    CHANGE_SEATS = "change-seats"
    EDIT_APPS = "edit-apps"
    GRANT_ROLES = "grant-roles"
    REVOKE_ROLES = "revoke-roles"
    LIST_ROLES = "list-roles"
    READ_AUDIT = "read-audit"
    APPROVE = "approve"
    DENY = "deny"
    DECIDE = "decide"
    LIST_REQUESTS = "list-requests"
    EXPORT_ASSIGNMENTS = "export-assignments"
    RETRY_PROVISIONING = "retry-provisioning"
    RECLAIM = "reclaim"
    IMPORT_USAGE = "import-usage"


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.ASSIGN: ASSIGNERS,
    Action.UNASSIGN: ASSIGNERS,
    Action.PREVIEW_ASSIGNMENT: ASSIGNERS,
    Action.CHANGE_SEATS: BILLERS,
    Action.EDIT_APPS: BILLERS,
    Action.GRANT_ROLES: ROLE_MANAGERS,
    Action.REVOKE_ROLES: ROLE_MANAGERS,
    Action.LIST_ROLES: ADMINS,
    Action.READ_AUDIT: ADMINS,
    Action.APPROVE: APPROVERS,
    Action.DENY: APPROVERS,
    Action.DECIDE: APPROVERS,
    Action.LIST_REQUESTS: APPROVERS,
    Action.EXPORT_ASSIGNMENTS: ADMINS,
    Action.RETRY_PROVISIONING: ASSIGNERS,
    Action.RECLAIM: ASSIGNERS,
    Action.IMPORT_USAGE: ASSIGNERS,
}


@dataclass(frozen=True)
class Rights:
    """What one person may do with one app, decided by the core once: the doors show only these buttons."""

    roles: frozenset[Role]
    holds: bool  # holds a seat of the app

    @property
    def assign(self) -> bool:
        return bool(self.roles & ASSIGNERS)

    @property
    def reclaim(self) -> bool:
        return bool(self.roles & ALLOWED[Action.RECLAIM])

    @property
    def change_seats(self) -> bool:
        return bool(self.roles & BILLERS)

    @property
    def edit_apps(self) -> bool:
        return bool(self.roles & BILLERS)

    @property
    def install(self) -> bool:
        """Admins install for the organisation; a license holder gets the same link for themselves."""
        return self.holds or bool(self.roles & ADMINS)

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMINS)


class SourceKind(StrEnum):
    """What an assignment licenses: one user (direct) or a user group."""

    USER = "user"
    GROUP = "group"


class PurchaseChannel(StrEnum):
    MARKETPLACE = "marketplace"
    PROVIDER = "provider"


# Slack ids: users U…/W…, groups (subteams) S…, teams T…/E…. Upper-case letters and digits.
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")  # a public or private channel
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,30}$")
MAX_SEATS = 1_000_000


@dataclass(frozen=True)
class Actor:
    """Who acts, and through which door (Slack or the local CLI)."""

    user_id: str
    via: str = "slack"

    @classmethod
    def cli(cls) -> Actor:
        return cls(user_id="cli", via="cli")

    @property
    def is_cli(self) -> bool:
        return self.via == "cli"


@dataclass(frozen=True)
class AppSummary:
    name: str
    vendor: str
    purchased_via: str
    total: int
    assigned: int
    waiting: int
    provider_contact: str
    install_url: str
    renewal_date: dt.date | None
    notes: str
    low_seat_threshold: int | None = None

    @property
    def available(self) -> int:
        return max(0, self.total - self.assigned)

    @property
    def is_marketplace(self) -> bool:
        return self.purchased_via == PurchaseChannel.MARKETPLACE

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "purchased_via": self.purchased_via,
            "seats": self.total,
            "assigned": self.assigned,
            "available": self.available,
            "waiting": self.waiting,
            "provider_contact": self.provider_contact,
            "install_url": self.install_url,
            "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
            "notes": self.notes,
            "low_seat_threshold": self.low_seat_threshold,
        }


@dataclass(frozen=True)
class GroupAssignee:
    group_id: str
    seated: list[str]
    waiting: list[str]


@dataclass(frozen=True)
class AppDetails:
    app: AppSummary
    users: list[str]  # every user holding a seat, by any source
    direct_users: list[str]  # users assigned directly
    groups: list[GroupAssignee]
    waiting: list[str]  # oldest first

    def as_json(self) -> dict[str, Any]:
        data = self.app.as_json()
        data["waiting"] = list(self.waiting)
        data.update(
            users=list(self.users),
            direct_users=list(self.direct_users),
            groups=[g.group_id for g in self.groups],
        )
        return data


@dataclass(frozen=True)
class Assignee:
    """One entry of an app's assignees: a group (with how many of its members hold a seat or wait) or a user
    (with every source covering them, and whether they hold a seat)."""

    kind: SourceKind
    id: str
    seated: bool = False  # a user holds a seat
    sources: tuple[tuple[SourceKind, str], ...] = ()  # a user: what covers them, oldest first
    licensed: int = 0  # a group: members holding a seat
    waiting: int = 0  # a group: members waiting for one
    first_waiting: tuple[str, ...] = ()  # a group: its oldest waiting members
    until: dt.date | None = None  # a direct user (or a group): the assignment's last day; None: permanent


@dataclass(frozen=True)
class AppOverview:
    """The license details modal at any size: the first users and groups with the totals, so what is not
    shown is counted, never dropped."""

    app: AppSummary
    users: list[Assignee]  # the first users assigned directly
    users_total: int
    groups: list[Assignee]  # the first groups
    groups_total: int
    waiting: list[str]  # the users waiting longest, oldest first
    assignees_total: int  # the entries of "See all": every group, then every user covered

    @property
    def waiting_total(self) -> int:
        return self.app.waiting


@dataclass(frozen=True)
class AssignOutcome:
    app: AppSummary
    users: list[str]
    groups: list[str]
    seated: list[str]  # users who got a new seat
    already_held: list[str]  # named users who held one before
    replayed: bool = False  # the same idempotency key had acted before: nothing was done again
    until: str | None = None  # the last day of the assignments named (ISO), None: permanent

    def as_json(self) -> dict[str, Any]:
        return {"users": self.users, "groups": self.groups, "seated": self.seated, "already_held": self.already_held,
                "until": self.until}


@dataclass(frozen=True)
class GroupImpact:
    group_id: str
    members: int
    new_seats: int


@dataclass(frozen=True)
class AssignPreview:
    app: AppSummary
    groups: list[GroupImpact]
    new_seats: int  # distinct users the whole selection would newly seat

    @property
    def short(self) -> int:
        return max(0, self.new_seats - self.app.available)


@dataclass(frozen=True)
class UnassignPreview:
    app: AppSummary
    users: list[str]
    groups: list[str]
    frees: list[str]  # users who would lose their seat
    keeps: list[str]  # affected users who keep it through another source


@dataclass(frozen=True)
class UnassignOutcome:
    app: AppSummary
    users: list[str]
    groups: list[str]
    freed: list[str]
    filled: list[str]  # waiters who got the freed seats
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"users": self.users, "groups": self.groups, "freed": self.freed, "filled": self.filled}


@dataclass(frozen=True)
class SeatsOutcome:
    app: AppSummary
    before: int
    after: int
    filled: list[str]
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after, "filled": self.filled}


@dataclass
class MembershipOutcome:
    """What applying a group's membership did, over every app the group is assigned to."""

    group_id: str
    joined: list[tuple[str, str]] = field(default_factory=list)  # (app, user) seated
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (app, user) now waiting
    left: list[tuple[str, str]] = field(default_factory=list)  # (app, user) whose grant went
    freed: list[tuple[str, str]] = field(default_factory=list)  # (app, user) who lost their seat
    filled: list[tuple[str, str]] = field(default_factory=list)  # (app, user) seated from the waitlist
    skipped: str = ""  # "stale": an older snapshot than the one applied; "duplicate": the event was applied


@dataclass(frozen=True)
class UserRemoval:
    """What removing a deleted Slack user did, over every app they held or waited for."""

    user_id: str
    apps: list[str] = field(default_factory=list)  # every app they lost, by any source
    freed: list[str] = field(default_factory=list)  # apps where their seat was freed
    filled: list[tuple[str, str]] = field(default_factory=list)  # (app, user) seated from the waitlist


@dataclass(frozen=True)
class HeldLicense:
    app: str
    seated: bool  # False: waiting for a seat
    sources: list[tuple[SourceKind, str]]  # (USER, U…) or (GROUP, S…)
    until: dt.date | None = None  # the last day of the direct assignment (None: none, or permanent)


@dataclass(frozen=True)
class RoleBinding:
    user_id: str
    role: str
    granted_by: str
    granted_at: dt.datetime | None  # None: from LICENSEBOT_GLOBAL_ADMINS

    def as_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "role": self.role,
            "granted_by": self.granted_by,
            "granted_at": iso(self.granted_at) if self.granted_at else None,
        }


@dataclass(frozen=True)
class AuditCheck:
    """What `audit verify` found: every entry chained, or the first entry where the chain breaks.

    problem: "" (intact); "rewritten" (the entry's hash does not match its contents); "unchained" (no
    hash, or past the chain's head: written around the bot); "unlinked" (it does not follow `after`, the
    last good entry: entries between removed or reordered, or `after` rewritten with a new hash);
    "truncated" (the log ends at `after`, the chain's head names `entry_id`: entries removed from the
    end); "no-head" (the chain's head record is gone)."""

    entries: int
    problem: str = ""
    entry_id: int | None = None
    after: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    via: str
    action: str
    app: str | None
    targets: list[str]
    detail: dict[str, Any]
    total: int | None
    assigned: int | None
    available: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "actor": self.actor,
            "via": self.via,
            "action": self.action,
            "app": self.app,
            "targets": self.targets,
            "seats": self.total,
            "assigned": self.assigned,
            "available": self.available,
            "detail": self.detail,
        }


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second's fraction Slack and spreadsheets both read."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
