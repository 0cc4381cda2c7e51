"""The outbox: every message that follows a change is a row written in the change's transaction
(`Kernel.notify`), delivered afterwards by `licensebot serve` (bot/delivery.py runs the workers; a door
sends each message and says how it went).

The rules of delivery live here:
- a message is claimed only when it heads its lane (no older message of the lane pending), so a lane is
  delivered in order, one message at a time;
- PostgreSQL: the claim locks the row (FOR UPDATE SKIP LOCKED) for as long as the message is sent, and
  the outcome is written in that same transaction: several processes deliver at once, each message once.
  A crash rolls the claim back: the message in flight is sent again, nothing else;
- SQLite: one process delivers (a lock on the database file, see Deliverer); its workers keep each other
  off the lanes being sent, and write the outcome once it is known;
- a failure that may pass (Slack rate limits, 5xx, timeouts) is retried with exponential backoff and
  jitter, honouring Slack's Retry-After; one that will not (channel_not_found…) is recorded and dropped,
  as is a message still failing GIVE_UP_AFTER after it was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.kernel import Kernel
from bot.notify import Kind
from storage.models import OutboxRow
from storage.repositories.outbox import DELIVERED, DROPPED
from storage.uow import UnitOfWork

log = logging.getLogger("licensebot")

BACKOFF_FIRST = 2.0  # seconds before the first retry (then doubling: 2, 4, 8 … up to the cap), jittered
BACKOFF_CAP = 300.0
GIVE_UP_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    kind: str  # a Kind (a str): one this version does not know is dropped by the door, not crashed on
    recipient: str
    lane: str
    facts: dict[str, Any]
    attempts: int  # tries that failed so far
    created_at: dt.datetime

    @property
    def request_id(self) -> int:
        return int(self.facts["request"])


# ------------------------------------------------------------------ what a door says about one message
@dataclass(frozen=True)
class Sent:
    """Delivered (or nothing left to say). A posted message's channel and ts: an approver's copy is
    recorded with them, in the transaction that marks it delivered."""

    channel: str = ""
    ts: str = ""


@dataclass(frozen=True)
class Retry:
    """May pass: try again later (after `retry_after` seconds at least, when Slack said so)."""

    error: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Drop:
    """Will not change (e.g. channel_not_found): recorded on the message, never tried again."""

    error: str


Outcome = Sent | Retry | Drop


def backoff(failures: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
    """Seconds until the next try after `failures` failed ones: Retry-After and a little more when Slack
    gave one; otherwise exponential with "equal jitter" (half the step fixed, half random), so the
    messages that failed together do not come back together."""
    if retry_after is not None:
        return max(retry_after, 1.0) + rand() * min(5.0, 0.1 * retry_after + 0.5)
    step = min(BACKOFF_CAP, BACKOFF_FIRST * 2.0 ** max(0, failures - 1))
    return float(step / 2 + rand() * step / 2)


@dataclass(frozen=True)
class DroppedMessage:
    id: int
    kind: str
    recipient: str
    done_at: dt.datetime
    error: str


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_pending_seconds: float | None
    delivered_last_day: int
    dropped_last_day: int
    recent_drops: list[DroppedMessage]

    def as_json(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "oldest_pending_seconds": self.oldest_pending_seconds,
            "delivered_last_day": self.delivered_last_day,
            "dropped_last_day": self.dropped_last_day,
            "recent_drops": [
                {"id": d.id, "kind": d.kind, "recipient": d.recipient, "at": d.done_at.isoformat(), "error": d.error}
                for d in self.recent_drops
            ],
        }


class Claim:
    """One message claimed for delivery; `finish(outcome)` writes how it went."""

    def __init__(self, outbox: OutboxService, message: OutboxMessage, uow: UnitOfWork | None) -> None:
        self.outbox = outbox
        self.message = message
        self._uow = uow  # PostgreSQL: the transaction holding the row's lock

    def finish(self, outcome: Outcome) -> str:
        """Delivered, retried later or dropped: returns which ("delivered", "retry", "dropped")."""
        if self._uow is not None:
            result = self.outbox._apply(self._uow, self.message, outcome)
            self._uow.commit()
            return result
        with self.outbox.k.uow(write=True) as uow:
            result = self.outbox._apply(uow, self.message, outcome)
            uow.commit()
        return result


class OutboxService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._busy: set[str] = set()  # SQLite: lanes this process's workers are sending
        self._busy_guard = threading.Lock()

    def on_write(self, callback: Callable[[], None]) -> None:
        """`callback` runs after a unit of work of this process commits messages (the deliverer wakes)."""
        self.k.outbox_listeners.append(callback)

    # ------------------------------------------------------------------ delivering
    @contextlib.contextmanager
    def claim(self) -> Iterator[Claim | None]:
        """The next message to deliver, or None when nothing is due. Finish it inside the `with`."""
        if self.k.uow.skip_locked:
            with self.k.uow(write=True) as uow:
                row = uow.outbox.claim(self.k.now(), skip_locked=True)
                yield None if row is None else Claim(self, _message(row), uow)
            return
        with self._busy_guard:
            with self.k.uow(lone_read=True) as uow:
                row = uow.outbox.claim(self.k.now(), skip_locked=False, busy_lanes=self._busy)
                message = None if row is None else _message(row)
            if message is not None:
                self._busy.add(message.lane)
        if message is None:
            yield None
            return
        try:
            yield Claim(self, message, None)
        finally:
            with self._busy_guard:
                self._busy.discard(message.lane)

    def _apply(self, uow: UnitOfWork, message: OutboxMessage, outcome: Outcome) -> str:
        now = self.k.now()
        match outcome:
            case Sent(channel=channel, ts=ts):
                if message.kind == Kind.APPROVAL and channel and ts:
                    self._record_copy(uow, message, channel, ts)
                uow.outbox.finish(message.id, DELIVERED, now)
                return "delivered"
            case Drop(error=error):
                uow.outbox.finish(message.id, DROPPED, now, error)
                return "dropped"
            case Retry(error=error, retry_after=retry_after):
                if now - message.created_at >= GIVE_UP_AFTER:
                    uow.outbox.finish(message.id, DROPPED, now, f"gave up after {message.attempts + 1} tries: {error}")
                    return "dropped"
                later = now + dt.timedelta(seconds=backoff(message.attempts + 1, retry_after))
                uow.outbox.reschedule(message.id, later, error)
                return "retry"
        raise TypeError(f"not an outcome: {outcome!r}")

    @staticmethod
    def _record_copy(uow: UnitOfWork, message: OutboxMessage, channel: str, ts: str) -> None:
        """Where an approver's copy landed, to update it later (once: a copy sent again after a crash
        replaces nothing)."""
        request_id = message.request_id
        if uow.requests.get(request_id) is None or uow.requests.message_of(request_id, message.recipient):
            return
        uow.requests.add_message(request_id, message.recipient, channel, ts)

    # ------------------------------------------------------------------ housekeeping and reading
    def prune(self, retention: dt.timedelta) -> int:
        """Deletes delivered and dropped messages finished longer than `retention` ago; how many."""
        before, total = self.k.now() - retention, 0
        while True:
            with self.k.uow(write=True) as uow:
                gone = uow.outbox.prune(before)
                uow.commit()
            total += gone
            if not gone:
                return total

    def queued(self, limit: int = 1000) -> list[OutboxMessage]:
        """Messages waiting to be delivered, oldest first."""
        with self.k.uow() as uow:
            return [_message(row) for row in uow.outbox.pending(limit)]

    def status(self, drops: int = 10) -> OutboxStatus:
        now = self.k.now()
        day_ago = now - dt.timedelta(days=1)
        with self.k.uow() as uow:
            pending, oldest, delivered, dropped = uow.outbox.counts(day_ago)
            recent = [
                DroppedMessage(r.id, r.kind, r.recipient, r.done_at or now, r.last_error or "")
                for r in uow.outbox.dropped(day_ago, drops)
            ]
        age = None if oldest is None else max(0.0, (now - oldest).total_seconds())
        return OutboxStatus(pending, age, delivered, dropped, recent)


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(row.id, row.kind, row.recipient, row.lane, dict(row.facts), row.attempts,
                         row.created_at)
