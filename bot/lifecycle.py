"""The license life cycle's timed work, in one place: assignments ending, reminders before they end,
reclaim deadlines, renewal and low-license alerts.

Each concern adds a *step* (`add_step(name, step)`): a function that does what is due now and returns how
many things it did. `run()` runs them all, in order; `licensebot serve` calls it on a schedule
(handlers/slack/features/lifecycle.py) and an operator with `licensebot lifecycle run` (a cron line works
too).

Exactly once, across processes: a step never relies on being the only one running. Each thing it does is
a conditional change in its own unit of work (a row deleted or a flag set only if it still holds), with its
notices written into the outbox in that same transaction; two processes running a step at the same moment
do each thing once, and a run that dies half-way leaves the rest to the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.kernel import Kernel

log = logging.getLogger("licensebot.lifecycle")

Step = Callable[[], int]


@dataclass(frozen=True)
class LifecycleRun:
    """What one run did: per step, how many things; and the steps that failed (with the error's type)."""

    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.done.values())

    def as_json(self) -> dict[str, object]:
        return {"done": dict(self.done), "failed": dict(self.failed)}


class LifecycleService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.steps: list[tuple[str, Step]] = []

    def add_step(self, name: str, step: Step) -> None:
        self.steps.append((name, step))

    def run(self) -> LifecycleRun:
        """Every step once. A failing step (the database away, a bug) is logged and does not stop the others:
        what it did not do is still due at the next run."""
        run = LifecycleRun()
        for name, step in self.steps:
            try:
                run.done[name] = step()
            except Exception as error:  # one step's failure must not starve the others
                log.exception("lifecycle step %s failed", name)
                run.failed[name] = type(error).__name__
        return run
