"""The shapes Slack's payloads always have, checked before bolt reads them.

bolt (and slack-sdk under it) index payloads as Slack sends them: `body["actions"][0]["action_id"]`,
`view["state"]["values"]`, `payload["event"].get(...)`. A signed payload of another shape (a list where an
object belongs, a number for a text, a 10**30 id) made them raise deep inside the dispatch, with a
traceback in the log. Such a payload is not Slack's: it gets a quiet 400 instead (once its signature is
known to be good: a bad signature is a 401 first, whatever the body).

Only what Slack always sends one way is checked, by key, wherever it appears; what a payload may carry
in several shapes (a `user` is an id in message events and an object in interactivity) allows each of them,
and any key may be null. What bolt's matchers index without looking must be there (REQUIRED).
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 24  # Slack's deepest payloads (a view's state) nest about 10 levels
MAX_INT = 2**63 - 1  # every number Slack sends fits in 64 bits (what the databases store, too)

OBJECTS = frozenset({  # an object when present
    "view", "container", "state", "event", "message", "previous_message", "item", "assistant_thread",
    "function_data", "subteam", "profile", "selected_option", "response_metadata",
})
ID_OR_OBJECT = frozenset({"team", "user", "channel", "enterprise"})  # an id, or an object whose "id" is text
LISTS_OF_OBJECTS = frozenset({
    "actions", "authorizations", "blocks", "elements", "response_urls", "selected_options", "options",
    "option_groups", "initial_options", "fields",
})
LISTS_OF_TEXT = frozenset({
    "selected_users", "selected_conversations", "selected_channels", "added_users", "removed_users",
    "initial_users", "initial_conversations", "initial_channels", "users",
})
TEXTS = frozenset({
    "type", "callback_id", "action_id", "block_id", "trigger_id", "response_url", "private_metadata", "hash",
    "api_app_id", "event_id", "team_id", "user_id", "channel_id", "command", "token", "view_id", "external_id",
    "root_view_id", "previous_view_id", "app_id", "bot_id", "subteam_id", "value", "handle", "name",
    "selected_user", "selected_channel", "selected_conversation", "selected_date", "selected_time",
    "action_ts", "message_ts", "enterprise_id", "app_installed_team_id",
})
# or text; "id" too (a message's legacy attachments number theirs; people, teams and channels: ID_OR_OBJECT)
NUMBERS = frozenset({"date_update", "date_previous_update", "date_delete", "user_count", "event_time", "id"})
TEXT_OR_OBJECT = frozenset({"text"})  # a command's text; a block's text object


# What bolt's listener matchers index without looking, by the payload's type: a path of keys to a text.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "block_actions": (("actions", "0", "action_id"),),
    "view_submission": (("view", "callback_id"),),
    "view_closed": (("view", "callback_id"),),
    "block_suggestion": (("action_id",),),
    "shortcut": (("callback_id",),),
    "message_action": (("callback_id",),),
    "event_callback": (("event", "type"),),
}


def malformed(body: Any) -> str | None:
    """Why `body` (as bolt parsed it) cannot be one of Slack's payloads; None when its shape is Slack's."""
    if not isinstance(body, dict):
        return "the body is not an object"
    problem = _check(body, "", 0)
    if problem is not None:
        return problem
    for path in REQUIRED.get(str(body.get("type")), ()):
        if not isinstance(_at(body, path), str):
            return f"{'.'.join(path)} is missing"
    for action in body.get("actions") or ():
        if not isinstance(action.get("action_id"), str):
            return "an action without an action_id"
    return None


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
    return node


# Maps whose keys are names someone chose, not Slack's fields: how many levels down that holds.
FREE_KEYS = {"values": 2, "event_payload": MAX_DEPTH, "inputs": MAX_DEPTH}  # state: block ids, then action ids


def _check(node: Any, where: str, depth: int, free: int = 0) -> str | None:
    """`free` > 0: this node's keys (and those `free` - 1 levels below) are names, not Slack's fields."""
    if depth > MAX_DEPTH:
        return f"{where or 'the body'} nests too deep"
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return None
    if isinstance(node, int):
        return None if -MAX_INT - 1 <= node <= MAX_INT else f"{where}: a number out of range"
    if isinstance(node, float):
        return None if math.isfinite(node) else f"{where}: not a finite number"
    if isinstance(node, list):
        for index, item in enumerate(node):
            if (problem := _check(item, f"{where}[{index}]", depth + 1, free)) is not None:
                return problem
        return None
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}" if where else str(key)
            if not free and (problem := _key(key, value, here)) is not None:
                return problem
            below = max(free - 1, FREE_KEYS.get(key, 0) if not free else 0)
            if (problem := _check(value, here, depth + 1, below)) is not None:
                return problem
        return None
    return f"{where}: an unexpected value"


def _key(key: str, value: Any, where: str) -> str | None:
    if value is None:
        return None  # Slack sends null for what a payload lacks ("enterprise": null); REQUIRED says what must be
    if key in OBJECTS and not isinstance(value, dict):
        return f"{where} is not an object"
    if key in ID_OR_OBJECT and not (isinstance(value, str) or (
            isinstance(value, dict) and isinstance(value.get("id", ""), str | None))):
        return f"{where} is neither an id nor an object with an id"
    if key in LISTS_OF_OBJECTS and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        return f"{where} is not a list of objects"
    if key in LISTS_OF_TEXT and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return f"{where} is not a list of ids"
    if key in TEXTS and not isinstance(value, str):
        return f"{where} is not a text"
    if key in NUMBERS and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        return f"{where} is not a number"
    if key in TEXT_OR_OBJECT and not isinstance(value, str | dict):
        return f"{where} is neither a text nor a text object"
    if key == "values" and not (isinstance(value, dict) and all(
            isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
            for block in value.values())):
        return f"{where} is not a view's state"
    return None
