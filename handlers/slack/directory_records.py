"""The directory's pieces that hold no state: Slack's user and group records read into the core's values,
and the typeahead's index of groups (handlers/slack/directory.py keeps them)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from bot.directory import Group, User
from bot.names import fold


class GroupIndex:
    """Enabled groups sorted by handle, lower-cased once. Holds ids, so member changes never stale it."""

    def __init__(self, groups: Iterable[Group]) -> None:
        self.entries = sorted(
            ((fold(g.handle), fold(g.name), g.id) for g in groups if not g.disabled), key=lambda e: e[0]
        )
        self.handles = [handle for handle, _, _ in self.entries]

    def search(self, query: str, limit: int) -> list[str]:
        """Handle prefix first (found by bisection), then name prefix, then anywhere; each by handle."""
        q = fold(query.strip().lstrip("@"))
        if not q:
            return [group_id for _, _, group_id in self.entries[:limit]]
        found: list[str] = []
        for position in range(bisect_left(self.handles, q), len(self.handles)):
            if len(found) >= limit or not self.handles[position].startswith(q):
                break
            found.append(self.entries[position][2])
        room = limit - len(found)
        if room <= 0:
            return found
        by_name: list[str] = []
        inside: list[str] = []
        for handle, name, group_id in self.entries:
            if handle.startswith(q):
                continue
            if name.startswith(q):
                by_name.append(group_id)
                if len(by_name) >= room:
                    break
            elif len(inside) < room and (q in handle or q in name):
                inside.append(group_id)
        return (found + by_name + inside)[:limit]


def group_of(raw: dict[str, Any]) -> Group:
    return Group(
        id=str(raw["id"]),
        handle=str(raw.get("handle") or ""),
        name=str(raw.get("name") or ""),
        members=tuple(raw.get("users") or ()),
        disabled=bool(raw.get("date_delete")),
    )


def with_members(group: Group, members: Iterable[str]) -> Group:
    return Group(group.id, group.handle, group.name, tuple(members), group.disabled)


def user_of(raw: dict[str, Any]) -> User:
    profile = raw.get("profile") or {}
    name = str(raw.get("name") or "")
    return User(
        id=str(raw["id"]),
        name=name,
        real_name=same(str(raw.get("real_name") or profile.get("real_name") or ""), name),
        deleted=bool(raw.get("deleted")),
        is_bot=bool(raw.get("is_bot")),
        email=str(profile.get("email") or ""),
    )


def same(value: str, original: str) -> str:
    """`original` when equal: one string held instead of two."""
    return original if value == original else value


def number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def version_of(raw: dict[str, Any]) -> float:
    return number(raw.get("date_update")) or 0.0


def truncated(raw: dict[str, Any]) -> bool:
    """A listing that says the group has more members than it shows (Slack sends user_count as text)."""
    count = number(raw.get("user_count"))
    return count is not None and count > len(raw.get("users") or ())
