"""Group-based licensing that follows Slack: user-group events, the periodic sync, and waitlist DMs.

Every event is acknowledged at once (bolt answers when the listener returns; the listener only queues
the work on the events lane, which carries nothing else: DMs go through the outbox) and applied after,
once per `event_id` however often Slack delivers it (the id is recorded in the transaction of the change).
A member change is applied by the core as a change, in Slack's `date_update` order, against the
database's record of the group (bot/membership.py), so several processes, each with its own cached
directory, never apply an older member list over a newer one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.domain import GROUP_ID, USER_ID, Actor
from bot.sync import GroupSync
from handlers.slack.deps import Deps
from handlers.slack.directory import SlackDirectory
from handlers.slack.i18n import _
from handlers.slack.router import Subcommand

log = logging.getLogger("licensebot")

# ------------------------------------------------------------------ waitlist DMs (sent through the outbox)
def seated_notice(app_name: str) -> str:
    return _("A license of *{app}* is now yours: a seat was freed and you were next on the waiting list. "
             "`/licenses install {app}` gives you the install link.").format(app=app_name)


# ------------------------------------------------------------------ events
def once(deps: Deps, body: dict[str, Any], work: Callable[[str], object]) -> None:
    """Queues `work(event_id)` after the ack; the core records the event id in the same transaction as
    its change, so a redelivery is applied once, and a crash before the commit leaves it to apply again.
    A redelivery of an event already applied is skipped before any work (no Slack call)."""
    event_id = str(body.get("event_id") or "")

    def run() -> None:
        if event_id and deps.service.membership.seen(event_id):
            log.info("event %s delivered again: already applied", event_id)
            return
        outcome = work(event_id)
        if getattr(outcome, "skipped", "") == "duplicate":
            log.info("event %s delivered again: already applied", event_id)

    deps.events(run)


def on_members_changed(sync: GroupSync, directory: SlackDirectory, event: dict[str, Any], event_id: str = "") -> object:
    group_id = str(event.get("subteam_id") or "")
    if not GROUP_ID.match(group_id):
        return None
    added = [str(u) for u in event.get("added_users") or [] if USER_ID.match(str(u))]
    removed = [str(u) for u in event.get("removed_users") or [] if USER_ID.match(str(u))]
    previous, current = _number(event.get("date_previous_update")), _number(event.get("date_update"))
    update = lambda: directory.apply_member_change(group_id, added, removed, previous, current)  # noqa: E731
    if previous is not None and current is not None:  # as Slack sends it: applied as a change, in order
        return sync.apply_change(group_id, added, removed, previous, current, update, event=event_id or None)
    return sync.apply(group_id, update, event=event_id or None)  # no versions: the group as read now


def on_group_changed(sync: GroupSync, directory: SlackDirectory, event: dict[str, Any], event_id: str = "") -> object:
    """subteam_created / subteam_updated; a disabled group (date_delete set) loses its assignments."""
    raw = event.get("subteam")
    if not isinstance(raw, dict) or not GROUP_ID.match(str(raw.get("id") or "")):
        return None
    return sync.apply(str(raw["id"]), lambda: directory.put_group(raw), event=event_id or None)


def on_user_changed(deps: Deps, sync: GroupSync, directory: SlackDirectory, body: dict[str, Any]) -> None:
    """user_change / team_join: names for mentions; a deleted account loses every license."""
    raw = (body.get("event") or {}).get("user")
    if not isinstance(raw, dict) or not USER_ID.match(str(raw.get("id") or "")):
        return
    user = directory.put_user(raw)
    if user.deleted:
        once(deps, body, lambda event_id: sync.remove_user(user.id, event=event_id or None))


def _number(value: Any) -> float | None:
    """A version (Slack's date_update): a finite number, or None (an infinite one would freeze the group)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


# ------------------------------------------------------------------ the periodic sync
def run_sync(sync: GroupSync) -> None:
    try:
        report = sync.run()
    except Exception:  # logged; the next interval tries again
        log.exception("group sync failed")
        return
    log.info("%s", report.summary())


def schedule(deps: Deps, sync: GroupSync, directory: SlackDirectory) -> Callable[[threading.Event], None]:
    """The on_start hook: a sync at start (catching up on events missed while down; it warms the
    directory too), then every LICENSEBOT_SYNC_INTERVAL_MINUTES. With 0, only the warm-up."""
    minutes = deps.settings.licensebot_sync_interval_minutes

    def loop(stop: threading.Event) -> None:
        directory.warm()  # in the background: requests meanwhile hear "still loading", never wait
        if not minutes:
            return
        run_sync(sync)
        period = minutes * 60
        while not stop.wait(period):
            # several bot processes on one database: the first to claim this interval runs it
            if deps.service.membership.claim(f"sync:{minutes}:{int(time.time() // period)}"):
                run_sync(sync)

    def hook(stop: threading.Event) -> None:
        threading.Thread(target=loop, args=(stop,), name="group-sync", daemon=True).start()

    return hook


SUBCOMMANDS: list[Subcommand] = []


def register(app: App, deps: Deps) -> None:
    directory = deps.directory
    if not isinstance(directory, SlackDirectory):
        log.warning("no Slack directory: user-group events and the periodic sync are off")
        return
    sync = GroupSync(deps.service, directory, Actor(deps.bot_user_id or "slack"))
    deps.sync = sync
    deps.on_start.append(schedule(deps, sync, directory))

    @app.event("subteam_members_changed")
    def members_changed(body: dict[str, Any], event: dict[str, Any]) -> None:
        once(deps, body, lambda event_id: on_members_changed(sync, directory, event, event_id))

    @app.event("subteam_created")
    @app.event("subteam_updated")
    def group_changed(body: dict[str, Any], event: dict[str, Any]) -> None:
        once(deps, body, lambda event_id: on_group_changed(sync, directory, event, event_id))

    @app.event("user_change")
    @app.event("team_join")
    def user_changed(body: dict[str, Any]) -> None:
        # most user_change events are profile edits: cached at once, no database write; deletions go
        # through `once` (deduplicated, after the ack)
        on_user_changed(deps, sync, directory, body)
