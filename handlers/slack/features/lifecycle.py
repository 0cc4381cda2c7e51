"""The life cycle's timed work inside `serve`: `service.lifecycle.run()` at start and then every
LICENSEBOT_LIFECYCLE_INTERVAL_MINUTES. Several processes may run it at once: every step does each thing
once (bot/lifecycle.py). What it tells people goes through the outbox."""

from __future__ import annotations

import logging
import threading

from slack_bolt import App

from handlers.slack.deps import Deps, repeat
from handlers.slack.router import Subcommand

log = logging.getLogger("licensebot")
SUBCOMMANDS: list[Subcommand] = []


def start_scheduler(deps: Deps, stop: threading.Event) -> None:
    minutes = deps.settings.licensebot_lifecycle_interval_minutes
    if minutes <= 0:
        return

    def run_once(first: bool) -> None:
        run = deps.service.lifecycle.run()
        if run.total or run.failed or first:  # the first run is said even when idle: it caught up
            log.info("lifecycle%s: %s%s", " (at start)" if first else "", run.done,
                     f", failed: {run.failed}" if run.failed else "")

    repeat(stop, minutes * 60, "lifecycle-run", run_once)


def register(app: App, deps: Deps) -> None:
    deps.on_start.append(lambda stop: start_scheduler(deps, stop))
