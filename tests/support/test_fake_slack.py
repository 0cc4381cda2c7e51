"""Tests of the fake Slack Web API and the request-signing helpers, through slack_sdk itself."""

import json
import threading
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

try:  # tests/ may or may not become a package
    from tests.support import slack_signing as ss
    from tests.support.fake_slack import FakeSlack
except ImportError:
    import slack_signing as ss
    from fake_slack import FakeSlack


def modal(title="Assign licenses", **extra):
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [], **extra}


@pytest.fixture(scope="module")
def server():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def fake(server):
    """One server for the module (fast); state that tests touch is reset between tests."""
    server.reset_calls()
    server.clear_faults()
    return server


@pytest.fixture
def client(fake):
    return WebClient(base_url=fake.url, token=fake.bot_token, timeout=5)


def error_of(call):
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response


# --- auth -----------------------------------------------------------------------------------


def test_url_has_trailing_slash_and_auth_test_answers_like_slack(fake, client):
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/api/")
    data = client.auth_test().data
    assert data["ok"] and data["team_id"] == "T0TEAM" and data["user_id"] == "UBOT"
    assert {"url", "team", "user", "bot_id"} <= data.keys()
    [call] = fake.calls_to("auth.test")
    assert call.status == 200 and call.headers["authorization"] == "Bearer xoxb-test-token"


def test_wrong_token_is_invalid_auth_for_every_method(fake):
    bad = WebClient(base_url=fake.url, token="xoxb-wrong")
    for call in (bad.auth_test, lambda: bad.chat_postMessage(channel="C1", text="x"), bad.users_list):
        assert error_of(call)["error"] == "invalid_auth"
    # A token form field that differs from the header is refused too.
    good = WebClient(base_url=fake.url, token=fake.bot_token)
    response = error_of(lambda: good.api_call("auth.test", data={"token": "xoxb-other"}))
    assert response["error"] == "invalid_auth"


def test_unknown_method_is_answered_and_recorded(fake, client):
    assert error_of(lambda: client.api_call("apps.uninstall"))["error"] == "unknown_method"
    assert fake.calls_to("apps.uninstall")[0].response == {"ok": False, "error": "unknown_method"}


# --- chat and conversations -----------------------------------------------------------------


def test_post_update_delete_message(fake, client):
    first = client.chat_postMessage(channel="C1", text="hello")
    second = client.chat_postMessage(channel="U7", text="dm")
    assert float(second["ts"]) > float(first["ts"])
    assert second["channel"] == "DU7"  # posting to a user id lands in the DM
    assert first["message"]["text"] == "hello"

    updated = client.chat_update(channel="C1", ts=first["ts"], text="edited")
    assert updated["message"]["text"] == "edited"
    assert fake.messages[("C1", first["ts"])]["text"] == "edited"
    response = error_of(lambda: client.chat_update(channel="C1", ts="1.2", text="x"))
    assert response["error"] == "message_not_found"

    client.chat_delete(channel="C1", ts=first["ts"])
    assert ("C1", first["ts"]) not in fake.messages
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_arguments_are_validated(client):
    assert error_of(lambda: client.chat_postMessage(channel="C1"))["error"] == "no_text"
    assert error_of(lambda: client.chat_postMessage(text="x", channel=""))["error"] == "channel_not_found"
    empty_section = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    response = error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=empty_section))
    assert response["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks/0/text/text]" in response["response_metadata"]["messages"][0]


def test_concurrent_posts_get_unique_increasing_ts(fake, client):
    def post_many():
        for _ in range(25):
            client.chat_postMessage(channel="C1", text="x")

    threads = [threading.Thread(target=post_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [c.response["ts"] for c in fake.calls_to("chat.postMessage")]
    assert len(stamps) == 200 and len(set(stamps)) == 200


def test_form_encoded_json_fields_are_decoded(fake, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client.api_call("chat.postMessage", data={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)})
    assert fake.calls_to("chat.postMessage")[-1].args["blocks"] == blocks


def test_conversations_open(client):
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert client.conversations_open(users=["U1", "U2"])["channel"]["id"].startswith("G")


# --- views ----------------------------------------------------------------------------------


def test_views_open_push_update_and_hash_conflict(fake, client):
    opened = client.views_open(trigger_id="t1", view=modal(external_id="ext-1"))["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert opened["previous_view_id"] is None and opened["state"] == {"values": {}}

    pushed = client.views_push(trigger_id="t2", view=modal("Confirm"))["view"]
    assert pushed["previous_view_id"] == opened["id"] and pushed["root_view_id"] == opened["id"]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Done"))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake.views[opened["id"]]["title"]["text"] == "Done"

    stale = error_of(lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
    assert stale["error"] == "hash_conflict"
    by_external_id = client.views_update(external_id="ext-1", view=modal("Again"))["view"]
    assert by_external_id["id"] == opened["id"]
    assert error_of(lambda: client.views_update(view_id="VNOPE", view=modal()))["error"] == "not_found"


def test_view_in_form_field_is_accepted(fake, client):
    response = client.api_call("views.open", data={"trigger_id": "t1", "view": json.dumps(modal())})
    assert response["view"]["title"]["text"] == "Assign licenses"
    assert fake.calls_to("views.open")[-1].args["view"]["type"] == "modal"


def test_view_validation_like_slack(client):
    assert client.views_open(trigger_id="t1", view=modal("x" * 24))["ok"]
    response = error_of(lambda: client.views_open(trigger_id="t1", view=modal("x" * 25)))
    assert response["error"] == "invalid_arguments"
    assert response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    too_much = modal(private_metadata="m" * 3001)
    assert error_of(lambda: client.views_open(trigger_id="t1", view=too_much))["error"] == "invalid_arguments"
    inputs_without_submit = modal(blocks=[{"type": "input", "label": {"type": "plain_text", "text": "Users"},
                                           "element": {"type": "multi_users_select", "action_id": "u"}}])
    assert error_of(lambda: client.views_open(trigger_id="t1", view=inputs_without_submit))["error"]
    assert error_of(lambda: client.views_open(trigger_id="expired", view=modal()))["error"] == "expired_trigger_id"


def test_views_publish_keeps_one_home_per_user(client):
    home = {"type": "home", "blocks": []}
    first = client.views_publish(user_id="U1", view=home)["view"]
    again = client.views_publish(user_id="U1", view=home)["view"]
    assert again["id"] == first["id"] and again["hash"] != first["hash"]


# --- directory ------------------------------------------------------------------------------


def test_users_list_pages_over_10000_users_exactly_once():
    with FakeSlack() as fake:
        started = time.monotonic()
        ids = fake.add_users(10_000)
        client = WebClient(base_url=fake.url, token=fake.bot_token)
        seen = [m["id"] for page in client.users_list(limit=200) for m in page["members"]]
        assert seen == ids and len(set(seen)) == 10_000
        assert len(fake.calls_to("users.list")) == 50
        assert fake.calls_to("users.list")[-1].response["response_metadata"]["next_cursor"] == ""
        assert time.monotonic() - started < 5


def test_users_list_caps_pages_and_adds_20000_users_fast():
    with FakeSlack() as fake:
        started = time.monotonic()
        fake.add_users(20_000)
        assert time.monotonic() - started < 1
        page = WebClient(base_url=fake.url, token=fake.bot_token).users_list(limit=5000)
        assert len(page["members"]) == 1000 and page["response_metadata"]["next_cursor"]
        member = page["members"][0]
        assert {"id", "team_id", "name", "real_name", "deleted", "is_bot"} <= member.keys()
        assert {"display_name", "real_name"} <= member["profile"].keys()


def test_users_info_and_bad_cursor(fake, client):
    fake.add_user("UANN", name="ann", real_name="Ann Example")
    assert client.users_info(user="UANN")["user"]["profile"]["real_name"] == "Ann Example"
    assert error_of(lambda: client.users_info(user="UNOBODY"))["error"] == "user_not_found"
    assert error_of(lambda: client.users_list(cursor="garbage!"))["error"] == "invalid_cursor"


def test_usergroups(fake, client):
    fake.add_user("UG1")
    fake.add_user("UG2")
    fake.add_group("SENG", "eng", "Engineering", members=["UG1", "UG2"])
    fake.add_group("SOLD", "old", "Old team", members=["UG1"], disabled=True)

    groups = {g["id"]: g for g in client.usergroups_list(include_users=True)["usergroups"]}
    assert "SOLD" not in groups
    assert groups["SENG"]["users"] == ["UG1", "UG2"] and groups["SENG"]["user_count"] == 2
    assert groups["SENG"]["handle"] == "eng" and groups["SENG"]["date_delete"] == 0
    assert "users" not in client.usergroups_list()["usergroups"][0]
    disabled = {g["id"]: g for g in client.usergroups_list(include_disabled=True)["usergroups"]}
    assert disabled["SOLD"]["date_delete"] != 0

    fake.set_group_members("SENG", ["UG2"])
    assert client.usergroups_users_list(usergroup="SENG")["users"] == ["UG2"]
    fake.delete_user("UG2")  # deactivated accounts leave their groups
    assert client.usergroups_users_list(usergroup="SENG")["users"] == []
    assert client.users_info(user="UG2")["user"]["deleted"] is True
    assert error_of(lambda: client.usergroups_users_list(usergroup="SNOPE"))["error"] == "no_such_subteam"


# --- fault injection ------------------------------------------------------------------------


def test_fail_next(fake, client):
    fake.fail_next("chat.postMessage", "channel_not_found", times=2)
    for _ in range(2):
        assert error_of(lambda: client.chat_postMessage(channel="C1", text="x"))["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 200, 200]


def test_rate_limit_is_retried_by_slack_sdk_after_retry_after(fake):
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    client = WebClient(base_url=fake.url, token=fake.bot_token,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    limited, ok = fake.calls_to("chat.postMessage")
    assert (limited.status, ok.status) == (429, 200)
    assert limited.response == {"ok": False, "error": "ratelimited"}
    assert ok.at - limited.at >= 1


def test_rate_limit_without_retry_surfaces_429(fake, client):
    fake.rate_limit_next("users.list", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.users_list()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_server_error_next(fake, client):
    fake.server_error_next("views.open", status=503)
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="t1", view=modal())
    assert raised.value.response.status_code == 503
    fake.server_error_next("views.open", status=500)
    retrying = WebClient(base_url=fake.url, token=fake.bot_token,
                         retry_handlers=[ServerErrorRetryHandler(
                             max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05))])
    assert retrying.views_open(trigger_id="t1", view=modal())["ok"]
    assert [c.status for c in fake.calls_to("views.open")] == [503, 500, 200]


def test_delay_next_slows_only_that_call(fake, client):
    fake.delay_next("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.3


def test_wait_for(fake, client):
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="C9", text="later")).start()
    [call] = fake.wait_for("chat.postMessage", predicate=lambda c: c.args["channel"] == "C9")
    assert call.args["text"] == "later"
    client.auth_test()
    with pytest.raises(AssertionError, match=r"recorded: .*auth\.test"):
        fake.wait_for("views.open", timeout=0.1)


# --- signing helpers ------------------------------------------------------------------------


def test_sign_matches_slack_sdk_verifier():
    body = ss.slash_command_body(text="assign Figma <@U2|bob>")
    headers = ss.sign("s3cret", body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"x", headers)
    stale = ss.sign("s3cret", body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert ss.sign("s3cret", ss.event_body({"type": "app_home_opened"}))["Content-Type"] == "application/json"


def test_slash_command_and_interactivity_bodies_parse_like_slack():
    fields = {k: v[0] for k, v in parse_qs(ss.slash_command_body(text="list").decode()).items()}
    assert fields["command"] == "/licenses" and fields["text"] == "list" and fields["team_id"] == "T0TEAM"
    assert {"trigger_id", "response_url", "user_id", "channel_id", "api_app_id"} <= fields.keys()
    payload = ss.block_actions_payload("approve", "req-1")
    assert json.loads(parse_qs(ss.interactivity_body(payload).decode())["payload"][0]) == payload
    envelope = json.loads(ss.event_body({"type": "subteam_members_changed"}, event_id="Ev9"))
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev9"


def test_view_state_and_button_clicks_from_a_stored_view(fake, client):
    view = modal(
        submit={"type": "plain_text", "text": "Assign"},
        blocks=[
            {"type": "input", "block_id": "users", "label": {"type": "plain_text", "text": "Users"},
             "element": {"type": "multi_users_select", "action_id": "pick"}},
            {"type": "input", "block_id": "total", "label": {"type": "plain_text", "text": "Total licenses"},
             "element": {"type": "number_input", "is_decimal_allowed": False, "action_id": "n",
                         "initial_value": "5"}},
            {"type": "actions", "block_id": "act",
             "elements": [{"type": "button", "action_id": "go", "value": "v1",
                           "text": {"type": "plain_text", "text": "Install this product"}}]},
        ],
    )
    stored = client.views_open(trigger_id="t1", view=view)["view"]
    values = ss.view_state(stored, {"Users": ["U2", "U3"]})
    assert values == {
        "users": {"pick": {"type": "multi_users_select", "selected_users": ["U2", "U3"]}},
        "total": {"n": {"type": "number_input", "value": "5"}},
    }
    submission = ss.view_submission_payload(stored, "U1", values)
    assert submission["view"]["id"] == stored["id"] and submission["view"]["state"]["values"] == values
    with pytest.raises(KeyError, match="Users"):
        ss.view_state(stored, {"Groups": []})

    click = ss.button_click_payload(stored, "Install this product", user_id="U5")
    action = click["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"]) == ("go", "act", "v1")
    assert click["container"] == {"type": "view", "view_id": stored["id"]}
    assert click["user"]["id"] == "U5" and click["team"]["id"] == "T0TEAM"


def test_post_returns_errors_and_response_urls_are_recorded(fake):
    body = json.dumps({"text": "done", "response_type": "ephemeral"}).encode()
    status, _, reply = ss.post(fake.response_url("r7"), body, "secret")
    assert (status, reply) == (200, b"ok")
    [call] = fake.calls_to("response_url")
    assert call.args == {"text": "done", "response_type": "ephemeral", "_key": "r7"}
    status, headers, _ = ss.post(fake.url.replace("/api/", "/nowhere"), b"{}", "secret")
    assert status == 404 and headers["content-type"].startswith("text/plain")
