"""manifest.yml creates this app as it is: the command, the URLs, the events it handles, the scopes its calls need.

The scopes are checked against the code: every Web API method a `client.…` call in handlers/ or bot/ uses
must be covered, and every scope must be needed by some call or event (least privilege).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EVENTS_URL = "https://YOUR-HOST/slack/events"

# Web API method (as slack_sdk names it) → the bot scopes it needs; an empty set: none beyond the token.
SCOPES_OF_METHOD: dict[str, set[str]] = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "conversations_open": {"im:write"},
    "views_open": set(),
    "views_push": set(),
    "views_update": set(),
    "views_publish": set(),
    "users_list": {"users:read", "users:read.email"},  # emails: assignments import by email, exports
    "users_info": {"users:read"},
    "users_lookupByEmail": {"users:read", "users:read.email"},
    "usergroups_list": {"usergroups:read"},
    "files_upload_v2": {"files:write"},
    "usergroups_users_list": {"usergroups:read"},
}
SCOPES_OF_EVENT = {
    "app_home_opened": set(),  # delivered to any app with the Home tab on
    "subteam_created": {"usergroups:read"},
    "subteam_updated": {"usergroups:read"},
    "subteam_members_changed": {"usergroups:read"},
    "user_change": {"users:read"},
    "team_join": {"users:read"},
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for d in ("handlers", "bot") for p in sorted((ROOT / d).rglob("*.py")))


def called_methods() -> set[str]:
    # a client, or deps.views (the interactive client of views on a trigger)
    return set(re.findall(r"(?:client|views)\.([a-z]+_[A-Za-z0-9_]+)\b", sources()))


def handled_events() -> set[str]:
    return set(re.findall(r"""\.event\(\s*["']([a-z_]+)["']""", sources()))


def test_the_slash_command_escapes_mentions_and_posts_to_the_one_endpoint(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/licenses"
    assert command["should_escape"] is True
    assert command["url"] == EVENTS_URL
    assert command["usage_hint"] and len(command["usage_hint"]) <= 1000
    assert 0 < len(command["description"]) <= 2000


def test_interactivity_options_and_events_use_the_one_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL,
                                         "message_menu_options_url": EVENTS_URL}
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["socket_mode_enabled"] is False  # HTTP by default; the README says how to switch


def test_the_app_has_a_bot_user_and_fits_slacks_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert 0 < len(info["name"]) <= 35 and 0 < len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # DMs from the bot land there
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True  # everyone's Home (app_home_opened)


def test_every_event_the_code_handles_is_subscribed(manifest: dict[str, Any]) -> None:
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"subteam_created", "subteam_updated", "subteam_members_changed", "user_change", "team_join"} <= subscribed
    assert handled_events() <= subscribed, f"handled but not subscribed: {handled_events() - subscribed}"


def test_the_scopes_cover_every_call_and_event_and_no_more(manifest: dict[str, Any]) -> None:
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    methods = called_methods()
    assert {"views_open", "chat_postEphemeral", "usergroups_list", "users_list"} <= methods  # the grep works
    unknown = methods - SCOPES_OF_METHOD.keys()
    assert not unknown, f"add these Web API methods and their scopes to SCOPES_OF_METHOD: {sorted(unknown)}"
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    needed = {"commands"}.union(*(SCOPES_OF_METHOD[m] for m in methods), *(SCOPES_OF_EVENT[e] for e in events))
    assert needed <= granted, f"missing scopes: {sorted(needed - granted)}"
    assert granted <= needed, f"scopes nothing uses (least privilege): {sorted(granted - needed)}"


def test_the_manifest_is_valid_against_slacks_own_schema(manifest: dict[str, Any]) -> None:
    """Slack's JSON schema of a version-1 manifest (slackapi/manifest-schema), kept beside the project:
    skipped where that reference is absent, as in a clone on its own."""
    jsonschema = pytest.importorskip("jsonschema")
    path = ROOT.parent / "shared" / "reference" / "slack-manifest.schema.1.0.0.json"
    if not path.exists():
        pytest.skip(f"Slack's manifest schema is not at {path}")
    validator = jsonschema.Draft7Validator(json.loads(path.read_text(encoding="utf-8")))
    problems = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(manifest)]
    assert problems == []
