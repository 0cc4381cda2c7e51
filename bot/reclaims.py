""" "Keep or release?" (SPEC §9): an admin asks every direct holder of an app — or only those idle at least
DAYS by the imported usage (bot/usage.py) — whether they still use it.

- `start` opens one reclaim per app (a partial unique index backs the check made under the app's lock): an
  ask per holder, their DMs written to the outbox in the same transaction. Holders licensed only through a
  group are not asked: they are kept on the reclaim for the summary.
- `answer` is a holder's click: under the app's lock, the ask changes from "asked" once (a conditional
  update); "Release it" ends the holder's direct assignment as an unassignment does (another source keeps
  the seat, a freed seat goes to the waitlist, provisioning follows through the repository). The clicker
  must be the holder asked. The last answer ends the reclaim at once.
- `run_due` is the lifecycle step "reclaims": a reminder at half the time (once: `reminded_at` set by a
  conditional update), and at the deadline the silent holders released and the reclaim ended (once:
  `status` open → ended by a conditional update), each in its own unit of work with its messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.domain import Action, Actor
from bot.kernel import Kernel
from bot.notify import ReclaimClosed, ReclaimReminder, ReclaimStarted
from bot.reclaim_errors import AskAnswered, AskGone, InvalidIdleDays, NobodyToAsk, NotYourAsk, ReclaimOpen
from storage.models import AppRow, ReclaimRow
from storage.uow import UnitOfWork

DEFAULT_RECLAIM_DAYS = 7
MAX_IDLE_DAYS = 3650
ASKED, KEPT, RELEASED, NO_ANSWER = "asked", "kept", "released", "no-answer"


@dataclass(frozen=True)
class ReclaimStart:
    """What starting a reclaim did: who was asked, who holds the app only through a group (not asked)."""

    app: str
    reclaim_id: int
    asked: list[str]
    group_holders: list[str]
    ends_at: dt.datetime
    idle_days: int | None


@dataclass(frozen=True)
class Ask:
    """One holder's question, as it stands: what their DM shows."""

    id: int
    app: str
    user_id: str
    state: str  # asked | kept | released | no-answer
    open: bool  # the reclaim is still open
    ends_at: dt.datetime
    released_at: dt.datetime | None = None


@dataclass(frozen=True)
class ReclaimSummary:
    app: str
    started_by: str
    idle_days: int | None
    ends_at: dt.datetime
    open: bool
    kept: list[str]
    released: list[str]
    no_answer: list[str]
    waiting: list[str]  # asked, not answered yet (an open reclaim)
    group_holders: list[str]


def parse_idle_days(value: object) -> int | None:
    """`idle DAYS` as typed: empty is None (everyone), else a whole number from 1 to MAX_IDLE_DAYS."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or not 1 <= int(text) <= MAX_IDLE_DAYS:
        raise InvalidIdleDays(text[:20], MAX_IDLE_DAYS)
    return int(text)


class ReclaimService:
    def __init__(self, kernel: Kernel, days: int = DEFAULT_RECLAIM_DAYS) -> None:
        self.k = kernel
        self.days = days

    # ------------------------------------------------------------------ start
    def start(self, actor: Actor, query: str, idle_days: object = None, *,
              idempotency_key: str | None = None) -> ReclaimStart:
        idle = parse_idle_days(idle_days)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.RECLAIM)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            replay = self.k.replay(uow, idempotency_key)
            if replay is not None:
                reclaim = uow.reclaims.get(int(replay["reclaim"]))
                assert reclaim is not None
                return self._started(uow, row, reclaim)
            current = uow.reclaims.open_of(row.id)
            if current is not None:
                raise ReclaimOpen(row.name, current.ends_at)
            direct = uow.reclaims.direct_holders(row.id)
            group_only = sorted(uow.licenses.seated_users(row.id) - set(direct))
            if idle is not None:
                cutoff = self.k.now().date() - dt.timedelta(days=idle)
                seen = uow.usage.last_active(row.id, direct)
                direct = [u for u in direct if u in seen and seen[u] <= cutoff]
            if not direct:
                raise NobodyToAsk(row.name, idle, len(group_only))
            now = self.k.now()
            span = dt.timedelta(days=self.days)
            reclaim = ReclaimRow(app_id=row.id, started_by=actor.user_id, started_at=now, remind_at=now + span / 2,
                                 ends_at=now + span, idle_days=idle, status="open", group_holders=group_only)
            uow.reclaims.add(reclaim, direct)
            detail = {"asked": direct, "not_asked_group": group_only, "idle_days": idle,
                      "ends_at": reclaim.ends_at.isoformat()}
            self.k.audit(uow, actor, "reclaim.start", row, direct, detail)
            self.k.notify(uow, ReclaimStarted(reclaim.id))
            self.k.remember(uow, idempotency_key, "reclaim.start", {"reclaim": reclaim.id})
            started = self._started(uow, row, reclaim)
            uow.commit()
        return started

    @staticmethod
    def _started(uow: UnitOfWork, row: AppRow, reclaim: ReclaimRow) -> ReclaimStart:
        asked = [a.user_id for a in uow.reclaims.asks(reclaim.id)]
        return ReclaimStart(row.name, reclaim.id, asked, list(reclaim.group_holders), reclaim.ends_at,
                            reclaim.idle_days)

    # ------------------------------------------------------------------ a holder's answer
    def answer(self, actor: Actor, ask_id: int, keep: bool) -> Ask:
        """ "Keep my license" (keep) or "Release it", by the holder asked only; once, while the reclaim is open."""
        with self.k.uow(write=True) as uow:
            found = uow.reclaims.ask(ask_id)
            reclaim = uow.reclaims.get(found.reclaim_id) if found is not None else None
            if found is None or reclaim is None:
                raise AskGone()
            row = uow.apps.lock(reclaim.app_id)
            found = uow.reclaims.ask(ask_id, fresh=True)  # as they are now that the app's lock is held
            reclaim = uow.reclaims.get(reclaim.id, fresh=True)
            assert found is not None and reclaim is not None  # an app's reclaims go only with the app
            if actor.user_id != found.user_id:
                raise NotYourAsk(found.user_id, row.name)
            if reclaim.status != "open" or found.state != ASKED:
                raise AskAnswered(row.name, found.state, reclaim.status != "open")
            state = KEPT if keep else RELEASED
            if not uow.reclaims.answer(found.id, state, self.k.now()):
                raise AskAnswered(row.name, found.state, False)  # cannot happen under the lock; never twice
            if keep:
                self.k.audit(uow, actor, "reclaim.keep", row, [found.user_id], {"reclaim": reclaim.id})
            else:
                self._release(uow, actor, row, reclaim, [found.user_id], "answer")
            if not uow.reclaims.unanswered(reclaim.id):  # everyone answered: it ends now
                self._end(uow, row, reclaim)
            uow.commit()
        return self.ask(ask_id)

    def ask(self, ask_id: int) -> Ask:
        """One question as it stands (its DM is drawn from it)."""
        with self.k.uow() as uow:
            found = uow.reclaims.ask(ask_id)
            reclaim = uow.reclaims.get(found.reclaim_id) if found is not None else None
            app = uow.apps.get(reclaim.app_id) if reclaim is not None else None
            if found is None or reclaim is None or app is None:
                raise AskGone()
            return Ask(found.id, app.name, found.user_id, found.state, reclaim.status == "open", reclaim.ends_at,
                       found.answered_at)

    def summary(self, reclaim_id: int) -> ReclaimSummary:
        with self.k.uow() as uow:
            reclaim = uow.reclaims.get(reclaim_id)
            app = uow.apps.get(reclaim.app_id) if reclaim is not None else None
            if reclaim is None or app is None:
                raise AskGone()
            by_state: dict[str, list[str]] = {}
            for a in uow.reclaims.asks(reclaim_id):
                by_state.setdefault(a.state, []).append(a.user_id)
            return ReclaimSummary(app.name, reclaim.started_by, reclaim.idle_days, reclaim.ends_at,
                                  reclaim.status == "open", by_state.get(KEPT, []), by_state.get(RELEASED, []),
                                  by_state.get(NO_ANSWER, []), by_state.get(ASKED, []), list(reclaim.group_holders))

    # ------------------------------------------------------------------ the lifecycle step
    def run_due(self) -> int:
        """Reminders at half time, deadlines: each once, across processes. Returns how many things it did."""
        now = self.k.now()
        with self.k.uow(lone_read=True) as uow:
            reminders = uow.reclaims.due_reminders(now)
        done = sum(self._remind(reclaim_id) for reclaim_id in reminders)
        with self.k.uow(lone_read=True) as uow:
            ends = uow.reclaims.due_ends(now)
        return done + sum(self._close(reclaim_id) for reclaim_id in ends)

    def _remind(self, reclaim_id: int) -> int:
        with self.k.uow(write=True) as uow:
            reclaim = uow.reclaims.get(reclaim_id)
            if reclaim is None:
                return 0
            uow.apps.lock(reclaim.app_id)  # the holders' lanes are written under the app's lock
            if not uow.reclaims.mark_reminded(reclaim_id, self.k.now()):
                return 0  # another process reminded them, or it ended
            self.k.notify(uow, ReclaimReminder(reclaim_id))
            uow.commit()
        return 1

    def _close(self, reclaim_id: int) -> int:
        """At the deadline (or with nobody left to answer): the silent holders released, the reclaim ended."""
        with self.k.uow(write=True) as uow:
            reclaim = uow.reclaims.get(reclaim_id)
            if reclaim is None:
                return 0
            row = uow.apps.lock(reclaim.app_id)
            reclaim = uow.reclaims.get(reclaim_id, fresh=True)
            if reclaim is None or reclaim.status != "open":
                return 0
            now = self.k.now()
            if reclaim.ends_at > now and uow.reclaims.unanswered(reclaim_id):
                return 0  # someone may still answer
            # answers take the app's lock too: the silent ones read here are the ones the update changes
            silent = [a.user_id for a in uow.reclaims.asks(reclaim_id, ASKED)]
            if uow.reclaims.answer_all(reclaim_id, NO_ANSWER, now):
                self._release(uow, Actor("licensebot", via="lifecycle"), row, reclaim, silent, "no-answer")
            if not self._end(uow, row, reclaim):
                return 0
            uow.commit()
        return 1

    # ------------------------------------------------------------------ inside a locked unit of work
    def _release(self, uow: UnitOfWork, actor: Actor, row: AppRow, reclaim: ReclaimRow, users: list[str],
                 reason: str) -> None:
        """Ends these holders' direct assignments, as an unassignment does: another source keeps the seat, a
        freed seat goes to the oldest waiter."""
        uow.reclaims.end_direct_assignments(row.id, users)  # those an admin unassigned meanwhile: nothing
        freed = sorted(uow.licenses.release_orphan_seats(row.id))
        detail = {"reclaim": reclaim.id, "reason": reason, "freed": freed}
        self.k.audit(uow, actor, "reclaim.release", row, [*users, *freed], detail)
        self.k.fill_waitlist(uow, actor, row)

    def _end(self, uow: UnitOfWork, row: AppRow, reclaim: ReclaimRow) -> bool:
        if not uow.reclaims.end(reclaim.id, self.k.now()):
            return False
        self.k.notify(uow, ReclaimClosed(reclaim.id))
        return True
