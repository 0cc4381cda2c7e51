"""What the catalog's busiest reads answered (`/licenses list`, an app found by its name), kept while
nothing changed them, so the ack of a command needs no database call.

Every database call gives up the GIL and, with a server's request threads all runnable, waits to win it
back: at a busy moment that, not the query, made the slow acks (bench/ack_latency.py). So a read is kept
under a *stamp* and reused while the stamp holds. The stamp moves

- at once (after the commit, before the change is answered) when a unit of work of this process changes
  apps, seats or grants (storage/catalog_version.py tells the kernel);
- when the watcher sees the shared version number moved: another process (a second `serve`, the CLI)
  changed them. `serve` looks every WATCH_SECONDS.

A stamp exists only while the watcher has looked within MAX_AGE seconds: a process that does not watch
(the CLI, a test's core), or whose watcher is stalled or cannot reach the database, reads every time. So a
change made elsewhere shows within WATCH_SECONDS as a rule and MAX_AGE at worst; one made here shows at once.
Only answers that are shown are kept: every decision (a seat given, a request approved) reads the database
under its locks, as before.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

WATCH_SECONDS = 0.1
MAX_AGE = 1.0
Stamp = tuple[int, int]
T = TypeVar("T")


class Freshness:
    """The stamp of what the catalog's reads answer now, or None when kept answers must not be used."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_age: float = MAX_AGE) -> None:
        self._clock = clock
        self._max_age = max_age
        self._changes = itertools.count(1)  # next() is atomic: committing threads never lose a change
        self._local = 0
        self._shared: int | None = None
        self._looked = float("-inf")

    def changed(self) -> None:
        """This process committed a change to apps, seats or grants."""
        self._local = next(self._changes)

    def observed(self, version: int | None) -> None:
        """The watcher read the shared version (None: it could not)."""
        if version is None:
            self._looked = float("-inf")
            return
        self._shared = version
        self._looked = self._clock()

    def stamp(self) -> Stamp | None:
        shared = self._shared
        if shared is None or self._clock() - self._looked > self._max_age:
            return None
        return (self._local, shared)


class ReadCache:
    """At most `size` answers, each under the stamp it was read with; the least recently used goes first."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, tuple[Stamp, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def through(self, key: Hashable, stamp: Stamp | None, read: Callable[[], T]) -> T:
        """The answer kept for `key` under `stamp`, else `read()`'s, kept (`stamp` taken before calling)."""
        kept = self.get(key, stamp)
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        value = read()
        self.put(key, stamp, value)
        return value

    def get(self, key: Hashable, stamp: Stamp | None) -> Any | None:
        if stamp is None:
            return None
        with self._lock:
            kept = self._items.get(key)
            if kept is None or kept[0] != stamp:
                return None
            self._items.move_to_end(key)
            return kept[1]

    def put(self, key: Hashable, stamp: Stamp | None, value: Any) -> None:
        """Keeps `value`, read under `stamp` (taken *before* the read: a change committed meanwhile moved
        the stamp, so a value that may predate it is never found under the new one)."""
        if stamp is None:
            return
        with self._lock:
            self._items[key] = (stamp, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
