"""The deliverer: worker threads inside `licensebot serve` that empty the outbox (bot/outbox.py).

A door gives it `send(message) -> Sent | Retry | Drop`: one Web API call, say, never a sleep. Each
worker claims one message at a time, sends it, and writes the outcome; a worker that finds nothing due
waits until this process commits a message, or `poll` seconds (another process — the CLI, another
`serve` — may have written some). When Slack answers 429, every worker of the process pauses for its
Retry-After, so a rate-limited workspace is not hammered; nothing else in the process waits for it.

On SQLite one process delivers at a time: the workers deliver only while their process holds the
database's "outbox" lock, which the OS frees when the process ends, however it ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from bot.outbox import OutboxMessage, OutboxService, Outcome, Retry

log = logging.getLogger("licensebot")

Send = Callable[[OutboxMessage], Outcome]
PRUNE_EVERY = 3600.0  # seconds between two prunes of delivered messages


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
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.workers = workers
        self.poll = poll
        self.retention = retention
        self.prune_every = prune_every
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._paused_until = 0.0  # time.monotonic() before which no worker claims (Slack's Retry-After)
        self._lock = outbox.k.uow.process_lock("outbox")
        self._lock_guard = threading.Lock()
        self._holds_lock = False
        self._told_waiting = False

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
        """Claims, sends and settles one due message; False when none is due (for this process)."""
        with self.outbox.claim() as claim:
            if claim is None:
                return False
            message = claim.message
            try:
                outcome = self.send(message)
            except Exception as error:  # a bug in a door: logged, and retried like a failure that may pass
                log.exception("outbox: sending message %s (%s) failed", message.id, message.kind)
                outcome = Retry(f"{type(error).__name__}: {error}")
            result = claim.finish(outcome)
        self._log(message, outcome, result)
        if isinstance(outcome, Retry) and outcome.retry_after:
            self._paused_until = max(self._paused_until, time.monotonic() + outcome.retry_after)
        return True

    def _work(self) -> None:
        while not self._stop.is_set():
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                self._stop.wait(min(pause, self.poll))
                continue
            if not self._may_deliver():
                self._stop.wait(self.poll)
                continue
            try:
                worked = self.deliver_one()
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
            if not self._holds_lock:
                self._holds_lock = self._lock.acquire()
                if not self._holds_lock and not self._told_waiting:
                    log.info("outbox: another process delivers on this SQLite database; this one waits to take over")
                self._told_waiting = not self._holds_lock
            return self._holds_lock

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

    @staticmethod
    def _log(message: OutboxMessage, outcome: Outcome, result: str) -> None:
        what = f"message {message.id} ({message.kind} to {message.recipient})"
        if result == "delivered":
            log.debug("outbox: delivered %s", what)
        elif result == "retry":
            log.warning("outbox: %s failed (%s); retried later", what, getattr(outcome, "error", ""))
        else:
            log.warning("outbox: dropped %s: %s", what, getattr(outcome, "error", ""))
