"""The garbage collector in `serve`: the long-lived heap kept out of collections, and each pause timed.

Why (issue 16): with the workspace directory loaded (20,000 users, 2,000 groups: a few hundred thousand
objects that live as long as the process) and SQLAlchemy's mappers and compiled statements, every
generation-2 collection walks all of them while holding the GIL, and every request in flight waits: the
median stayed equal to bare bolt's, the p99 tripled. So, in `serve` only:
- `tune()` at start: collections of the youngest generation every 10,000 allocations net instead of 700
  (each request allocates a few thousand short-lived objects; most die by reference counting), and the
  pause of every collection recorded (`pauses`, read by GET /metrics as licensebot_gc_pause_seconds).
- `settle()` once start-up is done and after each full load of the directory: one collection, then
  `gc.freeze()`: what is alive then is moved out of the collector's generations, so later collections
  walk only what was allocated since. Frozen objects are still freed by reference counting when the
  directory drops them (users, groups and their tuples hold no cycles).
LICENSEBOT_GC_TUNING=off leaves the collector at Python's defaults (for comparison; pauses still timed).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from typing import Any

log = logging.getLogger("licensebot")

THRESHOLDS = (10_000, 10, 10)
PAUSE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


class Pauses:
    """Every collection's duration, by generation: counts per bucket (upper bounds in seconds), sum, max."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buckets: dict[int, list[int]] = {g: [0] * (len(PAUSE_BUCKETS) + 1) for g in range(3)}
        self.total: dict[int, float] = dict.fromkeys(range(3), 0.0)
        self.longest: dict[int, float] = dict.fromkeys(range(3), 0.0)
        self._started = 0.0

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()  # collections never overlap: the GIL is held throughout
            return
        seconds = time.perf_counter() - self._started
        generation = int(info.get("generation", 2))
        index = next((i for i, bound in enumerate(PAUSE_BUCKETS) if seconds <= bound), len(PAUSE_BUCKETS))
        with self.lock:
            self.buckets[generation][index] += 1
            self.total[generation] += seconds
            self.longest[generation] = max(self.longest[generation], seconds)


pauses = Pauses()
_tuned = False


def tune() -> None:
    """`serve`'s collector: pauses timed; unless LICENSEBOT_GC_TUNING=off, the higher young threshold and
    `settle()` after loads. Called once, at start."""
    global _tuned
    if pauses.callback not in gc.callbacks:
        gc.callbacks.append(pauses.callback)
    if os.environ.get("LICENSEBOT_GC_TUNING", "").strip().lower() in ("off", "0", "false", "no"):
        log.info("garbage collector left at Python's defaults (LICENSEBOT_GC_TUNING=off)")
        return
    gc.set_threshold(*THRESHOLDS)
    _tuned = True
    limit_malloc_arenas()


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENAS = 2


def limit_malloc_arenas() -> bool:
    """glibc gives each thread that allocates concurrently an arena of its own, up to 8 per core; `serve`'s
    ~30 threads (waitress, the lanes, the deliverer) then hold partly used arenas that are never returned.
    Two arenas are plenty for a process whose threads mostly wait on the GIL. Called before those threads
    start; a no-op where the C library is not glibc (MALLOC_ARENA_MAX in the environment wins)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):
        return False


def settle() -> None:
    """After start-up or a full directory load (tuned processes only; the CLI and tests are left alone):
    collect once, then freeze what is alive, so later collections leave the long-lived heap alone."""
    if not _tuned:
        return
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.debug("heap settled in %.0f ms: %d objects frozen", (time.perf_counter() - started) * 1000,
              gc.get_freeze_count())
