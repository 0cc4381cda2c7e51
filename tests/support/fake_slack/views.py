"""Modals and App Home: views.open, views.push, views.update, views.publish.

Every view is kept in ``fake.views[view_id]`` as Slack returns it (defaults filled in, a fresh ``hash``
on every change). ``trigger_id="expired"`` is refused as an expired trigger.
"""

from __future__ import annotations

import copy
import secrets
import time

from .checks import view_errors
from .core import FakeSlackCore, slack_method
from .wire import SlackError

MAX_VIEW_STACK = 3  # Slack allows at most 3 modals in a stack


class ViewMethods(FakeSlackCore):
    def _init_state(self) -> None:
        self.views: dict[str, dict] = {}
        self._view_stack: list[str] = []  # the latest modal stack (views.open starts a new one)
        self._external_ids: dict[str, str] = {}
        self._home_views: dict[str, str] = {}  # user_id -> view_id
        self._view_counter = 0

    def _check_trigger(self, args: dict) -> None:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        if trigger_id == "expired":
            raise SlackError("expired_trigger_id")

    @staticmethod
    def _check_view(args: dict, expected_type: str) -> dict:
        view = args.get("view")
        errors = view_errors(view, expected_type)
        if errors:
            raise SlackError("invalid_arguments", errors)
        return view

    def _store_view(self, view: dict, view_id: str | None = None, root_id: str | None = None,
                    previous_id: str | None = None) -> dict:
        """Store ``view`` as Slack returns it: defaults filled in, a fresh hash on every change."""
        external_id = view.get("external_id") or ""
        if self._external_ids.get(external_id, view_id) != view_id:
            raise SlackError("duplicate_external_id")
        if view_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:07d}"
        stored = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            **copy.deepcopy(view),
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": root_id or view_id,
            "previous_view_id": previous_id,
        }
        if external_id:
            self._external_ids[external_id] = view_id
        self.views[view_id] = stored
        return stored

    @slack_method("views.open")
    def _views_open(self, args: dict) -> dict:
        self._check_trigger(args)
        view = self._store_view(self._check_view(args, "modal"))
        self._view_stack = [view["id"]]
        return {"ok": True, "view": view}

    @slack_method("views.push")
    def _views_push(self, args: dict) -> dict:
        self._check_trigger(args)
        view = self._check_view(args, "modal")
        if len(self._view_stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        top = self._view_stack[-1] if self._view_stack else None
        root = self.views[top]["root_view_id"] if top else None
        view = self._store_view(view, root_id=root, previous_id=top)
        self._view_stack.append(view["id"])
        return {"ok": True, "view": view}

    @slack_method("views.update")
    def _views_update(self, args: dict) -> dict:
        view_id = args.get("view_id") or self._external_ids.get(args.get("external_id") or "")
        if not args.get("view_id") and not args.get("external_id"):
            raise SlackError("invalid_arguments", ["[ERROR] either view_id or external_id is required"])
        current = self.views.get(view_id or "")
        if current is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._check_view(args, current["type"])
        stored = self._store_view(view, view_id, current["root_view_id"], current["previous_view_id"])
        return {"ok": True, "view": stored}

    @slack_method("views.publish")
    def _views_publish(self, args: dict) -> dict:
        user_id = args.get("user_id")
        if not user_id:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        view = self._check_view(args, "home")
        view_id = self._home_views.get(user_id)
        if view_id and args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        stored = self._store_view(view, view_id)
        self._home_views[user_id] = stored["id"]
        return {"ok": True, "view": stored}
