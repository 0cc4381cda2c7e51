"""Group-based licensing that follows Slack: user-group events, the periodic sync, and waitlist DMs.

Every event is acknowledged at once (bolt answers when the listener returns; the listener only queues
the work on the events lane, which carries nothing else: DMs go through the outbox) and applied after,
once per `event_id` however often Slack delivers it. A group's change is applied under that group's lock
together with the update of the cached directory (bot.sync.GroupSync), so a sync and an event never apply
an older member list over a newer one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.domain import GROUP_ID, USER_ID, Actor
from bot.sync import GroupSync
from handlers.slack.deps import Deps
from handlers.slack.directory import SlackDirectory
from handlers.slack.router import Subcommand

log = logging.getLogger("licensebot")

# ------------------------------------------------------------------ waitlist DMs (sent through the outbox)
def seated_notice(app_name: str) -> str:
    return (f"A license of *{app_name}* is now yours: a seat was freed and you were next on the waiting list. "
            f"`/licenses install {app_name}` gives you the install link.")


# ------------------------------------------------------------------ events
def once(deps: Deps, body: dict[str, Any], work: Callable[[], object]) -> None:
    """Queues `work` after the ack; it runs only for the first delivery of the event id.

    The id is claimed before the work: should the work fail, the periodic sync repairs what it missed
    (Slack would not redeliver anyway: it got its ack)."""

    def run() -> None:
        if deps.service.membership.claim(str(body.get("event_id") or "")):
            work()
        else:
            log.info("event %s delivered again: already applied", body.get("event_id"))

    deps.events(run)


def on_members_changed(sync: GroupSync, directory: SlackDirectory, event: dict[str, Any]) -> None:
    group_id = str(event.get("subteam_id") or "")
    if not GROUP_ID.match(group_id):
        return
    added = [str(u) for u in event.get("added_users") or [] if USER_ID.match(str(u))]
    removed = [str(u) for u in event.get("removed_users") or [] if USER_ID.match(str(u))]
    previous, current = _number(event.get("date_previous_update")), _number(event.get("date_update"))
    sync.apply(group_id, lambda: directory.apply_member_change(group_id, added, removed, previous, current))


def on_group_changed(sync: GroupSync, directory: SlackDirectory, event: dict[str, Any]) -> None:
    """subteam_created / subteam_updated; a disabled group (date_delete set) loses its assignments."""
    raw = event.get("subteam")
    if not isinstance(raw, dict) or not GROUP_ID.match(str(raw.get("id") or "")):
        return
    sync.apply(str(raw["id"]), lambda: directory.put_group(raw))


def on_user_changed(deps: Deps, sync: GroupSync, directory: SlackDirectory, body: dict[str, Any]) -> None:
    """user_change / team_join: names for mentions; a deleted account loses every license."""
    raw = (body.get("event") or {}).get("user")
    if not isinstance(raw, dict) or not USER_ID.match(str(raw.get("id") or "")):
        return
    user = directory.put_user(raw)
    if user.deleted:
        once(deps, body, lambda: sync.remove_user(user.id))


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


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
        once(deps, body, lambda: on_members_changed(sync, directory, event))

    @app.event("subteam_created")
    @app.event("subteam_updated")
    def group_changed(body: dict[str, Any], event: dict[str, Any]) -> None:
        once(deps, body, lambda: on_group_changed(sync, directory, event))

    @app.event("user_change")
    @app.event("team_join")
    def user_changed(body: dict[str, Any]) -> None:
        # most user_change events are profile edits: cached at once, no database write; deletions go
        # through `once` (deduplicated, after the ack)
        on_user_changed(deps, sync, directory, body)
