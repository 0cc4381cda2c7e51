"""Loading a cached kind of Slack data in the background: one load at a time, backing off after a failure.

Used by the directory (handlers/slack/directory.py) so that no request thread ever calls Slack to fill it
or waits for it; a rate-limited or hung load holds one background thread, and only that one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

log = logging.getLogger("licensebot")

MAX_BACKOFF = 300.0  # seconds between two failed loads at most

Background = Callable[[Callable[[], None]], None]


def in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="directory-refresh", daemon=True).start()


class Loads:
    """The loads of one kind of data ("groups", "users"): one at a time, in the background; after a failure
    the next is started by a timer after Slack's Retry-After (else 1, 2, 4 … 300 s), never by a reader."""

    def __init__(
        self, kind: str, loaded_at: Callable[[], float | None], load: Callable[[], object], background: Background
    ) -> None:
        self.kind = kind
        self._loaded_at = loaded_at
        self._load = load
        self._background = background
        self._cond = threading.Condition()
        self._running = False
        self._not_before = 0.0  # time.monotonic(): no load starts before (a failure's backoff)
        self._failures = 0
        self._loaded_once = False

    def start(self) -> None:
        """Starts a load unless one is running or a failure's backoff is not over."""
        with self._cond:
            if self._running or time.monotonic() < self._not_before:
                return
            self._running = True
        self._background(self._run)

    def wait(self, timeout: float) -> bool:
        """True once loaded; waits up to `timeout` seconds for it (a sync may load it too: looked at often)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._loaded_at() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.25))
        return True

    def _run(self) -> None:
        delay = 0.0
        try:
            self._load()
        except Exception as error:  # noqa: BLE001 - whatever Slack or the network did: logged, tried again later
            self._failures += 1
            delay = min(retry_after(error) or 2.0 ** (self._failures - 1), MAX_BACKOFF)
            log.warning("loading the %s directory failed (%s); next try in %.0f s", self.kind, _reason(error), delay)
        else:
            self._failures = 0
            # the first load at INFO (operators and tests wait for it); the renewals every few minutes, DEBUG
            log.log(logging.DEBUG if self._loaded_once else logging.INFO, "directory loaded: %s", self.kind)
            self._loaded_once = True
        with self._cond:
            self._running = False
            self._not_before = time.monotonic() + delay
            self._cond.notify_all()
        if delay and self._loaded_at() is None:  # nothing to serve yet: try again without waiting for a reader
            timer = threading.Timer(delay, self.start)
            timer.daemon = True
            timer.start()


def retry_after(error: Exception) -> float | None:
    """Slack's Retry-After on a 429, in seconds."""
    response = getattr(error, "response", None)
    if response is None or getattr(response, "status_code", None) != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError) and error.response is not None:
        return f"{error.response.status_code} {error.response.get('error')}"
    return type(error).__name__
