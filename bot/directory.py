"""Who is in which user group: the small interface the service needs from the workspace directory.

The Slack-backed directory lives in handlers/ (it calls the Web API); tests and the CLI without Slack
use the in-memory one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.names import fold


@dataclass(frozen=True, slots=True)  # slots: 20,000 users and their groups held for the process's life
class Group:
    id: str
    handle: str
    name: str
    members: tuple[str, ...] = ()
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str = ""
    real_name: str = ""
    deleted: bool = False
    email: str = ""
    is_bot: bool = False


class Directory(Protocol):
    def group(self, group_id: str) -> Group | None:
        """The group with its current members, or None when the workspace has no such group."""
        ...

    def search_groups(self, query: str, limit: int = 100) -> list[Group]:
        """Groups whose handle or name contains the query, best matches first."""
        ...

    def group_by_handle(self, handle: str) -> Group | None: ...

    def user(self, user_id: str) -> User | None:
        """The user with this id, or None when the directory does not know them."""
        ...

    def user_by_name(self, name: str) -> User | None: ...

    def user_by_email(self, email: str) -> User | None:
        """The (not deleted) user with this email, case-insensitively, or None."""
        ...


def rank_groups(groups: Iterable[Group], query: str, limit: int) -> list[Group]:
    """Handle prefix first, then name prefix, then anywhere; disabled groups never."""
    q = fold(query.strip().lstrip("@"))
    scored: list[tuple[int, str, Group]] = []
    for g in groups:
        if g.disabled:
            continue
        handle, name = fold(g.handle), fold(g.name)
        if not q or handle.startswith(q):
            rank = 0
        elif name.startswith(q):
            rank = 1
        elif q in handle or q in name:
            rank = 2
        else:
            continue
        scored.append((rank, handle, g))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [g for _, _, g in scored[:limit]]


class InMemoryDirectory:
    """A directory held in memory: the test double and the CLI's stand-in when Slack is not there."""

    def __init__(self, groups: Iterable[Group] = (), users: Iterable[User] = ()) -> None:
        self._lock = threading.Lock()
        self._groups = {g.id: g for g in groups}
        self._versions: dict[str, float] = {}
        self._users = {u.id: u for u in users}

    def put_group(self, group: Group, version: float | None = None) -> None:
        with self._lock:
            self._groups[group.id] = group
            if version is not None:
                self._versions[group.id] = version

    def set_members(self, group_id: str, members: Iterable[str]) -> None:
        with self._lock:
            g = self._groups[group_id]
            self._groups[group_id] = Group(g.id, g.handle, g.name, tuple(members), g.disabled)

    def put_user(self, user: User) -> None:
        with self._lock:
            self._users[user.id] = user

    def group(self, group_id: str) -> Group | None:
        with self._lock:
            return self._groups.get(group_id)

    def snapshot(self, group_id: str) -> tuple[Group | None, float | None]:
        """The group and its version (Slack's date_update, when one was given with put_group)."""
        with self._lock:
            return self._groups.get(group_id), self._versions.get(group_id)

    def search_groups(self, query: str, limit: int = 100) -> list[Group]:
        with self._lock:
            groups = list(self._groups.values())
        return rank_groups(groups, query, limit)

    def group_by_handle(self, handle: str) -> Group | None:
        wanted = fold(handle.strip().lstrip("@"))
        with self._lock:
            return next((g for g in self._groups.values() if fold(g.handle) == wanted), None)

    def user(self, user_id: str) -> User | None:
        with self._lock:
            return self._users.get(user_id)

    def user_by_name(self, name: str) -> User | None:
        wanted = fold(name.strip().lstrip("@"))
        with self._lock:
            return next((u for u in self._users.values() if fold(u.name) == wanted and not u.deleted), None)

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().casefold()
        with self._lock:
            return next((u for u in self._users.values()
                         if wanted and u.email.casefold() == wanted and not u.deleted), None)
