"""What every Slack listener may use: the core, the directory, the client, and two lanes for slow work."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot.config import SlackSettings
from bot.delivery import Deliverer
from bot.directory import Directory
from bot.service import LicensingService
from bot.sync import GroupSync

log = logging.getLogger("licensebot")

StartHook = Callable[[threading.Event], None]  # runs when `serve` starts; the event is set at shutdown
StopHook = Callable[[], None]  # runs when `serve` stops, after the event is set: waits for threads to finish
LocaleOf = Callable[[str], "str | None"]  # a Slack user id -> their Slack locale (e.g. "fr-FR"), if known


def no_locale(user_id: str) -> str | None:
    """Until the workspace's locales are known: everyone reads the default language."""
    return None


class Background:
    """Work after the ack (3-second rule): views to open, membership events to apply."""

    def __init__(self, workers: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"licensebot-{name}")
        self._pending = 0  # submitted and not finished: waiting in the queue or running
        self._count = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        # the caller's context goes along: the reader's language (handlers/slack/i18n.py) above all
        context = contextvars.copy_context()

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:  # nothing above us would log it
                log.exception("background work %s failed", getattr(fn, "__name__", fn))
                return None
            finally:
                with self._count:
                    self._pending -= 1

        with self._count:
            self._pending += 1
        return self._pool.submit(context.run, run)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def repeat(stop: threading.Event, seconds: float, name: str, work: Callable[[bool], None]) -> None:
    """`serve`'s timed work: `work(first)` now, then every `seconds` until `stop` is set, in a thread of its
    own. A round that fails (the database away) is logged; the next one tries again."""

    def loop() -> None:
        first = True
        while not stop.is_set():
            try:
                work(first)
            except Exception:  # the next round tries again
                log.exception("%s failed", name)
            first = False
            stop.wait(seconds)

    threading.Thread(target=loop, name=f"licensebot-{name}", daemon=True).start()


@dataclass
class Deps:
    service: LicensingService
    directory: Directory
    settings: SlackSettings
    client: WebClient
    team_id: str
    bot_user_id: str
    # Two lanes, so a modal never waits behind a group's membership change (a trigger_id lives 3 s), and
    # an event never waits behind anything else. DMs and message updates are not here: they go through
    # the outbox (handlers/slack/notifier.py). Few workers each: more threads runnable at once only add
    # GIL contention (bench/ack_latency.py); the Slack calls themselves mostly wait on the network.
    later: Background = field(default_factory=lambda: Background(4, "interactive"))
    events: Background = field(default_factory=lambda: Background(4, "events"))
    on_start: list[StartHook] = field(default_factory=list)  # schedulers the features start with `serve`
    on_stop: list[StopHook] = field(default_factory=list)
    locale_of: LocaleOf = no_locale  # whose language a message for someone else is rendered in
    sync: GroupSync | None = None  # set by the groups feature when the directory is Slack's
    deliverer: Deliverer | None = None  # the outbox's, set by create_app (its results feed /metrics)
    # what shows a person's own state (the Home tab) and wants refreshing after a change that concerns them
    on_change: list[Callable[[str], None]] = field(default_factory=list)
    # views.open / push / update: a short timeout and no retry past the trigger's life (client.py)
    interactive_client: WebClient | None = None

    def after_change(self, *user_ids: str) -> None:
        for hook in self.on_change:
            for user_id in user_ids:
                if user_id:
                    hook(user_id)

    @property
    def views(self) -> WebClient:
        """The client for calls a person waits on (views on a trigger); the listeners' client if unset."""
        return self.interactive_client or self.client
