"""The workspace directory, read from Slack and cached: typeahead and mentions never call Slack per keystroke.

Slack rate-limits both reads at tier 2 (about 20 calls a minute), so:
- groups come from ONE `usergroups.list` call with members; `usergroups.users.list` is called for a
  group only when that listing is truncated, or an event cannot be applied to what we hold;
- users come from `users.list`, 200 a page, following cursors: 100 calls for 20,000 users, 5 minutes at
  Slack's pace. `user_change` / `team_join` events keep them fresh in between, so the full walk runs only
  when it is needed: at the first load, when a group holds an id we have never seen (a missed `team_join`),
  and once a day (`users_ttl`, LICENSEBOT_USERS_REFRESH_HOURS: the safety net for a missed deletion). A
  periodic sync with nothing changed is then one call (`usergroups.list`);
- both are kept for a bounded time. When they are older, readers still get them at once while one
  background refresh runs (a keystroke never waits for Slack).
- no request ever waits for Slack: the first load runs in the background too (started at `serve`'s
  start, or by the first read), one at a time per kind (single-flight); until it is done a read raises
  `DirectoryLoading` (the person reads "still loading, try again in a moment"). A failed load is retried
  after Slack's Retry-After (or a growing backoff) by a timer, not by the readers. Only event work (its
  own lane) may wait for the first load, a bounded time.
- events keep groups fresh in between: `subteam_members_changed` carries the added and removed members
  and the group's previous and new `date_update`; when our copy is at the previous version the change is
  applied without any Slack call, otherwise the group's members are re-read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import Group, User
from bot.errors import DirectoryLoading
from bot.names import fold
from handlers import heap
from handlers.slack.directory_records import (
    GroupIndex,
    group_of,
    same,
    truncated,
    user_of,
    version_of,
    with_members,
)
from handlers.slack.loads import Background, Loads, in_thread

log = logging.getLogger("licensebot")

GROUPS_TTL = 10 * 60
USERS_TTL = 24 * 60 * 60  # the full users.list walk's schedule (LICENSEBOT_USERS_REFRESH_HOURS)
USERS_PAGE = 200  # Slack recommends at most 200 per users.list page
EVENT_WAIT = 60.0  # seconds event work waits for a first load before it gives up (the sync repairs it)
CLI_WAIT = 600.0  # seconds a command-line read waits for it (users.list pages at Slack's tier-2 pace)


class SlackDirectory:
    def __init__(
        self,
        client: WebClient,
        *,
        groups_ttl: float = GROUPS_TTL,
        users_ttl: float = USERS_TTL,
        clock: Callable[[], float] = time.monotonic,
        background: Background = in_thread,
        read_wait: float = 0.0,
        sync_interval: float = 0.0,
    ) -> None:
        """`read_wait`: how long a read may wait for the first load (0 in `serve`, where requests read; the
        command line, which has nothing else to do, waits: CLI_WAIT). `sync_interval`: the periodic sync's
        period, in seconds; a sync walks users.list when they would be older than `users_ttl` before the
        next one (so a missed deletion is found within `users_ttl`, not `users_ttl` plus a period)."""
        self._sync_interval = sync_interval
        self._client = client
        self._read_wait = read_wait
        self._groups_ttl = groups_ttl
        self._users_ttl = users_ttl
        self._clock = clock
        self._lock = threading.Lock()  # guards the data below; never held during a Slack call
        # one refresh of each at a time (a sync's and the background's)
        self._groups_refresh = threading.RLock()
        self._users_refresh = threading.RLock()
        self._groups: dict[str, Group] = {}
        self._by_handle: dict[str, str] = {}
        self._index: GroupIndex | None = None  # for the typeahead; None: rebuilt at the next search
        self._versions: dict[str, float] = {}  # group id -> Slack's date_update of the copy we hold
        self._groups_at: float | None = None
        self._users: dict[str, User] = {}
        self._users_by_name: dict[str, str] = {}
        self._users_by_email: dict[str, str] = {}  # casefolded email -> user id (the usage-rights API)
        self._users_at: float | None = None
        self._unlisted: set[str] = set()  # group members the last users.list did not have (no walk for them)
        self._loads = {
            "groups": Loads("groups", lambda: self._groups_at, self.refresh_groups, background),
            "users": Loads("users", lambda: self._users_at, self._renew_users, background),
        }

    # ------------------------------------------------------------------ reads (cached)
    def group(self, group_id: str) -> Group | None:
        self._ensure_groups()
        with self._lock:
            return self._groups.get(group_id)

    def snapshot(self, group_id: str) -> tuple[Group | None, float | None]:
        """The group and the version of it we hold (Slack's date_update), read together: the core
        applies it only when it is newer than what the database applied (another process may be ahead)."""
        self._ensure_groups()
        with self._lock:
            return self._groups.get(group_id), self._versions.get(group_id)

    def groups(self) -> list[Group]:
        self._ensure_groups()
        with self._lock:
            return list(self._groups.values())

    def search_groups(self, query: str, limit: int = 100) -> list[Group]:
        """As bot.directory.rank_groups ranks them, from an index: a keystroke costs in proportion to
        what it finds, not to the size of the workspace (and so leaves little for the GC to collect)."""
        self._ensure_groups()
        with self._lock:
            if self._index is None:
                self._index = GroupIndex(self._groups.values())
            return [self._groups[group_id] for group_id in self._index.search(query, limit)]

    def group_by_handle(self, handle: str) -> Group | None:
        self._ensure_groups()
        with self._lock:
            group = self._groups.get(self._by_handle.get(fold(handle.strip().lstrip("@")), ""))
        return group if group is not None and not group.disabled else None

    def user(self, user_id: str) -> User | None:
        self._ensure_users()
        with self._lock:
            return self._users.get(user_id)

    def user_by_name(self, name: str) -> User | None:
        self._ensure_users()
        with self._lock:
            user_id = self._users_by_name.get(fold(name.strip().lstrip("@")))
            return self._users.get(user_id) if user_id else None

    def user_by_email(self, email: str) -> User | None:
        self._ensure_users()
        with self._lock:
            user_id = self._users_by_email.get(email.strip().casefold())
            return self._users.get(user_id) if user_id else None

    def deleted_user_ids(self) -> list[str]:
        self._ensure_users()
        with self._lock:
            return [u.id for u in self._users.values() if u.deleted]

    # ------------------------------------------------------------------ freshness
    def _ensure_groups(self, wait: float | None = None) -> None:
        self._ensure("groups", self._groups_at, self._groups_ttl, self._read_wait if wait is None else wait)

    def _ensure_users(self, wait: float | None = None) -> None:
        self._ensure("users", self._users_at, self._users_ttl, self._read_wait if wait is None else wait)

    def _ensure(self, kind: str, at: float | None, ttl: float, wait: float) -> None:
        """Fresh: nothing to do. Stale: served as it is while one background load renews it. Never loaded:
        a background load is started (if none is running or backing off) and DirectoryLoading raised, unless
        that load ends within `wait` seconds (0 for every request)."""
        if at is not None and self._clock() - at <= ttl:
            return
        loads = self._loads[kind]
        loads.start()
        if at is None and not loads.wait(wait):
            raise DirectoryLoading()

    def refresh(self) -> None:
        """A sync's read: the groups and their members fresh from Slack now (one call, plus one per group
        Slack's listing cuts short); users.list walked only when `users_due()`."""
        self.refresh_groups()
        # a load already running (the start-up's) holds this lock: waited for, and then counts
        with self._users_refresh:
            if self.users_due():
                self.refresh_users()

    def users_due(self) -> bool:
        """Whether a sync must walk users.list: never loaded; older than `users_ttl` by the next sync
        (the daily safety net: a deletion whose event was lost); or a group member we have never seen."""
        with self._lock:
            if self._users_at is None or self._clock() - self._users_at + self._sync_interval >= self._users_ttl:
                return True
            groups, users, unlisted = list(self._groups.values()), self._users, self._unlisted
        # outside the lock (no reader waits on it); `users` may grow meanwhile (events): `in` stays safe
        return any(m not in users and m not in unlisted for g in groups for m in g.members)

    def warm(self) -> None:
        """Starts loading both caches in the background (at start-up) so the first keystroke finds them full."""
        for loads in self._loads.values():
            loads.start()

    # ------------------------------------------------------------------ groups
    def refresh_groups(self) -> list[Group]:
        with self._groups_refresh:
            response = self._client.usergroups_list(include_users=True, include_disabled=True, include_count=True)
            listed: list[tuple[Group, float]] = []
            for raw in response.get("usergroups") or []:
                group = group_of(raw)
                if truncated(raw) and not group.disabled:  # only then a per-group call
                    group = with_members(group, self._members_from_slack(group.id) or group.members)
                listed.append((group, version_of(raw)))
            with self._lock:
                groups: dict[str, Group] = {}
                versions: dict[str, float] = {}
                for group, version in listed:
                    # an event applied while the listing was on its way may be newer than the listing
                    if self._versions.get(group.id, -1.0) > version and group.id in self._groups:
                        group, version = self._groups[group.id], self._versions[group.id]
                    groups[group.id] = group
                    versions[group.id] = version
                self._groups, self._versions = groups, versions
                self._by_handle = {fold(g.handle): g.id for g in groups.values() if not g.disabled}
                self._index = None
                self._groups_at = self._clock()
            heap.settle()  # the new copy is long-lived: out of the collector's way (serve only)
            return list(groups.values())

    def refresh_group(self, group_id: str, version: float | None = None) -> Group | None:
        """One group's members, fresh from Slack (after an event we could not apply to our copy).
        `version` is the event's date_update: what we read now is at least that new."""
        known = self.group(group_id)
        if known is None:
            self.refresh_groups()  # a group we have never seen: its handle and name come with the listing
            return self.group(group_id)
        members = self._members_from_slack(group_id)
        if members is None:
            return known
        group = with_members(known, members)
        self._store(group, version)
        return group

    def _members_from_slack(self, group_id: str) -> tuple[str, ...] | None:
        try:
            response = self._client.usergroups_users_list(usergroup=group_id, include_disabled=True)
        except SlackApiError as error:
            if error.response is not None and error.response.get("error") == "no_such_subteam":
                return None
            raise
        return tuple(response.get("users") or ())

    def apply_member_change(
        self, group_id: str, added: Iterable[str], removed: Iterable[str],
        previous: float | None, current: float | None,
    ) -> Group | None:
        """A `subteam_members_changed` event: applied to our copy when it is the version the change
        starts from; our copy already newer: kept; anything else: the members are re-read from Slack."""
        self._ensure_groups(wait=max(EVENT_WAIT, self._read_wait))  # event work (its own lane) may wait
        known = self.group(group_id)
        with self._lock:
            held = self._versions.get(group_id)
        if known is not None and held is not None and current is not None and held >= current:
            return known
        if known is not None and held is not None and previous is not None and held == previous:
            gone = set(removed)
            members = [m for m in known.members if m not in gone]
            members += [m for m in dict.fromkeys(added) if m not in members and m not in gone]
            group = with_members(known, tuple(members))
            self._store(group, current)
            return group
        return self.refresh_group(group_id, current)

    def put_group(self, raw: dict[str, Any]) -> Group:
        """A group as `subteam_created` / `subteam_updated` carries it. Members come with it unless the
        event left them out or cut them short; then they are re-read."""
        self._ensure_groups(wait=max(EVENT_WAIT, self._read_wait))
        group = group_of(raw)
        version = version_of(raw) or None
        with self._lock:
            held = self._versions.get(group.id)
            known = self._groups.get(group.id)
        if held is not None and version is not None and held > version and known is not None:
            return known  # an older event than what we hold
        complete = "users" in raw and not truncated(raw)
        if complete or group.disabled:
            self._store(group if complete else with_members(group, known.members if known else ()), version)
            return group
        self._store(with_members(group, known.members if known else ()), None)
        return self.refresh_group(group.id, version) or group

    def _store(self, group: Group, version: float | None) -> None:
        with self._lock:
            old = self._groups.get(group.id)
            if old is not None and self._by_handle.get(fold(old.handle)) == group.id:
                del self._by_handle[fold(old.handle)]
            if old is None or (old.handle, old.name, old.disabled) != (group.handle, group.name, group.disabled):
                self._index = None  # members alone do not change what the typeahead finds
            self._groups[group.id] = group
            if version is not None:
                self._versions[group.id] = version
            else:  # members read without a version: no longer the version we held (snapshot() says unknown)
                self._versions.pop(group.id, None)
            if not group.disabled:
                self._by_handle[fold(group.handle)] = group.id

    # ------------------------------------------------------------------ users
    def _renew_users(self) -> None:
        """The background load: skipped when a sync walked users.list meanwhile (at start-up both may ask)."""
        with self._users_refresh:
            if self._users_at is None or self._clock() - self._users_at > self._users_ttl:
                self.refresh_users()

    def refresh_users(self) -> int:
        with self._users_refresh:
            users: dict[str, User] = {}
            cursor = None
            while True:
                response = self._client.users_list(limit=USERS_PAGE, cursor=cursor)
                for raw in response.get("members") or []:
                    user = user_of(raw)
                    users[user.id] = user
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            # keys that equal the name or email they come from share its string (20,000 users: MiBs)
            by_name = {same(fold(u.name), u.name): u.id for u in users.values() if not u.deleted and u.name}
            by_email = {same(u.email.casefold(), u.email): u.id for u in users.values() if not u.deleted and u.email}
            with self._lock:
                groups = list(self._groups.values())
            # members users.list does not have (another workspace's): no walk for them before the next one
            unlisted = {m for g in groups for m in g.members if m not in users}
            with self._lock:
                self._unlisted = unlisted
                self._users = users
                self._users_by_name = by_name
                self._users_by_email = by_email
                self._users_at = self._clock()
            heap.settle()
            return len(users)

    def put_user(self, raw: dict[str, Any]) -> User:
        """A user as `user_change` carries it (renamed, deleted, restored)."""
        user = user_of(raw)
        with self._lock:
            old = self._users.get(user.id)
            if old is not None and self._users_by_name.get(fold(old.name)) == user.id:
                del self._users_by_name[fold(old.name)]
            if old is not None and self._users_by_email.get(old.email.casefold()) == user.id:
                del self._users_by_email[old.email.casefold()]
            self._users[user.id] = user
            if not user.deleted and user.name:
                self._users_by_name[fold(user.name)] = user.id
            if not user.deleted and user.email:
                self._users_by_email[user.email.casefold()] = user.id
        return user
