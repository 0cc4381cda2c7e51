"""Signed, malformed payloads into `licensebot serve` (SPEC §4; issue 10, defect 11): never a 5xx, never a
traceback in the server's log, never a change.

Hypothesis takes a well-formed payload of every kind Slack sends (commands, clicks, submissions of each
modal, typeahead, closes, events) and breaks it: a value anywhere replaced by another type, a huge
number, a huge text, a list for a dict. Bounded (a few hundred examples, no deadline) so it stays in the
suite. The payloads come from someone with no role, so a shape that slipped through as valid could still
change nothing; every change a person without a role may make (a license request) is left out.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import slack_signing as slack
from tests.support.bot_process import GLOBAL_ADMIN, SIGNING_SECRET, TEAM_ID, BotProcess
from tests.support.slack_e2e import everything

pytestmark = pytest.mark.e2e

NOBODY = "U0NOBODY1"  # holds no role
APP = json.dumps({"app": "Contoso CRM"})
HUGE = "<a 4,400-digit number>"  # written into the JSON as bare digits: past Python's 4,300-digit int() limit


def _view(callback_id: str, values: dict[str, Any], metadata: str = APP) -> dict[str, Any]:
    blocks = [{"type": "input", "block_id": block, "label": {"type": "plain_text", "text": block},
               "element": {"type": "plain_text_input", "action_id": next(iter(actions))}}
              for block, actions in values.items()]
    return {"id": "V0FUZZ001", "type": "modal", "team_id": TEAM_ID, "callback_id": callback_id, "hash": "1.abc",
            "private_metadata": metadata, "blocks": blocks, "state": {"values": values}}


def _common(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "team": {"id": TEAM_ID, "domain": "fake"}, "user": {"id": NOBODY, "team_id": TEAM_ID},
            "api_app_id": "A0APP", "token": "x", **extra}


def _click(action_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return _common("block_actions", trigger_id="t.1", response_url="http://127.0.0.1:9/r", actions=[
        {"action_id": action_id, "block_id": "b", "type": "button", "value": value, "action_ts": "1.2"}], **extra)


SEATS = {"total": {"total": {"type": "number_input", "value": "12"}}}
PICK = {"assignees": {"unassign_assignees": {"type": "multi_static_select", "selected_options": [
    {"text": {"type": "plain_text", "text": "x"}, "value": "user:U0ANN001"}]}}}
ASSIGN = {"users": {"users": {"type": "multi_users_select", "selected_users": ["U0ANN001"]}},
          "groups": {"groups": {"type": "multi_external_select", "selected_options": [
              {"text": {"type": "plain_text", "text": "@design"}, "value": "SDESIGN1"}]}}}
DENY = {"reason": {"reason": {"type": "plain_text_input", "value": "no"}}}

PAYLOADS: list[dict[str, Any]] = [
    _common("view_submission", view=_view("seats_save", SEATS)),
    _common("view_submission", view=_view("unassign_pick", PICK)),
    _common("view_submission", view=_view("unassign_confirm", {}, json.dumps(
        {"app": "Contoso CRM", "users": ["U0ANN001"], "groups": []}))),
    _common("view_submission", view=_view("assign_licenses", ASSIGN)),
    _common("view_submission", view=_view("license_request_deny", DENY, json.dumps({"request": 1}))),
    _common("view_closed", view=_view("seats_save", SEATS), is_cleared=False),
    _click("details_seats", "Contoso CRM"),
    _click("details_assign", "Contoso CRM"),
    _click("details_unassign", "Contoso CRM"),
    _click("request_approve", "1"),
    _click("request_deny", "1"),
    _click("install_product", "Contoso CRM"),
    _click("groups", "SDESIGN1", view=_view("assign_licenses", ASSIGN), container={"type": "view"}),
    _common("block_suggestion", action_id="groups", block_id="groups", value="des"),
    _common("block_suggestion", action_id="unassign_assignees", block_id="assignees", value="a",
            view=_view("unassign_pick", PICK)),
    _common("block_suggestion", action_id="app", block_id="app", value="con"),
]
COMMANDS = ["list", "show contoso", "seats contoso", "assign contoso <@U0ANN001|ann>", "unassign contoso",
            "roles", "roles grant <@U0ANN001|ann> global-admin", "mine", "requests", "audit", "help"]
EVENTS: list[dict[str, Any]] = [
    {"type": "subteam_members_changed", "subteam_id": "S0FUZZ001", "added_users": ["U0FUZZ002"],
     "removed_users": [], "date_previous_update": 1, "date_update": 2},
    {"type": "subteam_updated", "subteam": {"id": "S0FUZZ001", "handle": "fuzz", "name": "Fuzz", "users": [],
                                            "user_count": "0", "date_update": 3, "date_delete": 0}},
    {"type": "user_change", "user": {"id": "U0FUZZ002", "name": "fuzz", "deleted": False}},
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([10**30, -(10**30), HUGE, 2**63, -1, 0]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["9" * 4400, "1" * 309, "x" * 5000, "user:", "group:", "{not json", "[]", "null", "\x00"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=3), max_leaves=6)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replace(node[head], rest, value)
    return copy


@st.composite
def broken(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    payload = base
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(payload)))
        payload = _replace(payload, path, draw(values))
    return payload


def _encode(payload: Any) -> str:
    return json.dumps(payload).replace(json.dumps(HUGE), "9" * 4400)


requests = st.one_of(
    st.sampled_from(PAYLOADS).flatmap(broken).map(lambda p: urlencode({"payload": _encode(p)}).encode()),
    st.sampled_from(EVENTS).flatmap(broken).map(
        lambda e: _encode({"type": "event_callback", "team_id": TEAM_ID, "api_app_id": "A0APP", "event": e,
                           "event_id": f"EvFuzz{time.monotonic_ns()}", "event_time": int(time.time())}).encode()),
    st.tuples(st.sampled_from(COMMANDS), st.dictionaries(
        st.sampled_from(["text", "user_id", "team_id", "trigger_id", "channel_id", "response_url", "command"]),
        st.text(max_size=40) | st.sampled_from(["9" * 4400, "", "/licenses", "U0ANN001"]), max_size=3)).map(
        lambda c: urlencode({"command": "/licenses", "text": c[0], "team_id": TEAM_ID, "user_id": NOBODY,
                             "trigger_id": "t.1", "channel_id": "C1", "response_url": "http://127.0.0.1:9/r",
                             **c[1]}).encode()),
)


def test_signed_malformed_payloads_get_no_5xx_no_traceback_and_change_nothing(bot: BotProcess) -> None:
    before = everything(bot.database_url)
    answered: list[int] = []

    @settings(max_examples=250, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=requests)
    def post(body: bytes) -> None:
        seen = len(bot.output)
        status, _, raw = slack.post(bot.events_url, body, SIGNING_SECRET)
        answered.append(status)
        assert status < 500, (status, raw[:200], body[:500])
        time.sleep(0.01)  # what the request logged (before its ack) is in the output by now
        assert not [line for line in bot.output[seen:] if "Traceback" in line], (body[:500], bot.output[seen:])

    post()
    time.sleep(1.0)  # background work the payloads queued (modals, events) has run
    tracebacks = [n for n, line in enumerate(bot.output) if "Traceback" in line]
    assert not tracebacks, "\n".join(bot.output[tracebacks[0] - 2: tracebacks[0] + 30])
    assert everything(bot.database_url) == before
    assert bot.healthz() == 200
    assert any(status == 200 for status in answered) and any(400 <= status < 500 for status in answered)


def _as(user_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "user": {"id": user_id, "team_id": TEAM_ID}}


def _seats(value: Any) -> dict[str, Any]:
    return _as(GLOBAL_ADMIN, _common("view_submission", view=_view(
        "seats_save", {"total": {"total": {"type": "number_input", "value": value}}})))


def _form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": _encode(payload)}).encode()


# The shapes the attack run of issue 10 found tracebacks with, each answered quietly now.
CASES: list[tuple[str, bytes, int]] = [
    ("blocks not objects", _form(_common("view_submission", view={**_view("nope", {}), "blocks": ["x", 1]})), 400),
    ("actions not a list", _form(_common("block_actions", trigger_id="t", actions={"action_id": "x"})), 400),
    ("actions empty", _form(_common("block_actions", trigger_id="t", actions=[])), 400),
    ("an action without its id", _form(_common("block_actions", trigger_id="t", actions=[{"value": "1"}])), 400),
    ("an action id that is a number", _form(_common("block_actions", trigger_id="t", actions=[{"action_id": 7}])), 400),
    ("state values a list", _form(_common("view_submission", view={**_view("seats_save", {}), "state": {
        "values": [1]}})), 400),
    # events are acknowledged (200) and dropped: Slack redelivers what gets a 4xx
    ("event null", json.dumps({"type": "event_callback", "team_id": TEAM_ID, "event": None}).encode(), 200),
    ("event type a list", json.dumps({"type": "event_callback", "team_id": TEAM_ID, "event": {"type": []}}).encode(),
     200),
    ("user a number", _form({**_common("block_suggestion", action_id="groups", value="d"), "user": 5}), 400),
    ("a 10**30 number", _form(_common("block_suggestion", action_id="groups", value="d", extra=10**30)), 400),
    ("a 4,400-digit number", _form(_common("block_suggestion", action_id="groups", value="d", extra=HUGE)), 400),
    ("a request id of 10**30", _form(_as(GLOBAL_ADMIN, _common("view_submission", view=_view(
        "license_request_deny", DENY, json.dumps({"request": 10**30}))))), 200),
    ("a request id of true", _form(_as(GLOBAL_ADMIN, _common("view_submission", view=_view(
        "license_request_deny", DENY, json.dumps({"request": True}))))), 200),
    ("an approve click on request 10**30", _form(_as(GLOBAL_ADMIN, _click("request_approve", str(10**30)))), 200),
    ("a modal without inputs that fails", _form(_as(GLOBAL_ADMIN, _common("view_submission", view={
        **_view("unassign_confirm", {}, json.dumps({"app": "Contoso CRM", "users": [["U1"]], "groups": []})),
        "blocks": [{"type": "section", "block_id": "s"}]}))), 200),
]



@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_shape_that_made_a_traceback_gets_a_quiet_answer(bot: BotProcess, name: str, body: bytes,
                                                              expected: int) -> None:
    before = everything(bot.database_url)
    status, _, raw = slack.post(bot.events_url, body, SIGNING_SECRET)
    assert status == expected, raw[:300]
    if status == 200 and raw.startswith(b"{"):
        answer = json.loads(raw)
        assert answer.get("errors") != {}, answer  # Slack refuses an empty errors object
    time.sleep(0.3)
    assert not [line for line in bot.output if "Traceback" in line], "\n".join(bot.output[-40:])
    assert everything(bot.database_url) == before
    # the same shape unsigned is a 401, not a 400: the signature is checked first
    assert slack.post(bot.events_url, body, "not-the-secret")[0] == 401


@pytest.mark.parametrize("value", ["9" * 4400, "1" * 40, "-5", "12abc", ["12"], {"n": 1}, None])
def test_a_seats_total_of_any_shape_gets_a_field_error(bot: BotProcess, value: Any) -> None:
    before = everything(bot.database_url)
    status, _, raw = slack.post(bot.events_url, _form(_seats(value)), SIGNING_SECRET)
    if status == 200:
        answer = json.loads(raw)
        assert answer["response_action"] == "errors" and answer["errors"]["total"], answer
    else:
        assert status == 400  # a list or an object for a text is not Slack's shape
    assert everything(bot.database_url) == before
    assert not [line for line in bot.output if "Traceback" in line]
