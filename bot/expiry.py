"""Time-limited licenses (SPEC §9, issue 13): assignments end after their `until` day, and their direct
holders hear of it 7 days and 1 day before.

Two life-cycle steps (bot/lifecycle.py), each correct beside another process running it at the same moment:

- `expire_due` ("expiry"): one unit of work per app, under the app's lock (as an unassignment takes it).
  The assignments read under that lock are the ones still there: a second process, granted the lock after
  the first committed, finds nothing left. Each ended assignment goes like an unassignment (other sources
  keep the seat, the waitlist refills, provisioning follows through the before-commit hook), one audit
  entry `assignment.expire` each, and the holders who lost their seat are told, in the same transaction.
- `remind_due` ("expiry-reminders"): a reminder is recorded by a conditional UPDATE (still owed, for this
  very end date) in the same transaction as its outbox message: once, whatever runs twice.

A license "until 2026-12-31" is valid through that day (UTC): it ends on the first run of 2027-01-01.
A reminder is owed only when the license already had its end date on the reminder's day: a license given
3 days before its end gets the 1-day reminder, never a late 7-day one. A changed end date re-arms them.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.domain import Actor, SourceKind
from bot.kernel import Kernel
from bot.notify import LicenseEnding, LicensesEnded
from storage.repositories.lifetimes import Ending

log = logging.getLogger("licensebot.lifecycle")

BOT = Actor("licensebot", via="lifecycle")  # who the audit log says ended a license
REMINDER_DAYS = (7, 1)  # days before the end, largest first


def reminder_owed(ending: Ending, today: dt.date) -> int | None:
    """Which reminder (7 or 1 days before the end) is owed today, if any."""
    left = (ending.until - today).days
    if left < 0:
        return None
    armed = ending.until_set_at.date() if ending.until_set_at is not None else None
    owed = None
    for days in REMINDER_DAYS:  # the reminder of the nearest milestone reached
        if left <= days:
            owed = days
    if owed is None or (ending.reminded_days is not None and ending.reminded_days <= owed):
        return None
    if owed == REMINDER_DAYS[0] and left <= REMINDER_DAYS[1]:
        return None
    if armed is not None and armed > ending.until - dt.timedelta(days=owed):
        return None  # the end date was set after this reminder's day: it would come late
    return owed


class ExpiryService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def today(self) -> dt.date:
        return self.k.now().date()

    # ------------------------------------------------------------------ expiry
    def expire_due(self) -> int:
        """Ends every assignment whose last day is before today; returns how many this call ended."""
        today = self.today()
        with self.k.uow() as uow:
            app_ids = uow.lifetimes.apps_with_ended(today)
        return sum(self._expire_app(app_id, today) for app_id in app_ids)

    def _expire_app(self, app_id: int, today: dt.date) -> int:
        with self.k.uow(write=True) as uow:
            try:
                row = uow.apps.lock(app_id)
            except LookupError:
                return 0  # the app went meanwhile
            ended = uow.lifetimes.ended(app_id, today)
            if not ended:
                return 0  # another process ended them first
            covered = {e.assignment_id: (uow.licenses.granted_users(e.assignment_id) if e.kind == SourceKind.GROUP
                                         else {e.subject_id}) for e in ended}
            for ending in ended:
                uow.licenses.delete_assignment(ending.assignment_id)
            freed = set(uow.licenses.release_orphan_seats(app_id))
            uow.flush()
            counts = (row.total_seats, uow.licenses.seated_count(app_id))
            last_day: dict[str, str] = {}
            for ending in ended:
                lost = sorted(covered[ending.assignment_id] & freed)
                for user in lost:
                    last_day[user] = max(last_day.get(user, ""), ending.until.isoformat())
                detail = {"kind": ending.kind, "subject": ending.subject_id, "until": ending.until.isoformat(),
                          "freed": lost}
                self.k.audit(uow, BOT, "assignment.expire", row, [ending.subject_id, *lost], detail, counts=counts)
            if last_day:
                self.k.notify(uow, LicensesEnded(row.name, tuple(sorted(last_day.items()))))
            self.k.fill_waitlist(uow, BOT, row)
            uow.commit()
        log.info("expiry: %d assignment(s) of app %d ended, %d seat(s) freed", len(ended), app_id, len(freed))
        return len(ended)

    # ------------------------------------------------------------------ reminders
    def remind_due(self) -> int:
        """Sends the reminders owed today (7 and 1 days before a direct assignment's end); returns how many."""
        today = self.today()
        with self.k.uow() as uow:
            endings = uow.lifetimes.ending_direct(today, today + dt.timedelta(days=REMINDER_DAYS[0]))
        sent = 0
        for ending in endings:
            days = reminder_owed(ending, today)
            if days is not None and self._remind(ending, days):
                sent += 1
        return sent

    def _remind(self, ending: Ending, days: int) -> bool:
        # the app's lock: the holder's lane (user:ID) is written by seat changes under it too, in commit order
        with self.k.uow(write=True) as uow:
            try:
                row = uow.apps.lock(ending.app_id)
            except LookupError:
                return False
            if not uow.licenses.has_seat(ending.app_id, ending.subject_id):
                return False  # waiting for a seat: no license to end yet
            sources = uow.licenses.sources_of(ending.app_id, [ending.subject_id]).get(ending.subject_id, [])
            if any(kind != SourceKind.USER for kind, _ in sources):
                return False  # a group keeps the seat after the end: nothing ends for them
            if not uow.lifetimes.mark_reminded(ending.assignment_id, ending.until, days):
                return False  # reminded by another process, or the end date changed meanwhile
            self.k.notify(uow, LicenseEnding(row.name, ending.subject_id, ending.until.isoformat(), days))
            uow.commit()
        return True
