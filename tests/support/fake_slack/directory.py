"""The workspace directory: users and user groups, set up by tests (``add_user``, ``add_group``...) and
served as users.list (paged with cursors), users.info, usergroups.list and usergroups.users.list.
"""

from __future__ import annotations

from collections.abc import Iterable

from .core import FakeSlackCore, slack_method
from .wire import SlackError, decode_cursor, encode_cursor, truthy

MAX_PAGE = 1000  # Slack caps users.list pages at 1000 members


class DirectoryMethods(FakeSlackCore):
    def _init_state(self) -> None:
        self._users: dict[str, dict] = {}
        self._user_order: list[str] = []  # insertion order, append-only: offset cursors stay valid
        self._groups: dict[str, dict] = {}
        self._user_counter = 0

    # --- set up by tests ----------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
        team_id: str | None = None,
        locale: str = "en-US",
    ) -> None:
        """`locale` is the person's Slack language, given only to calls with include_locale=true."""
        with self._cond:
            member = self._member(user_id, name, real_name, deleted, is_bot, team_id)
            member["locale"] = locale
            self._put_user(member)

    def add_users(self, n: int, prefix: str = "U") -> list[str]:
        """Add ``n`` users with fresh ids (``U00000001``...) and return the ids."""
        with self._cond:
            ids = []
            while len(ids) < n:
                self._user_counter += 1
                user_id = f"{prefix}{self._user_counter:08d}"
                if user_id not in self._users:
                    self._put_user(self._member(user_id, None, None, False, False, None))
                    ids.append(user_id)
            return ids

    def delete_user(self, user_id: str) -> None:
        """Deactivate a user: still listed (``deleted: true``), gone from user groups."""
        with self._cond:
            self._users[user_id]["deleted"] = True

    remove_user = delete_user

    def add_group(
        self,
        group_id: str,
        handle: str,
        name: str,
        members: Iterable[str] = (),
        disabled: bool = False,
    ) -> None:
        with self._cond:
            self._groups[group_id] = {
                "id": group_id,
                "team_id": self.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name,
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": 1_700_000_000,
                "date_update": 1_700_000_000,
                "date_delete": 1_700_000_001 if disabled else 0,
                "auto_type": None,
                "created_by": self.bot_user_id,
                "updated_by": self.bot_user_id,
                "deleted_by": self.bot_user_id if disabled else None,
                "prefs": {"channels": [], "groups": []},
                "users": list(members),
            }

    def set_group_members(self, group_id: str, members: Iterable[str]) -> None:
        with self._cond:
            self._groups[group_id]["users"] = list(members)
            self._groups[group_id]["date_update"] += 1

    def _member(self, user_id, name, real_name, deleted, is_bot, team_id) -> dict:
        name = name or user_id.lower()
        real_name = real_name if real_name is not None else name
        team = team_id or self.team_id
        profile = {
            "display_name": name,
            "display_name_normalized": name,
            "real_name": real_name,
            "real_name_normalized": real_name,
            "team": team,
        }
        if not is_bot:
            profile["email"] = f"{name}@example.com"
        return {
            "id": user_id,
            "team_id": team,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": "Europe/London",
            "locale": "en-US",
            "updated": 1_700_000_000,
            "profile": profile,
        }

    def _put_user(self, member: dict) -> None:
        if member["id"] not in self._users:
            self._user_order.append(member["id"])
        self._users[member["id"]] = member

    # --- users and user groups ----------------------------------------------------------------

    @slack_method("users.list")
    def _users_list(self, args: dict) -> dict:
        try:
            limit = int(args.get("limit") or 0)
        except (TypeError, ValueError):
            raise SlackError("invalid_limit") from None
        limit = MAX_PAGE if limit <= 0 else min(limit, MAX_PAGE)
        start = decode_cursor(args["cursor"]) if args.get("cursor") else 0
        page_ids = self._user_order[start:start + limit]
        end = start + len(page_ids)
        next_cursor = encode_cursor(end) if end < len(self._user_order) else ""
        return {
            "ok": True,
            "members": [_with_locale(self._users[user_id], args) for user_id in page_ids],
            "cache_ts": 1_700_000_000,
            "response_metadata": {"next_cursor": next_cursor},
        }

    @slack_method("users.info")
    def _users_info(self, args: dict) -> dict:
        member = self._users.get(args.get("user") or "")
        if member is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": _with_locale(member, args)}

    def _active_members(self, group: dict) -> list[str]:
        # Slack drops deactivated accounts from user groups.
        return [u for u in group["users"] if not self._users.get(u, {}).get("deleted")]

    @slack_method("usergroups.list")
    def _usergroups_list(self, args: dict) -> dict:
        include_disabled = truthy(args.get("include_disabled"))
        groups = []
        for group in self._groups.values():
            if group["date_delete"] and not include_disabled:
                continue
            members = self._active_members(group)
            shown = {k: v for k, v in group.items() if k != "users"}
            shown["user_count"] = len(members)
            if truthy(args.get("include_users")):
                shown["users"] = members
            groups.append(shown)
        return {"ok": True, "usergroups": groups}

    @slack_method("usergroups.users.list")
    def _usergroups_users_list(self, args: dict) -> dict:
        group = self._groups.get(args.get("usergroup") or "")
        if group is None or (group["date_delete"] and not truthy(args.get("include_disabled"))):
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": self._active_members(group)}


def _with_locale(member: dict, args: dict) -> dict:
    """As Slack does: `locale` only for calls that ask for it (include_locale=true)."""
    if str(args.get("include_locale")).lower() in ("true", "1"):
        return member
    return {k: v for k, v in member.items() if k != "locale"}
