"""The deliverer: worker threads inside `licensebot serve` that empty the outbox (bot/outbox.py).

A door gives it `send(message) -> Sent | Retry | Drop`: one Web API call, say, never a sleep, and never
longer than `send_timeout`. Each worker leases a small batch of messages (heads of distinct lanes), then
sends them one after the other, writing each outcome before the next send; a worker that finds nothing
due waits until this process commits a message, or `poll` seconds (another process — the CLI, another
`serve` — may have written some). When Slack answers 429, every worker of the process pauses for its
Retry-After and gives back what it had leased, so a rate-limited workspace is not hammered; nothing
else in the process waits for it.

On SQLite one process delivers at a time: the workers deliver only while their process holds the
database's "outbox" lock, which the OS frees when the process ends, however it ends; the process that
takes it gives back the leases a dead one left.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from bot.outbox import LEASE, OutboxMessage, OutboxService, Outcome, Retry

log = logging.getLogger("licensebot")

Send = Callable[[OutboxMessage], Outcome]
PRUNE_EVERY = 3600.0  # seconds between two prunes of delivered messages
BATCH = 16  # messages a worker leases at once: fewer round trips to the database per message


class Deliverer:
    def __init__(
        self,
        outbox: OutboxService,
        send: Send,
        *,
        workers: int = 4,
        poll: float = 1.0,
        retention: dt.timedelta = dt.timedelta(days=7),
        prune_every: float = PRUNE_EVERY,
        send_timeout: float = 10.0,
        batch: int = BATCH,
        routes: dict[str, Send] | None = None,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:
        self.outbox = outbox
        self.send = send
        # kinds another door sends (e.g. "provision": the vendor's SCIM endpoint); the rest go to `send`
        self.routes = dict(routes or {})
        self.workers = workers
        self.batch = batch
        # a batch stops being sent while its lease still outlasts the longest send, with room to spare
        self.send_window = max(1.0, LEASE.total_seconds() - send_timeout - 5.0)
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.poll = poll
        self.retention = retention
        self.prune_every = prune_every
        self.housekeeping = housekeeping  # more pruning on the same schedule (processed events, keys)
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # before this time (the core's clock) no worker sends: Slack's Retry-After
        self._paused_until = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._lock = outbox.k.uow.process_lock("outbox")
        self._lock_guard = threading.Lock()
        self._holds_lock = False
        self._told_waiting = False
        self._results: collections.Counter[str] = collections.Counter()  # settled here: delivered, retry, …
        self._results_guard = threading.Lock()

    # ------------------------------------------------------------------ life
    def start(self, stop: threading.Event) -> None:
        """Starts the workers and the pruner; they end once `stop` is set (then call `join`)."""
        self._stop = stop
        self.outbox.on_write(self.wake)
        for number in range(self.workers):
            self._spawn(self._work, f"licensebot-outbox-{number}")
        self._spawn(self._prune_loop, "licensebot-outbox-prune")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        self._wakeup.set()

    def join(self, timeout: float = 20.0) -> None:
        """Waits for the workers to finish the message each is sending (after `stop` was set)."""
        self._wakeup.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock_guard:
            self._lock.release()
            self._holds_lock = False

    # ------------------------------------------------------------------ work
    def deliver_one(self) -> bool:
        """Leases, sends and settles one due message; False when none is due."""
        return self.deliver(1) > 0

    def deliver(self, limit: int) -> int:
        """Leases up to `limit` due messages and sends them one by one; how many were settled."""
        settled = 0
        with self.outbox.lease(self.owner, limit) as batch:
            window_ends = time.monotonic() + self.send_window
            for message in batch.messages:
                if self._stop.is_set() or self._paused() or (settled and time.monotonic() > window_ends):
                    break  # the rest is given back as the batch closes
                outcome = self._send(message)
                result = batch.settle(message, outcome)
                self._log(message, outcome, result)
                with self._results_guard:
                    self._results[result] += 1
                settled += 1
                if isinstance(outcome, Retry) and outcome.retry_after and message.kind not in self.routes:
                    # Slack's rate limit pauses every worker; another door's only reschedules its message
                    until = self.outbox.k.now() + dt.timedelta(seconds=outcome.retry_after)
                    self._paused_until = max(self._paused_until, until)
        return settled

    def results(self) -> dict[str, int]:
        """How many messages this process settled, by result (`delivered`, `retry`, `dropped`, `lost`)."""
        with self._results_guard:
            return dict(self._results)

    def _send(self, message: OutboxMessage) -> Outcome:
        try:
            return self.routes.get(message.kind, self.send)(message)
        except Exception as error:  # a bug in a door: logged, and retried like a failure that may pass
            log.exception("outbox: sending message %s (%s) failed", message.id, message.kind)
            return Retry(f"{type(error).__name__}: {error}")

    def _paused(self) -> bool:
        return self._pause_left() > 0

    def _pause_left(self) -> float:
        return (self._paused_until - self.outbox.k.now()).total_seconds()

    def _work(self) -> None:
        while not self._stop.is_set():
            pause = self._pause_left()
            if pause > 0:
                self._stop.wait(min(pause, self.poll))
                continue
            if not self._may_deliver():
                self._stop.wait(self.poll)
                continue
            try:
                worked = self.deliver(self.batch) > 0
            except Exception:  # e.g. the database is away: the message stays queued; try again later
                log.exception("outbox: delivery failed")
                worked = False
            if worked:
                self._wakeup.set()  # more may be due: idle workers join in
                continue
            self._wakeup.wait(self.poll)
            self._wakeup.clear()

    def _may_deliver(self) -> bool:
        with self._lock_guard:
            if self._holds_lock:
                return True
            if not self._lock.acquire():
                if not self._told_waiting:
                    log.info("outbox: another process delivers on this SQLite database; this one waits to take over")
                self._told_waiting = True
                return False
            self._holds_lock = True
            if self._lock.path is not None:  # SQLite: any lease left was a dead process's
                gone = self.outbox.release_all()
                if gone:
                    log.info("outbox: %d message(s) leased by a process that stopped are due again", gone)
            return True

    def _prune_loop(self) -> None:
        wait = min(60.0, self.prune_every)  # a first prune soon after start, then every prune_every
        while not self._stop.wait(wait):
            wait = self.prune_every
            try:
                gone = self.outbox.prune(self.retention)
                if gone:
                    log.info("outbox: pruned %d delivered message(s) older than %s", gone, self.retention)
            except Exception:  # the database is away: next time
                log.exception("outbox: pruning failed")
            if self.housekeeping is not None:
                try:
                    self.housekeeping()
                except Exception:  # the database is away: next time
                    log.exception("pruning failed")

    @staticmethod
    def _log(message: OutboxMessage, outcome: Outcome, result: str) -> None:
        if result == "delivered":
            return
        what = f"message {message.id} ({message.kind} to {message.recipient})"
        if result == "retry":
            log.warning("outbox: %s failed (%s); retried later", what, getattr(outcome, "error", ""))
        elif result == "lost":
            log.warning("outbox: %s was sent after its lease ran out; another process may send it too", what)
        else:
            log.warning("outbox: dropped %s: %s", what, getattr(outcome, "error", ""))
