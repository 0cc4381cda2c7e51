"""Domain errors: what went wrong, as a code and the facts behind it. No words: each door says it in its
reader's language (the CLI in plain English with ids, Slack with mentions, in the person's language).

`field` names the input an error is about in the core's terms ("app", "users", "groups", "total",
"role", "reason"); a door maps it to its own input (a modal block, a CLI argument).
`str(error)` is for logs only: the code and the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import Action, Role


class LicensingError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"
    field: str | None = None

    def __init__(self, *, field: str | None = None, **facts: object) -> None:
        super().__init__(self.code)
        if field is not None:
            self.field = field
        self.facts = facts

    def __str__(self) -> str:
        facts = ", ".join(f"{k}={v!r}" for k, v in self.facts.items())
        return f"{self.code}({facts})" if facts else self.code


class InvalidInput(LicensingError):
    """Input the core refuses; each subclass says which rule it breaks."""

    code = "invalid-input"


# ------------------------------------------------------------------ naming things
class AppNameMissing(InvalidInput):
    code = "app-name-missing"
    field = "app"


class UnknownApp(LicensingError):
    code = "unknown-app"
    field = "app"

    def __init__(self, query: str, candidates: Sequence[str]) -> None:
        super().__init__(query=query, candidates=list(candidates))
        self.query = query
        self.candidates = list(candidates)


class AmbiguousApp(LicensingError):
    code = "ambiguous-app"
    field = "app"

    def __init__(self, query: str, candidates: Sequence[str]) -> None:
        super().__init__(query=query, candidates=list(candidates))
        self.query = query
        self.candidates = list(candidates)


class InvalidUserId(InvalidInput):
    code = "invalid-user-id"
    field = "users"

    def __init__(self, value: str) -> None:
        super().__init__(value=value)
        self.value = value


class InvalidGroupId(InvalidInput):
    code = "invalid-group-id"
    field = "groups"

    def __init__(self, value: str) -> None:
        super().__init__(value=value)
        self.value = value


class NothingPicked(InvalidInput):
    code = "nothing-picked"
    field = "users"


class UnknownUser(InvalidInput):
    """A user id the workspace directory does not know (or a deleted account)."""

    code = "unknown-user"
    field = "users"

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id=user_id)
        self.user_id = user_id


class UnknownGroup(InvalidInput):
    """A group the workspace does not have, or a disabled one."""

    code = "unknown-group"
    field = "groups"

    def __init__(self, group_id: str) -> None:
        super().__init__(group_id=group_id)
        self.group_id = group_id


class DirectoryLoading(LicensingError):
    """The workspace's people and groups are not known yet (the directory's first load is still on its way,
    e.g. rate-limited): nothing was done; the same thing works in a moment. Never waited for in a request."""

    code = "directory-loading"


# ------------------------------------------------------------------ seats
class NotEnoughLicenses(LicensingError):
    code = "not-enough-licenses"

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(needed=needed, available=available)
        self.needed = needed
        self.available = available

    @property
    def missing(self) -> int:
        return self.needed - self.available


class SeatsBelowAssigned(LicensingError):
    code = "seats-below-assigned"
    field = "total"

    def __init__(self, requested: int, assigned: int) -> None:
        super().__init__(requested=requested, assigned=assigned)
        self.requested = requested
        self.assigned = assigned
        self.to_unassign = assigned - requested


class InvalidSeats(InvalidInput):
    code = "invalid-seats"
    field = "total"

    def __init__(self, value: str) -> None:
        super().__init__(value=value)
        self.value = value


class TooManySeats(InvalidInput):
    code = "too-many-seats"
    field = "total"

    def __init__(self, maximum: int) -> None:
        super().__init__(maximum=maximum)
        self.maximum = maximum


class ProviderPurchase(LicensingError):
    """Seats of an app bought from a vendor or reseller change only through them."""

    code = "provider-purchase"

    def __init__(self, app: str, contact: str) -> None:
        super().__init__(app=app, contact=contact)
        self.app = app
        self.contact = contact


# ------------------------------------------------------------------ unassigning
class NotAssigned(InvalidInput):
    code = "not-assigned"


class NotDirectlyAssigned(NotAssigned):
    """The user holds no direct assignment (maybe through groups: `via_groups`)."""

    code = "not-directly-assigned"
    field = "users"

    def __init__(self, user_id: str, app: str, via_groups: Sequence[str]) -> None:
        super().__init__(user_id=user_id, app=app, via_groups=list(via_groups))
        self.user_id = user_id
        self.app = app
        self.via_groups = list(via_groups)


class GroupNotAssigned(NotAssigned):
    code = "group-not-assigned"
    field = "groups"

    def __init__(self, group_id: str, app: str) -> None:
        super().__init__(group_id=group_id, app=app)
        self.group_id = group_id
        self.app = app


# ------------------------------------------------------------------ roles
class PermissionDenied(LicensingError):
    code = "permission-denied"

    def __init__(self, action: Action, allowed: frozenset[Role]) -> None:
        super().__init__(action=action.value, allowed=sorted(allowed))
        self.action = action
        self.allowed = allowed


class UnknownRole(InvalidInput):
    code = "unknown-role"
    field = "role"

    def __init__(self, value: str) -> None:
        super().__init__(value=value)
        self.value = value


class RoleFromSettings(InvalidInput):
    """A global admin named in LICENSEBOT_GLOBAL_ADMINS: only the setting can change that."""

    code = "role-from-settings"

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id=user_id)
        self.user_id = user_id


# ------------------------------------------------------------------ catalog imports
class DuplicateEntry(InvalidInput):
    code = "duplicate-entry"

    def __init__(self, index: int, name: str, first: int) -> None:
        super().__init__(index=index, name=name, first=first)
        self.index = index
        self.name = name
        self.first = first


class EntryBelowAssigned(InvalidInput):
    code = "entry-below-assigned"

    def __init__(self, index: int, name: str, seats: int, assigned: int) -> None:
        super().__init__(index=index, name=name, seats=seats, assigned=assigned)
        self.index = index
        self.name = name
        self.seats = seats
        self.assigned = assigned


class EntryMissingField(InvalidInput):
    """A new app in a catalog file without a field every app needs (seats, purchased_via)."""

    code = "entry-missing-field"

    def __init__(self, index: int, name: str, needs: str) -> None:
        super().__init__(index=index, name=name, needs=needs)
        self.index = index
        self.name = name
        self.needs = needs


# ------------------------------------------------------------------ app records
class AppNameTaken(InvalidInput):
    code = "app-name-taken"
    field = "name"

    def __init__(self, name: str, retired: bool) -> None:
        super().__init__(name=name, retired=retired)
        self.name = name
        self.retired = retired


class AppInUse(LicensingError):
    """An app is retired only when nothing is assigned and no request waits: unassign and decide first."""

    code = "app-in-use"

    def __init__(self, app: str, users: int, groups: int, requests: int = 0) -> None:
        super().__init__(app=app, users=users, groups=groups, requests=requests)
        self.app = app
        self.users = users
        self.groups = groups
        self.requests = requests


# ------------------------------------------------------------------ requests
class AlreadyHeld(InvalidInput):
    code = "already-held"

    def __init__(self, app: str) -> None:
        super().__init__(app=app)
        self.app = app


class AlreadyWaiting(InvalidInput):
    code = "already-waiting"

    def __init__(self, app: str) -> None:
        super().__init__(app=app)
        self.app = app


class AlreadyRequested(InvalidInput):
    code = "already-requested"

    def __init__(self, app: str, since: dt.datetime | None) -> None:
        super().__init__(app=app, since=since)
        self.app = app
        self.since = since


class RequestGone(InvalidInput):
    code = "request-gone"


class ReasonTooLong(InvalidInput):
    code = "reason-too-long"
    field = "reason"

    def __init__(self, maximum: int, length: int) -> None:
        super().__init__(maximum=maximum, length=length)
        self.maximum = maximum
        self.length = length


class OwnRequest(LicensingError):
    code = "own-request"


class RequestAlreadyDecided(LicensingError):
    code = "request-already-decided"

    def __init__(self, status: str, by: str | None) -> None:
        super().__init__(status=status, by=by)
        self.status = status
        self.by = by  # a Slack user id, "cli" for the operator, None for an expiry


# ------------------------------------------------------------------ bulk imports
@dataclass(frozen=True)
class BulkProblem:
    """One problem of an assignments file: a code and its facts. `line` is the file's line (the header is
    line 1); None for a problem of the whole file (not enough licenses for an app).

    unknown-app / ambiguous-app (value, candidates), no-app, bad-user (value), unknown-user (value, by_email),
    bad-until (value), past-until (value), two-untils (value, first_line), not-enough (app, needed, available)
    """

    code: str
    line: int | None
    facts: dict[str, Any] = field(default_factory=dict)


class BulkImportRefused(LicensingError):
    """An assignments file refused whole: nothing was written. `problems` lists every one found."""

    code = "bulk-import-refused"
    problems: tuple[BulkProblem, ...] = ()

    def __init__(self, problems: Sequence[BulkProblem]) -> None:
        super().__init__(count=len(problems))
        self.problems = tuple(problems)


# ------------------------------------------------------------------ provisioning and the usage-rights API
class NotProvisioned(LicensingError):
    """The app names no SCIM endpoint (catalog: provisioning.scim_url)."""

    code = "not-provisioned"

    def __init__(self, app: str) -> None:
        super().__init__(app=app)
        self.app = app


class VendorUnreachable(LicensingError):
    """The vendor's SCIM endpoint did not answer as it should (reconcile needs it)."""

    code = "vendor-unreachable"

    def __init__(self, app: str, reason: str) -> None:
        super().__init__(app=app, reason=reason)
        self.app = app
        self.reason = reason

