"""Build and send requests into the bot the way Slack does: signed, with Slack's payload shapes.

Slash commands are form-encoded fields; interactivity and options requests are a form field
``payload=<json>``; events are a JSON ``event_callback`` envelope. Every request carries
``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``).

Typical use::

    body = slash_command_body("/licenses", "assign Figma", response_url=fake.response_url())
    status, headers, reply = post(bot_url, body, SECRET)
    [opened] = fake.wait_for("views.open")
    view = opened.response["view"]
    payload = view_submission_payload(view, "U1", view_state(view, {"Users": ["U2", "U3"]}))
    post(bot_url, interactivity_body(payload), SECRET)

The payload builders (``view_state``, ``view_submission_payload``, ``button_click_payload``...) live in
tests/support/slack_payloads.py and are re-exported here, so ``slack_signing.view_state(...)`` works.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlencode

from tests.support.slack_payloads import (
    APP_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    block_actions_payload,
    button_click_payload,
    element_value,
    find_button,
    options_payload,
    view_closed_payload,
    view_state,
    view_submission_payload,
)

__all__ = [
    "APP_ID",
    "TEAM_DOMAIN",
    "VERIFICATION_TOKEN",
    "block_actions_payload",
    "button_click_payload",
    "element_value",
    "event_body",
    "find_button",
    "interactivity_body",
    "options_payload",
    "post",
    "retry_headers",
    "sign",
    "slash_command_body",
    "url_verification_body",
    "view_closed_payload",
    "view_state",
    "view_submission_payload",
]


# --- signing and sending --------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None, content_type: str | None = None) -> dict[str, str]:
    """Headers Slack sends with ``body``; ``timestamp`` defaults to now."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    if content_type is None:
        is_json = body.lstrip().startswith(b"{")
        content_type = "application/json" if is_json else "application/x-www-form-urlencoded"
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def retry_headers(num: int = 1, reason: str = "http_timeout") -> dict[str, str]:
    """Headers of Slack's redelivery of an event the bot did not acknowledge in time."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


# Loopback only: never go through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(
    url: str,
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    extra_headers: dict[str, str | None] | None = None,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    """POST a signed ``body``; returns (status, lower-cased headers, body), also for 4xx/5xx.
    An ``extra_headers`` value of None removes that header (e.g. to drop the signature)."""
    headers: dict[str, str] = sign(secret, body, timestamp)
    for name, value in (extra_headers or {}).items():
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in items}


# --- request bodies -------------------------------------------------------------------------


def slash_command_body(
    command: str = "/licenses",
    text: str = "",
    user_id: str = "U1",
    team_id: str = "T0TEAM",
    trigger_id: str = "trig-1",
    channel_id: str = "C1",
    response_url: str | None = None,
    user_name: str | None = None,
    channel_name: str = "general",
) -> bytes:
    """Form body of a slash command. Pass ``response_url=fake.response_url()`` when the bot may
    answer through it: the default points at slack.com, unreachable from tests."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or f"https://hooks.slack.com/commands/{team_id}/1/fake",
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def interactivity_body(payload: dict) -> bytes:
    """Form body of block actions, view submissions, view closed and block suggestions."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(
    event: dict,
    team_id: str = "T0TEAM",
    event_id: str = "Ev1",
    event_time: int | None = None,
    bot_user_id: str = "UBOT",
) -> bytes:
    """JSON body of an Events API ``event_callback``."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{event_id}",
    }
    return json.dumps(envelope).encode()


def url_verification_body(challenge: str = "challenge-1") -> bytes:
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}).encode()

