"""The outbox: every message that follows a change is a row written in the change's transaction
(`Kernel.notify`), delivered afterwards by `licensebot serve` (bot/delivery.py runs the workers; a door
sends each message and says how it went).

The rules of delivery live here:
- a message is leased only when it heads its lane (no older message of the lane pending), so a lane is
  delivered in order, one message at a time;
- a lease is written by one statement (PostgreSQL picks the rows with FOR UPDATE SKIP LOCKED, so
  several processes lease at once, never the same rows); the message is then sent with no transaction
  open, and its outcome written by one more statement, before the next message is sent. A crash repeats
  at most the message in flight; what a dead process had leased and not sent waits for its lease to run
  out (LEASE), then goes out from another process — on SQLite, where one process delivers, at once;
- a failure that may pass (Slack rate limits, 5xx, timeouts) is retried with exponential backoff and
  jitter, honouring Slack's Retry-After; one that will not (channel_not_found…) is recorded and dropped,
  as is a message still failing GIVE_UP_AFTER after it was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.kernel import Kernel
from bot.notify import Kind
from storage.repositories.outbox import DELIVERED, DROPPED
from storage.uow import UnitOfWork

log = logging.getLogger("licensebot")

BACKOFF_FIRST = 2.0  # seconds before the first retry (then doubling: 2, 4, 8 … up to the cap), jittered
BACKOFF_CAP = 300.0
GIVE_UP_AFTER = dt.timedelta(hours=24)
LEASE = dt.timedelta(seconds=30)  # longer than a send may take (the door's timeout) with room to spare


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


class Batch:
    """Messages leased to one deliverer, to send one after the other, settling each before the next.
    Whatever is not settled when the batch closes is given back."""

    def __init__(self, outbox: OutboxService, uow: UnitOfWork, owner: str, messages: list[OutboxMessage]) -> None:
        self.outbox = outbox
        self.messages = messages
        self._uow = uow  # autocommit: each statement stands alone
        self._owner = owner
        self._open = {m.id for m in messages}

    def settle(self, message: OutboxMessage, outcome: Outcome) -> str:
        """Writes how sending went: "delivered", "retry" or "dropped" ("lost" when the lease had run out
        and someone else took the message)."""
        self._open.discard(message.id)
        k, uow, owner = self.outbox.k, self._uow, self._owner
        now = k.now()
        match outcome:
            case Sent(channel=channel, ts=ts) if message.kind == Kind.APPROVAL and channel and ts:
                with k.uow(write=True) as tx:  # where the copy landed, recorded with its delivery
                    self.outbox.record_copy(tx, message, channel, ts)
                    done = tx.outbox.finish(message.id, owner, DELIVERED, now)
                    tx.commit()
                result = "delivered"
            case Sent():
                done, result = uow.outbox.finish(message.id, owner, DELIVERED, now), "delivered"
            case Drop(error=error):
                done, result = uow.outbox.finish(message.id, owner, DROPPED, now, error), "dropped"
            case Retry(error=error, retry_after=retry_after) if now - message.created_at >= GIVE_UP_AFTER:
                note = f"gave up after {message.attempts + 1} tries: {error}"
                done, result = uow.outbox.finish(message.id, owner, DROPPED, now, note), "dropped"
            case Retry(error=error, retry_after=retry_after):
                later = now + dt.timedelta(seconds=backoff(message.attempts + 1, retry_after))
                done, result = uow.outbox.reschedule(message.id, owner, later, error), "retry"
            case _:
                raise TypeError(f"not an outcome: {outcome!r}")
        return result if done else "lost"

    @property
    def unsettled(self) -> int:
        return len(self._open)

    def release(self) -> None:
        """Gives back every leased message not settled yet, unsent."""
        ids = [m.id for m in self.messages if m.id in self._open]
        self._uow.outbox.release(ids, self._owner)
        self._open.difference_update(ids)


class OutboxService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def on_write(self, callback: Callable[[], None]) -> None:
        """`callback` runs after a unit of work of this process commits messages (the deliverer wakes)."""
        self.k.outbox_listeners.append(callback)

    # ------------------------------------------------------------------ delivering
    @contextlib.contextmanager
    def lease(self, owner: str, limit: int = 1) -> Iterator[Batch]:
        """Up to `limit` due messages (heads of distinct lanes), leased to `owner` for LEASE; settle each
        inside the `with`. The rest is given back at its end."""
        with self.k.uow(autocommit=True) as uow:
            now = self.k.now()
            rows = uow.outbox.lease(now, now + LEASE, owner, limit, skip_locked=self.k.uow.skip_locked)
            batch = Batch(self, uow, owner, [
                OutboxMessage(r.id, r.kind, r.recipient, r.lane, dict(r.facts), r.attempts, r.created_at) for r in rows
            ])
            try:
                yield batch
            finally:
                try:
                    batch.release()
                except Exception:  # the database is away: the leases run out by themselves
                    log.exception("outbox: could not give back %d leased message(s)", batch.unsettled)

    def release_all(self) -> int:
        """Gives back every lease (for SQLite's one deliverer at start: they were left by a dead process)."""
        with self.k.uow(autocommit=True) as uow:
            return uow.outbox.release_all()

    @staticmethod
    def record_copy(uow: UnitOfWork, message: OutboxMessage, channel: str, ts: str) -> None:
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
            return [OutboxMessage(r.id, r.kind, r.recipient, r.lane, dict(r.facts), r.attempts, r.created_at)
                    for r in uow.outbox.pending(limit)]

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

