"""The workspace directory, read from Slack and cached: typeahead and mentions never call Slack per keystroke.

Groups come from one `usergroups.list` call (with members); users from `users.list`, paged. Both are
kept for a bounded time and refreshed when stale or when an event says a group changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.directory import Group, User, rank_groups

log = logging.getLogger("licensebot")

GROUPS_TTL = 10 * 60
USERS_TTL = 60 * 60
USERS_PAGE = 200


class SlackDirectory:
    def __init__(
        self,
        client: WebClient,
        *,
        groups_ttl: float = GROUPS_TTL,
        users_ttl: float = USERS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._groups_ttl = groups_ttl
        self._users_ttl = users_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._groups: dict[str, Group] = {}
        self._groups_at: float | None = None
        self._users: dict[str, User] = {}
        self._users_by_name: dict[str, str] = {}
        self._users_at: float | None = None

    # ------------------------------------------------------------------ reads (cached)
    def group(self, group_id: str) -> Group | None:
        self._ensure_groups()
        with self._lock:
            return self._groups.get(group_id)

    def groups(self) -> list[Group]:
        self._ensure_groups()
        with self._lock:
            return list(self._groups.values())

    def search_groups(self, query: str, limit: int = 100) -> list[Group]:
        return rank_groups(self.groups(), query, limit)

    def group_by_handle(self, handle: str) -> Group | None:
        wanted = handle.strip().lstrip("@").lower()
        return next((g for g in self.groups() if g.handle.lower() == wanted and not g.disabled), None)

    def user(self, user_id: str) -> User | None:
        self._ensure_users()
        with self._lock:
            return self._users.get(user_id)

    def user_by_name(self, name: str) -> User | None:
        self._ensure_users()
        with self._lock:
            user_id = self._users_by_name.get(name.strip().lstrip("@").lower())
            return self._users.get(user_id) if user_id else None

    # ------------------------------------------------------------------ refresh
    def _ensure_groups(self) -> None:
        if self._stale(self._groups_at, self._groups_ttl):
            with self._refresh_lock:
                if self._stale(self._groups_at, self._groups_ttl):  # another thread may have just done it
                    self.refresh_groups()

    def _ensure_users(self) -> None:
        if self._stale(self._users_at, self._users_ttl):
            with self._refresh_lock:
                if self._stale(self._users_at, self._users_ttl):
                    self.refresh_users()

    def _stale(self, at: float | None, ttl: float) -> bool:
        return at is None or self._clock() - at > ttl

    def refresh_groups(self) -> list[Group]:
        response = self._client.usergroups_list(include_users=True, include_disabled=True, include_count=True)
        groups = {g.id: g for g in (_group(raw) for raw in response.get("usergroups") or [])}
        with self._lock:
            self._groups = groups
            self._groups_at = self._clock()
        return list(groups.values())

    def refresh_group(self, group_id: str) -> Group | None:
        """One group's members, fresh from Slack (after an event about it)."""
        self._ensure_groups()
        with self._lock:
            known = self._groups.get(group_id)
        if known is None:
            self.refresh_groups()
            with self._lock:
                return self._groups.get(group_id)
        response = self._client.usergroups_users_list(usergroup=group_id, include_disabled=True)
        group = Group(known.id, known.handle, known.name, tuple(response.get("users") or []), known.disabled)
        with self._lock:
            self._groups[group_id] = group
        return group

    def put_group(self, raw: dict[str, Any]) -> Group:
        """A group as an event carries it (subteam_created / subteam_updated)."""
        group = _group(raw)
        with self._lock:
            self._groups[group.id] = group
        return group

    def refresh_users(self) -> int:
        users: dict[str, User] = {}
        cursor = None
        while True:
            response = self._client.users_list(limit=USERS_PAGE, cursor=cursor)
            for raw in response.get("members") or []:
                profile = raw.get("profile") or {}
                users[raw["id"]] = User(
                    id=raw["id"],
                    name=raw.get("name") or "",
                    real_name=raw.get("real_name") or profile.get("real_name") or "",
                    deleted=bool(raw.get("deleted")),
                    is_bot=bool(raw.get("is_bot")),
                )
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        by_name = {}
        for user in users.values():
            if not user.deleted and user.name:
                by_name[user.name.lower()] = user.id
        with self._lock:
            self._users = users
            self._users_by_name = by_name
            self._users_at = self._clock()
        return len(users)


def _group(raw: dict[str, Any]) -> Group:
    return Group(
        id=raw["id"],
        handle=raw.get("handle") or "",
        name=raw.get("name") or "",
        members=tuple(raw.get("users") or ()),
        disabled=bool(raw.get("date_delete")),
    )
