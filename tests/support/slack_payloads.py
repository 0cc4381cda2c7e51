"""Interactive payloads as Slack sends them to the bot: block actions (button clicks, selections), view
submissions and closes, options requests (``block_suggestion``), and the view state a person leaves.

Pure functions building dicts; wrap them with ``slack_signing.interactivity_body`` and send them with
``slack_signing.post``. Typical use::

    [opened] = fake.wait_for("views.open")
    view = opened.response["view"]
    payload = view_submission_payload(view, "U1", view_state(view, {"Users": ["U2", "U3"]}))
    click = button_click_payload(fake.views[view_id], "Install this product", user_id="U5")
"""

from __future__ import annotations

import copy
import time
from typing import Any

APP_ID = "A0APP"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated, but Slack still sends it
TEAM_DOMAIN = "fake-workspace"

# element type -> (key of its value in view state, key of its initial value in the element, kind)
_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "users_select": ("selected_user", "initial_user", "one"),
    "multi_users_select": ("selected_users", "initial_users", "many"),
    "conversations_select": ("selected_conversation", "initial_conversation", "one"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "many"),
    "channels_select": ("selected_channel", "initial_channel", "one"),
    "multi_channels_select": ("selected_channels", "initial_channels", "many"),
    "static_select": ("selected_option", "initial_option", "option"),
    "external_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "multi_external_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "datepicker": ("selected_date", "initial_date", "one"),
    "timepicker": ("selected_time", "initial_time", "one"),
}
_EMPTY = {"text": None, "one": None, "many": [], "option": None, "options": []}


# --- payloads -------------------------------------------------------------------------------


def _user(user_id: str, team_id: str) -> dict:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _common(kind: str, user_id: str, team_id: str) -> dict:
    return {
        "type": kind,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _payload_view(view: dict, team_id: str, values: dict | None = None) -> dict:
    """The view as Slack sends it back: the stored view (ids, hash) plus its current state."""
    sent = copy.deepcopy(view)
    sent.setdefault("id", "V0000000")
    sent.setdefault("hash", "1700000000.fakehash")
    sent.setdefault("team_id", team_id)
    sent.setdefault("app_id", APP_ID)
    sent.setdefault("private_metadata", "")
    sent.setdefault("callback_id", "")
    sent.setdefault("root_view_id", sent["id"])
    sent.setdefault("previous_view_id", None)
    if values is not None or "state" not in sent:
        sent["state"] = {"values": values or {}}
    return sent


def block_actions_payload(
    action_id: str,
    value: Any = None,
    block_id: str = "b1",
    user_id: str = "U1",
    team_id: str = "T0TEAM",
    trigger_id: str = "trig-1",
    view: dict | None = None,
    message: dict | None = None,
    channel_id: str = "C1",
    response_url: str | None = None,
    action_type: str = "button",
    text: str | None = None,
    values: dict | None = None,
) -> dict:
    """A click (``action_type="button"``, ``value`` its value) or a selection (e.g.
    ``action_type="static_select"``, ``value`` what is picked), in ``view`` or else in ``message``."""
    payload = _common("block_actions", user_id, team_id)
    payload["trigger_id"] = trigger_id
    payload["actions"] = [_action(action_id, block_id, action_type, value, text)]
    if view is not None:
        sent = _payload_view(view, team_id, values)
        payload["container"] = {"type": "view", "view_id": sent["id"]}
        payload["view"] = sent
        return payload
    message = message or {"type": "message", "ts": "1700000000.000100", "text": "", "blocks": []}
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    payload["channel"] = {"id": channel_id, "name": "directmessage" if channel_id[0] == "D" else "general"}
    payload["message"] = message
    payload["state"] = {"values": values or {}}
    payload["response_url"] = response_url or f"https://hooks.slack.com/actions/{team_id}/1/fake"
    return payload


def _action(action_id: str, block_id: str, action_type: str, value: Any, text: str | None) -> dict:
    action = {"action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
    if action_type == "button":
        action.update(type="button", text=_plain(text or action_id))
        if value is not None:
            action["value"] = value
        return action
    return {**action, **element_value(action_type, value)}


def button_click_payload(source: dict, button_text: str, **kwargs: Any) -> dict:
    """Click the button labelled ``button_text`` in a view (from ``fake.views``) or a message
    (from ``fake.messages``); ``kwargs`` as for :func:`block_actions_payload`."""
    button = find_button(source, button_text)
    in_view = source.get("type") in ("modal", "home")
    kwargs.setdefault("view" if in_view else "message", source)
    return block_actions_payload(
        button["action_id"], button.get("value"), button["block_id"], text=button_text, **kwargs
    )


def view_submission_payload(
    view: dict,
    user_id: str = "U1",
    values: dict | None = None,
    team_id: str = "T0TEAM",
    trigger_id: str = "trig-1",
    response_urls: list | None = None,
) -> dict:
    """Submit ``view``; ``values`` is state.values, e.g. from :func:`view_state`."""
    payload = _common("view_submission", user_id, team_id)
    payload["trigger_id"] = trigger_id
    payload["view"] = _payload_view(view, team_id, values if values is not None else view_state(view, {}))
    payload["response_urls"] = response_urls or []
    return payload


def view_closed_payload(view: dict, user_id: str = "U1", team_id: str = "T0TEAM", is_cleared: bool = False) -> dict:
    payload = _common("view_closed", user_id, team_id)
    payload["view"] = _payload_view(view, team_id)
    payload["is_cleared"] = is_cleared
    return payload


def options_payload(
    action_id: str,
    block_id: str,
    value: str,
    user_id: str = "U1",
    team_id: str = "T0TEAM",
    view: dict | None = None,
) -> dict:
    """A ``block_suggestion``: the user typed ``value`` into an external select."""
    payload = _common("block_suggestion", user_id, team_id)
    payload.update(action_id=action_id, block_id=block_id, value=value)
    if view is not None:
        sent = _payload_view(view, team_id)
        payload["container"] = {"type": "view", "view_id": sent["id"]}
        payload["view"] = sent
    return payload


# --- view state -----------------------------------------------------------------------------


def element_value(element_type: str, value: Any, element: dict | None = None) -> dict:
    """One entry of ``state.values[block_id][action_id]`` as Slack builds it.

    Options may be given as an option dict, a ``(text, value)`` pair, or a string matched
    against the element's options by value or text."""
    state_key, _, kind = _ELEMENTS.get(element_type, ("value", "initial_value", "text"))
    if value is None:
        picked = copy.deepcopy(_EMPTY[kind])
    elif kind == "text":
        picked = str(value)
    elif kind == "many":
        picked = list(value)
    elif kind == "option":
        picked = _option(value, element)
    elif kind == "options":
        picked = [_option(v, element) for v in value]
    else:
        picked = value
    return {"type": element_type, state_key: picked}


def _option(value: Any, element: dict | None) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple):
        return {"text": _plain(value[0]), "value": value[1]}
    for option in _element_options(element or {}):
        if value in (option.get("value"), option.get("text", {}).get("text")):
            return copy.deepcopy(option)
    return {"text": _plain(str(value)), "value": str(value)}


def _element_options(element: dict) -> list[dict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def view_state(view: dict, answers: dict[str, Any]) -> dict:
    """``state.values`` of ``view`` after the user answered: ``answers`` maps an input block's
    label text, block_id or action_id to a value. Inputs left alone keep their initial value,
    as on Slack; an answer that matches no input raises KeyError naming the inputs."""
    values: dict = {}
    unused = dict(answers)
    for index, block in enumerate(view.get("blocks") or []):
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id = block.get("block_id") or f"block-{index}"
        action_id = element.get("action_id") or f"action-{index}"
        label = (block.get("label") or {}).get("text")
        key = next((k for k in (label, block_id, action_id) if k in answers), None)
        if key is not None:
            unused.pop(key, None)
            value = answers[key]
        else:
            value = element.get(_ELEMENTS.get(element.get("type"), ("", "initial_value", ""))[1])
        values[block_id] = {action_id: element_value(element.get("type", ""), value, element)}
    if unused:
        raise KeyError(f"no input for {sorted(unused)}; inputs: {_input_names(view)}")
    return values


def _input_names(view: dict) -> list[str]:
    return [
        (b.get("label") or {}).get("text") or b.get("block_id", "?")
        for b in view.get("blocks") or []
        if b.get("type") == "input"
    ]


def find_button(source: dict | list, text: str) -> dict:
    """The button labelled ``text`` in a view, a message or a list of blocks, as the element
    dict plus its ``block_id``. Raises LookupError naming the buttons there are."""
    blocks = source if isinstance(source, list) else source.get("blocks") or []
    seen = []
    for index, block in enumerate(blocks):
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if not isinstance(element, dict) or element.get("type") != "button":
                continue
            label = (element.get("text") or {}).get("text")
            if label == text:
                return {**element, "block_id": block.get("block_id") or f"block-{index}"}
            seen.append(label)
    raise LookupError(f"no button {text!r}; buttons: {seen}")
