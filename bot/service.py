"""The licensing core as the doors see it: one object holding each service, all over one kernel.

    service.catalog       apps, details, a person's licenses, imports     (bot/catalog.py)
    service.records       app records: import, add, edit, retire          (bot/app_records.py)
    service.assignments   assign, unassign, seat totals                   (bot/assignments.py)
    service.membership    groups following the workspace, claims          (bot/membership.py)
    service.roles         roles and what a person may do                  (bot/roles.py)
    service.audit         reading the audit log                           (bot/audit.py)
    service.requests      requests, approvals, expiry                     (bot/requests.py)
    service.outbox        the messages that follow changes, delivered     (bot/outbox.py)
    service.bulk          assignments from a file, who holds what         (bot/bulk.py)
    service.provisioning  seats made real at the vendor (SCIM)            (bot/provisioning.py)
    service.usage_rights  the usage-rights API's tokens and answers       (bot/usage_rights.py)
    service.lifecycle     the timed work: expiry, reminders, reclaims, alerts (bot/lifecycle.py)
    service.expiry        time-limited licenses ending, reminders before  (bot/expiry.py)
    service.usage         usage imported from vendors, idle holders       (bot/usage.py)
    service.reclaims      "Keep or release?": asks, answers, deadlines     (bot/reclaims.py)
    service.alerts        renewal, low-license and waitlist alerts        (bot/alerts.py)

Each public method is one unit of work; roles are checked inside it, when the change runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bot.alerts import AlertService
from bot.app_records import AppRecordService
from bot.assignments import AssignmentService
from bot.audit import AuditService
from bot.bulk import BulkService
from bot.catalog import CatalogService
from bot.directory import Directory
from bot.expiry import ExpiryService
from bot.kernel import Clock, Kernel, utcnow
from bot.lifecycle import LifecycleService
from bot.membership import MembershipService
from bot.outbox import OutboxService
from bot.provisioning import ProvisioningService
from bot.reclaims import DEFAULT_RECLAIM_DAYS, ReclaimService
from bot.requests import RequestService
from bot.roles import RoleService
from bot.usage import UsageService
from bot.usage_rights import UsageRightsService
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("licensebot")
DEFAULT_REQUEST_TTL_HOURS = 168


class LicensingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        directory: Directory,
        *,
        global_admins: Iterable[str] = (),
        clock: Clock = utcnow,
        request_ttl_hours: int = DEFAULT_REQUEST_TTL_HOURS,
        reclaim_days: int = DEFAULT_RECLAIM_DAYS,
        alerts_channel: str | None = None,
    ) -> None:
        self.kernel = Kernel(uow, directory, global_admins=global_admins, clock=clock)
        self.catalog = CatalogService(self.kernel)
        self.records = AppRecordService(self.kernel)
        self.assignments = AssignmentService(self.kernel)
        self.membership = MembershipService(self.kernel)
        self.roles = RoleService(self.kernel)
        self.audit = AuditService(self.kernel)
        self.requests = RequestService(self.kernel, self.assignments, ttl_hours=request_ttl_hours)
        self.outbox = OutboxService(self.kernel)
        self.bulk = BulkService(self.kernel, self.assignments)
        self.provisioning = ProvisioningService(self.kernel)
        self.usage_rights = UsageRightsService(self.kernel)
        # the timed work: each concern adds its step here, in the order they should run
        self.lifecycle = LifecycleService(self.kernel)
        # issue 13, time-limited licenses: assignments ending after their day, reminders before (bot/expiry.py)
        self.expiry = ExpiryService(self.kernel)
        self.lifecycle.add_step("expiry", self.expiry.expire_due)
        self.lifecycle.add_step("expiry-reminders", self.expiry.remind_due)
        self.usage = UsageService(self.kernel)
        self.reclaims = ReclaimService(self.kernel, reclaim_days)
        self.lifecycle.add_step("reclaims", self.reclaims.run_due)
        self.alerts = AlertService(self.kernel, alerts_channel)
        self.lifecycle.add_step("renewal-alerts", self.alerts.run_renewals)
        self.lifecycle.add_step("seat-alerts", self.alerts.run_seat_alerts)

    @property
    def directory(self) -> Directory:
        return self.kernel.directory

    def on_seats_changed(self, listener: Callable[[tuple[str, ...]], None]) -> None:
        """`listener(user_ids)` after each commit of this process that gave or took those users' seats."""
        self.kernel.seat_listeners.append(listener)

    def database_ok(self) -> bool:
        """For /healthz: can the bot reach its database right now?"""
        try:
            self.kernel.uow.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            log.warning("database unreachable: %s", error)
            return False
        return True
