"""Alerts (SPEC §9): an app's renewal coming, its licenses running low, people starting to wait.

Where they go: the alerts channel (LICENSEBOT_ALERTS_CHANNEL) when there is one, one message; else each
billing admin and global admin, by DM. Always through the outbox, in the transaction that decided them.

- **Renewal**: 90, 30 and 7 days before an app's renewal date, each milestone once per (app, renewal date):
  a `renewal_alerts` row whose unique key refuses a second one, written with the messages. A renewal date
  set 20 days away gets the 30-day milestone only (never the 90-day one late); a new renewal date gets its
  own milestones; a retired app gets none. A lifecycle step ("renewal-alerts").
- **Low licenses** (available at or below the app's threshold) and **waitlist** (someone waits): once per
  crossing. Each app has two flags (`alert_states`); an alert is told when its flag turns on — a
  conditional update, so only one transaction ever turns it on — and re-armed when it turns off. Decided
  at the change: `apps_changed` runs just before a unit of work that locked apps commits (every change to
  seats, waitlists or totals holds the app's lock), with a constant number of reads for all the apps it
  locked. The lifecycle step "seat-alerts" looks at every app the same way, as the safety net (a change made
  without the lock, like a new app, or a threshold edited in the database), and never tells twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.domain import AppSummary, Role
from bot.kernel import Kernel
from bot.notify import Alert, AppAlert
from storage.uow import UnitOfWork

MILESTONES = (90, 30, 7)  # days before a renewal date
ALERT_ROLES = (Role.BILLING_ADMIN.value, Role.GLOBAL_ADMIN.value)


def low_threshold(total: int, threshold: int | None) -> int:
    """The app's own threshold, else 10% of its licenses rounded up, and at least 1 (25 licenses: 3)."""
    if threshold is not None:
        return threshold
    return max(1, -(-total // 10))


def is_low(total: int, assigned: int, threshold: int | None) -> bool:
    """Available licenses at or below the threshold. An app with no licenses at all has nothing to run low on."""
    return total > 0 and max(0, total - assigned) <= low_threshold(total, threshold)


def is_open(app: AppSummary) -> bool:
    """An open alert (the Home tab): licenses low, or people waiting."""
    return is_low(app.total, app.assigned, app.low_seat_threshold) or app.waiting > 0


def milestone_due(days_left: int) -> int | None:
    """The milestone to tell with `days_left` days to go: the nearest one not passed yet (none after the date)."""
    if days_left < 0:
        return None
    return next((m for m in sorted(MILESTONES) if days_left <= m), None)


class AlertService:
    def __init__(self, kernel: Kernel, channel: str | None = None) -> None:
        self.k = kernel
        self.channel = channel or None
        kernel.uow.before_commit["alerts"] = self.apps_changed  # one per database, however many services

    def recipients(self, uow: UnitOfWork) -> tuple[str, ...]:
        """The alerts channel, else every billing admin and global admin (read in this unit of work)."""
        if self.channel:
            return (self.channel,)
        return tuple(sorted(set(uow.roles.users_with(ALERT_ROLES)) | self.k.env_global_admins))

    def app(self, app_id: int) -> AppSummary | None:
        """An alert's app with its numbers now, for the message; None once it is retired or gone."""
        with self.k.uow(lone_read=True) as uow:
            found = uow.apps.summaries_of([app_id])
            if not found or found[0][0].retired_at is not None:
                return None
            row, assigned, waiting = found[0]
            return self.k.summary(row, assigned, waiting)

    # ------------------------------------------------------------------ low licenses, waitlists
    def apps_changed(self, uow: UnitOfWork) -> None:
        """Before-commit hook: the alerts of the apps this unit of work locked (it holds their locks), and of
        any whose seats it changed."""
        self._evaluate(uow, list(dict.fromkeys([*uow.apps.locked, *(app for app, _ in uow.licenses.seat_changes)])))

    def _evaluate(self, uow: UnitOfWork, app_ids: Sequence[int]) -> int:
        """Turns each app's flags to what its numbers say now; tells of each one turned on. Two reads for
        all the apps, a write only for a flag that changes."""
        if not app_ids:
            return 0
        uow.flush()
        states = uow.alerts.states(app_ids)
        now, told = self.k.now(), 0
        recipients: tuple[str, ...] | None = None
        for row, assigned, someone_waits in uow.alerts.numbers(app_ids):  # apps in service only
            wanted = (is_low(row.total_seats, assigned, row.low_seat_threshold), someone_waits)
            had = states.get(row.id)
            if (had or (False, False)) == wanted:
                continue
            if had is None:
                uow.alerts.add_states([row.id], now)
            was = had or (False, False)
            for flag, alert, on, before in (("low", Alert.LOW, wanted[0], was[0]),
                                            ("waiting", Alert.WAITLIST, wanted[1], was[1])):
                if on != before and uow.alerts.flip(row.id, flag, on, now) and on:
                    recipients = recipients if recipients is not None else self.recipients(uow)
                    self.k.notify(uow, AppAlert(row.id, alert, recipients))
                    told += 1
        return told

    def run_seat_alerts(self) -> int:
        """The lifecycle step "seat-alerts": every app whose flags disagree with its numbers, under its lock
        (an app at a time, in its own unit of work). Returns how many alerts it told."""
        with self.k.uow() as uow:
            states = uow.alerts.states()
            stale = [row.id for row, assigned, someone_waits in uow.alerts.numbers()
                     if states.get(row.id, (False, False))
                     != (is_low(row.total_seats, assigned, row.low_seat_threshold), someone_waits)]
        told = 0
        for app_id in stale:
            with self.k.uow(write=True) as uow:
                try:
                    uow.apps.lock(app_id)
                except LookupError:  # deleted since
                    continue
                told += self._evaluate(uow, [app_id])
                uow.commit()  # the hook looks again and finds nothing left to tell
        return told

    # ------------------------------------------------------------------ renewals
    def run_renewals(self) -> int:
        """The lifecycle step "renewal-alerts": each milestone due and not told yet, once. Returns how many."""
        today = self.k.now().date()
        with self.k.uow() as uow:
            renewing = uow.alerts.renewing(today, today + dt.timedelta(days=max(MILESTONES)))
            told = uow.alerts.milestones_told([app_id for app_id, _ in renewing])
        due = [(app_id, day, milestone) for app_id, day in renewing
               if (milestone := milestone_due((day - today).days)) is not None
               and (app_id, day, milestone) not in told]
        sent = 0
        for app_id, day, milestone in due:
            with self.k.uow(write=True) as uow:
                try:
                    row = uow.apps.lock(app_id)  # orders the app's alert lanes; sees a retire or a new date
                except LookupError:
                    continue
                if row.retired_at is not None or row.renewal_date != day:
                    continue
                if uow.alerts.tell_milestone(app_id, day, milestone, self.k.now()):
                    self.k.notify(uow, AppAlert(app_id, Alert.RENEWAL, self.recipients(uow),
                                                renewal_date=day.isoformat(), days=(day - today).days))
                    sent += 1
                uow.commit()
        return sent
