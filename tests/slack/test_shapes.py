"""handlers/http/shapes.py: Slack's own payloads pass (whatever names our blocks carry), broken ones do not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from handlers.http.shapes import malformed
from tests.support import slack_signing as slack

VIEW = {
    "id": "V1", "team_id": "T0TEAM", "type": "modal", "callback_id": "assign_licenses", "hash": "1.a",
    "private_metadata": json.dumps({"app": "Contoso CRM"}), "app_installed_team_id": "T0TEAM",
    "title": {"type": "plain_text", "text": "Assign licenses"}, "close": None, "submit": None,
    "blocks": [
        {"type": "input", "block_id": "users", "label": {"type": "plain_text", "text": "Users"},
         "element": {"type": "multi_users_select", "action_id": "users", "initial_users": ["U1"]}},
        {"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "*x*"},
         "fields": [{"type": "mrkdwn", "text": "a"}]},
        {"type": "rich_text", "block_id": "r", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "hi", "style": {"bold": True}}, {"type": "user", "user_id": "U1"}]}]},
    ],
    # block ids and action ids are our names: "users", "type", "actions" mean nothing here
    "state": {"values": {
        "users": {"users": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
        "type": {"actions": {"type": "static_select", "selected_option": None}},
        "total": {"total": {"type": "number_input", "value": None}},
    }},
}

MESSAGE_CLICK: dict[str, Any] = {
    "type": "block_actions", "enterprise": None, "is_enterprise_install": False,
    "team": {"id": "T0TEAM", "domain": "fake"}, "user": {"id": "U1", "username": "ann", "name": "ann", "team_id": "T0TEAM"},
    "api_app_id": "A1", "token": "x", "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/actions/x",
    "container": {"type": "message", "message_ts": "1.2", "channel_id": "D1", "is_ephemeral": False},
    "channel": {"id": "D1", "name": "directmessage"},
    "message": {"type": "message", "user": "UBOT", "ts": "1.2", "bot_id": "B1", "text": "x", "blocks": [],
                "attachments": [{"id": 1, "fallback": "x", "text": "y", "actions": [],
                                 "fields": [{"title": "t", "value": "v", "short": True}]}]},
    "state": {"values": {}},
    "actions": [{"action_id": "request_approve", "block_id": "b", "type": "button", "value": "12",
                 "text": {"type": "plain_text", "text": "Approve"}, "action_ts": "1.3"}],
}

EVENTS: list[dict[str, Any]] = [
    {"token": "x", "team_id": "T0TEAM", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
     "event_time": 1700000000, "authorizations": [{"enterprise_id": None, "team_id": "T0TEAM", "user_id": "UBOT",
                                                   "is_bot": True, "is_enterprise_install": False}],
     "event": event}
    for event in (
        {"type": "subteam_members_changed", "subteam_id": "S1", "team_id": "T0TEAM", "date_previous_update": 1,
         "date_update": 2, "added_users": ["U1"], "added_users_count": "1", "removed_users": [],
         "removed_users_count": "0"},
        {"type": "subteam_updated", "subteam": {"id": "S1", "team_id": "T0TEAM", "is_usergroup": True, "name": "D",
                                                "handle": "d", "date_create": 1, "date_update": 2, "date_delete": 0,
                                                "users": ["U1"], "user_count": "1", "prefs": {"channels": []}}},
        {"type": "user_change", "user": {"id": "U1", "team_id": "T0TEAM", "name": "ann", "deleted": False,
                                         "profile": {"real_name": "Ann", "team": "T0TEAM"}, "is_bot": False}},
        {"type": "message", "channel": "D1", "user": "U1", "text": "hi", "ts": "1.2", "team": "T0TEAM",
         "channel_type": "im"},
    )
]


@pytest.mark.parametrize("payload", [
    slack.view_submission_payload(VIEW, "U1", VIEW["state"]["values"]),
    slack.view_closed_payload(VIEW, "U1"),
    slack.options_payload("groups", "groups", "des", view=VIEW),
    MESSAGE_CLICK,
    {"command": "/licenses", "text": "list", "team_id": "T0TEAM", "user_id": "U1", "trigger_id": "t",
     "channel_id": "C1", "response_url": "https://hooks.slack.com/commands/x", "token": "x"},
    *EVENTS,
], ids=lambda p: str(p.get("type") or p.get("command")) + ":" + str((p.get("event") or {}).get("type", "")))
def test_slack_s_own_payloads_pass(payload: dict[str, Any]) -> None:
    assert malformed(json.loads(json.dumps(payload))) is None


def _broken(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(base)
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


@pytest.mark.parametrize(("path", "value"), [
    (("actions",), {"action_id": "x"}),
    (("actions",), []),
    (("actions", 0), "x"),
    (("actions", 0, "action_id"), 7),
    (("actions", 0, "value"), ["12"]),
    (("user",), 5),
    (("user", "id"), ["U1"]),
    (("team",), ["T0TEAM"]),
    (("container",), "view"),
    (("state", "values"), [1]),
    (("state", "values"), {"b": ["x"]}),
    (("message", "blocks"), ["x"]),
    (("trigger_id",), 10**30),
    (("actions", 0, "action_ts"), {"a": 1}),
    (("message", "attachments", 0, "id"), 10**30),
    (("message", "attachments", 0, "id"), float("inf")),
])
def test_broken_shapes_are_named(path: tuple[Any, ...], value: Any) -> None:
    assert malformed(_broken(MESSAGE_CLICK, path, value)) is not None


def test_required_fields_by_type_and_depth() -> None:
    assert malformed([1, 2]) is not None
    assert malformed({"type": "view_submission", "view": {"id": "V1"}}) == "view.callback_id is missing"
    assert malformed({"type": "event_callback", "event": None}) == "event.type is missing"
    assert malformed({"type": "block_suggestion", "value": "x"}) == "action_id is missing"
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    assert "too deep" in str(malformed({"type": "x", "extra": deep}))
