"""Provisioning (SPEC §7): a seat of an app that names a SCIM endpoint takes effect in the vendor's app.

- Every unit of work that gives or takes seats (any path: assign, group sync, waitlist, approval, import,
  unassign, deletion…) records them (storage: `licenses.seat_changes`); just before it commits,
  `seats_changed` writes, for each user of a provisioned app, what they should be at the vendor
  (`active` while they hold a seat, `inactive` once no source holds it) with state "pending", and one
  outbox message of kind "provision" in the lane of that (app, user). A seat change rolled back provisions
  nothing; one committed is provisioned even if the process dies next.
- `serve`'s deliverer hands each message to `deliver`, which reads the seat as it is NOW (so assign,
  unassign, assign converges on the last word) and asks the vendor, through the door's `Vendor`
  (handlers/scim: scim2-client), to make the user active, or inactive / deleted.
- The vendor's answer: done → "provisioned"; a refusal that will not change (4xx) → "failed" at once with
  the vendor's detail; a failure that may pass (429, 5xx, no connection) → retried with the outbox's
  backoff, still "pending", until GIVE_UP_AFTER, then "failed".
- The bearer token is read from the named environment variable when it is used; it never reaches the
  database, a log line, an error or a view. A variable that is not set fails that app's users with
  "failed: NAME is not set".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain import Action, Actor
from bot.errors import NotProvisioned, VendorUnreachable
from bot.kernel import Kernel
from bot.notify import Kind, Message
from bot.outbox import Drop, OutboxMessage, Outcome, Retry, Sent
from storage.models import AppRow
from storage.uow import UnitOfWork

log = logging.getLogger("licensebot")

GIVE_UP_AFTER = dt.timedelta(minutes=15)  # SPEC: at least 10 minutes of retries before "failed"
ACTIVE, INACTIVE = "active", "inactive"
PENDING, PROVISIONED, FAILED = "pending", "provisioned", "failed"


# ------------------------------------------------------------------ the vendor, as the core sees it
@dataclass(frozen=True)
class Person:
    """Who to provision, from the workspace directory."""

    user_id: str
    email: str = ""
    display_name: str = ""
    real_name: str = ""


@dataclass(frozen=True)
class VendorUser:
    vendor_id: str
    user_name: str
    external_id: str | None
    active: bool


@dataclass(frozen=True)
class Done:
    vendor_id: str | None = None
    calls: int = 0  # requests it took (the benchmark counts them)


@dataclass(frozen=True)
class Again:
    """May pass: 429 (with its Retry-After), 5xx, no connection, a timeout."""

    error: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Refused:
    """Will not change by itself (400, 401, 403, 404, 409…): the vendor's detail."""

    detail: str


VendorResult = Done | Again | Refused


class Vendor(Protocol):
    def activate(self, person: Person) -> VendorResult:
        """Finds the user by externalId, then by userName; creates them active, or makes them active."""
        ...

    def deactivate(self, person: Person, *, delete: bool) -> VendorResult:
        """Makes the user inactive (or deletes them); a user the vendor does not know is done."""
        ...

    def users(self) -> list[VendorUser] | Again | Refused:
        """Every user the vendor holds."""
        ...


VendorFactory = Callable[[str, str], Vendor]  # (scim_url, bearer token) -> a vendor client


# ------------------------------------------------------------------ what the doors read
@dataclass(frozen=True)
class ProvisioningStatus:
    app: str
    scim_url: str
    token_env: str
    deprovision: str
    pending: int
    provisioned: int
    failed: int
    failures: list[tuple[str, str]]  # (user, reason), at most FAILURES_SHOWN
    token_set: bool
    retrying: list[tuple[str, str]] = field(default_factory=list)  # pending after a failure that may pass


    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app, "scim_url": self.scim_url, "token_env": self.token_env,
            "deprovision": self.deprovision, "token_set": self.token_set,
            "counts": {PENDING: self.pending, PROVISIONED: self.provisioned, FAILED: self.failed},
            "failures": [{"user": u, "reason": r} for u, r in self.failures],
            "retrying": [{"user": u, "last_error": r} for u, r in self.retrying],
        }


@dataclass
class Drift:
    """`provision reconcile`: the vendor's active users without a seat, and seats without an active user."""

    app: str
    active_without_seat: list[VendorUser] = field(default_factory=list)
    seat_without_active: list[str] = field(default_factory=list)
    # (who, "deactivated" | "deleted" at the vendor, or "queued": to be made active by serve's deliverer)
    fixed: list[tuple[str, str]] = field(default_factory=list)
    not_fixed: list[tuple[str, str]] = field(default_factory=list)  # (who, why)

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "active_without_seat": [{"vendor_id": u.vendor_id, "user_name": u.user_name,
                                     "external_id": u.external_id} for u in self.active_without_seat],
            "seat_without_active": list(self.seat_without_active),
            "fixed": [{"who": w, "action": a} for w, a in self.fixed],
            "not_fixed": [{"who": w, "reason": r} for w, r in self.not_fixed],
        }


FAILURES_SHOWN = 50


def lane(app_id: int, user_id: str) -> str:
    return f"provision:{app_id}:{user_id}"


class ProvisioningService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.vendors: VendorFactory | None = None  # the door's SCIM client (handlers/scim), set by `connect`
        self._clients: dict[tuple[str, str], Vendor] = {}
        kernel.uow.before_commit["provisioning"] = self.seats_changed  # one per database, however many services

    def connect(self, vendors: VendorFactory) -> None:
        self.vendors = vendors
        self._clients.clear()

    # ------------------------------------------------------------------ written with the seat change
    def seats_changed(self, uow: UnitOfWork) -> None:
        """Inside a unit of work that gave or took seats, just before it commits: for each user of a
        provisioned app, what they should be at the vendor, and a message to get it there."""
        if not uow.licenses.seat_changes:  # an app locked, no seat changed
            return
        by_app: dict[int, dict[str, None]] = {}
        for app_id, user_id in uow.licenses.seat_changes:
            by_app.setdefault(app_id, {})[user_id] = None
        apps = uow.provisioning.provisioned_apps(sorted(by_app))
        if not apps:
            return
        now = self.k.now()
        for row in apps:
            seated = uow.licenses.seated_users(row.id)
            wants = {user: ACTIVE if user in seated else INACTIVE for user in by_app[row.id]}
            self._queue(uow, row.id, wants, now)

    def _queue(self, uow: UnitOfWork, app_id: int, wants: dict[str, str], now: dt.datetime) -> None:
        uow.provisioning.want(app_id, wants, now)
        self.k.queue(uow, [Message(Kind.PROVISION, user, lane(app_id, user), {"app_id": app_id}) for user in wants])

    # ------------------------------------------------------------------ delivered by serve
    def deliver(self, message: OutboxMessage) -> Outcome:
        """One provisioning message: the user made at the vendor what their seat says now."""
        app_id, user_id = int(message.facts["app_id"]), message.recipient
        with self.k.uow() as uow:
            row = uow.apps.get(app_id)
            if row is None or not row.provisioning_scim_url:
                return Sent()  # the app went, or stopped provisioning: nothing left to do
            want = ACTIVE if uow.licenses.has_seat(app_id, user_id) else INACTIVE
            known = uow.provisioning.get(app_id, user_id)
            url, env, delete = row.provisioning_scim_url, row.provisioning_token_env or "", \
                row.provisioning_deprovision == "delete"
        if known is None and want == INACTIVE:
            return Sent()  # already caught up (an earlier message of the lane did it)
        vendor = self._vendor(url, env)
        if isinstance(vendor, Refused):
            self._settle(app_id, user_id, want, FAILED, vendor.detail)
            return Drop(vendor.detail)
        person = self._person(user_id)
        result = vendor.activate(person) if want == ACTIVE else vendor.deactivate(person, delete=delete)
        match result:
            case Done(vendor_id=vendor_id):
                self._settle(app_id, user_id, want, PROVISIONED, None, vendor_id)
                return Sent()
            case Refused(detail=detail):
                self._settle(app_id, user_id, want, FAILED, detail)
                return Drop(detail)
            case Again(error=error, retry_after=retry_after):
                if self.k.now() - message.created_at >= GIVE_UP_AFTER:
                    reason = f"gave up after {message.attempts + 1} tries: {error}"
                    self._settle(app_id, user_id, want, FAILED, reason)
                    return Drop(reason)
                with self.k.uow(write=True) as uow:
                    uow.provisioning.note(app_id, user_id, error, self.k.now())
                    uow.commit()
                return Retry(error, retry_after)
        raise TypeError(f"not a vendor result: {result!r}")

    def _settle(self, app_id: int, user_id: str, want: str, state: str, reason: str | None,
                vendor_id: str | None = None) -> None:
        with self.k.uow(write=True) as uow:
            uow.provisioning.settle(app_id, user_id, want, state, reason, vendor_id, self.k.now())
            uow.commit()

    def _vendor(self, url: str, env: str) -> Vendor | Refused:
        token = os.environ.get(env, "") if env else ""
        if not token:
            return Refused(f"{env or 'the token variable'} is not set")
        if self.vendors is None:
            return Refused("provisioning is not connected in this process")
        key = (url, token)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.vendors(url, token)
        return client

    def _person(self, user_id: str) -> Person:
        user = self.k.directory.user(user_id)
        if user is None:
            return Person(user_id)
        return Person(user_id, user.email, user.name, user.real_name)

    # ------------------------------------------------------------------ operators and admins
    def _provisioned(self, uow: UnitOfWork, query: str) -> AppRow:
        row = self.k.resolve(uow, query)
        if not row.provisioning_scim_url:
            raise NotProvisioned(row.name)
        return row

    def status(self, query: str) -> ProvisioningStatus:
        with self.k.uow() as uow:
            row = self._provisioned(uow, query)
            return self._status(uow, row)

    def state_of(self, query: str) -> ProvisioningStatus | None:
        """For a details view: None when the app is not provisioned."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            return self._status(uow, row) if row.provisioning_scim_url else None

    def _status(self, uow: UnitOfWork, row: AppRow) -> ProvisioningStatus:
        counts = uow.provisioning.counts(row.id)
        failures = [(r.user_id, r.reason or "") for r in uow.provisioning.rows(row.id, FAILED, FAILURES_SHOWN)]
        retrying = [(r.user_id, r.reason) for r in uow.provisioning.rows(row.id, PENDING, FAILURES_SHOWN, noted=True)
                    if r.reason]
        env = row.provisioning_token_env or ""
        return ProvisioningStatus(
            row.name, row.provisioning_scim_url or "", env, row.provisioning_deprovision or "deactivate",
            counts.get(PENDING, 0), counts.get(PROVISIONED, 0), counts.get(FAILED, 0), failures,
            bool(env and os.environ.get(env)), retrying,
        )

    def retry(self, actor: Actor, query: str) -> tuple[int, int]:
        """Re-queues the failed users of the app and hurries its pending ones; (re-queued, hurried)."""
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.RETRY_PROVISIONING)
            row = uow.apps.lock(self._provisioned(uow, query).id)  # the app's lock orders its lanes
            failed = uow.provisioning.rows(row.id, FAILED)
            seated = uow.licenses.seated_users(row.id)
            wants = {r.user_id: ACTIVE if r.user_id in seated else INACTIVE for r in failed}
            hurried = uow.outbox.hurry(f"provision:{row.id}:", Kind.PROVISION)
            if wants:
                self._queue(uow, row.id, wants, self.k.now())
            self.k.audit(uow, actor, "provision.retry", row, sorted(wants), {"requeued": len(wants),
                                                                               "hurried": hurried})
            uow.commit()
        return len(wants), hurried

    def reconcile(self, actor: Actor, query: str, *, fix: bool = False) -> Drift:
        """Drift both ways between the seats and the vendor's active users; `fix` corrects the vendor."""
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.RETRY_PROVISIONING)
            row = self._provisioned(uow, query)
            seated = uow.licenses.seated_users(row.id)
            app_id, name, url, env = row.id, row.name, row.provisioning_scim_url or "", row.provisioning_token_env or ""
            delete = row.provisioning_deprovision == "delete"
        vendor = self._vendor(url, env)
        if isinstance(vendor, Refused):
            raise VendorUnreachable(name, vendor.detail)
        users = vendor.users()
        if isinstance(users, Again | Refused):
            raise VendorUnreachable(name, users.error if isinstance(users, Again) else users.detail)
        people = {u: self._person(u) for u in seated}
        emails = {p.email.casefold(): u for u, p in people.items() if p.email}
        drift, active_for = Drift(name), set()
        for user in users:
            holder = user.external_id if user.external_id in seated else emails.get(user.user_name.casefold())
            if holder is not None and user.active:
                active_for.add(holder)
            elif holder is None and user.active:
                drift.active_without_seat.append(user)
        drift.seat_without_active = sorted(seated - active_for)
        if fix:
            for user in drift.active_without_seat:
                gone = Person(user.external_id or "", user.user_name)
                result = vendor.deactivate(gone, delete=delete)
                self._record_fix(drift, user.user_name, result, "deleted" if delete else "deactivated")
            if drift.seat_without_active:  # serve provisions them, with the Slack directory's emails and names
                with self.k.uow(write=True) as uow:
                    self.k.require(uow, actor, Action.RETRY_PROVISIONING)
                    row = uow.apps.lock(app_id)  # the app's lock orders its lanes
                    seated = uow.licenses.seated_users(app_id)
                    queued = [u for u in drift.seat_without_active if u in seated]
                    self._queue(uow, app_id, dict.fromkeys(queued, ACTIVE), self.k.now())
                    self.k.audit(uow, actor, "provision.reconcile", row, queued,
                                 {"queued": queued, "fixed": [w for w, _ in drift.fixed]})
                    uow.commit()
                drift.fixed.extend((u, "queued") for u in queued)
        return drift

    @staticmethod
    def _record_fix(drift: Drift, who: str, result: VendorResult, action: str) -> None:
        match result:
            case Done():
                drift.fixed.append((who, action))
            case Again(error=error):
                drift.not_fixed.append((who, error))
            case Refused(detail=detail):
                drift.not_fixed.append((who, detail))
