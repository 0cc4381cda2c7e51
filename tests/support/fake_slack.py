"""A fake Slack Web API served over real HTTP on loopback, for end-to-end tests.

The bot under test runs as a separate process with ``SLACK_API_URL=fake.url`` and talks to this
server through slack_sdk exactly as it would talk to slack.com: form-encoded, JSON or query-string
arguments, ``Authorization: Bearer xoxb-...``. The fake records every call, serves a user/user-group
directory, keeps modal and message state, validates views and blocks the way Slack rejects them,
and can inject failures (``ok: false``, HTTP 429 with Retry-After, HTTP 5xx, slowness).

It also serves ``response_url`` endpoints (see :meth:`FakeSlack.response_url`), recorded as calls
to the pseudo-method ``"response_url"``.

Usage::

    with FakeSlack() as fake:
        fake.add_users(3)
        ...  # start the bot with SLACK_API_URL=fake.url
        [call] = fake.wait_for("chat.postMessage")
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Arguments Slack accepts as JSON-encoded strings in form bodies; decoded so tests read objects.
JSON_FIELDS = frozenset({"view", "blocks", "attachments", "metadata", "user_auth_blocks", "unfurls"})

BASE_TS_MICROS = 1_700_000_000 * 1_000_000  # ts values are deterministic: easy to read in failures
MAX_PAGE = 1000  # Slack caps users.list pages at 1000 members
MAX_VIEW_STACK = 3  # Slack allows at most 3 modals in a stack


@dataclass
class Call:
    """One HTTP request the fake received. ``headers`` keys are lower-case."""

    method: str
    args: dict
    headers: dict
    at: float
    status: int
    body: bytes = field(default=b"", repr=False)  # the exact bytes answered

    @property
    def response(self) -> Any:
        """The answer as sent (parsed lazily: users.list pages are big)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", "replace")


class SlackError(Exception):
    """Raised by method handlers to answer ``{"ok": false, "error": ...}`` (HTTP 200)."""

    def __init__(self, error: str, messages: Iterable[str] = (), **extra: Any):
        super().__init__(error)
        self.payload = {"ok": False, "error": error, **extra}
        if messages:
            self.payload["response_metadata"] = {"messages": list(messages)}


@dataclass
class _Fault:
    kind: str  # "error" | "ratelimit" | "server" | "delay"
    value: Any


@dataclass
class _Reply:
    status: int
    payload: Any  # a JSON-able object, or bytes sent as text/plain
    headers: dict = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.payload, bytes):
            return self.payload, "text/plain; charset=utf-8"
        return json.dumps(self.payload).encode(), "application/json; charset=utf-8"


def _truthy(value: Any) -> bool:
    # slack_sdk sends booleans as "1"/"0" in query strings; JSON bodies carry real booleans.
    return value in (True, 1, "1", "true", "True")


def _decode_json_fields(args: dict) -> dict:
    for key in JSON_FIELDS & args.keys():
        if isinstance(args[key], str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass  # left as a string: the handler reports it like Slack would
    return args


def parse_args(query: str, content_type: str, raw: bytes) -> dict:
    """Merge query-string and body arguments (form or JSON). Raises ValueError on bad JSON."""
    args: dict = dict(parse_qsl(query, keep_blank_values=True))
    if raw:
        if "json" in content_type:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            args.update(body)
        else:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    return _decode_json_fields(args)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        prefix, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None
    if prefix != "offset" or offset < 0:
        raise SlackError("invalid_cursor")
    return offset


# --- Block Kit validation -------------------------------------------------------------------
# A subset of Slack's documented limits, enough to catch the mistakes bots really make (long
# titles, empty or huge texts, too many options, duplicate block ids). Errors use Slack's wording.


def _too_long(value: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{ptr}]"]
    return []


def _too_many(items: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(items, list) and len(items) > limit:
        return [f"[ERROR] no more than {limit} items allowed [json-pointer:{ptr}]"]
    return []


def _text_errors(obj: Any, ptr: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    if plain_only and obj.get("type") != "plain_text":
        return [f"[ERROR] must be a valid enum value [json-pointer:{ptr}/type]"]
    if not obj["text"]:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{ptr}/text]"]
    return _too_long(obj["text"], limit, f"{ptr}/text")


def _option_errors(option: Any, ptr: str) -> list[str]:
    if not isinstance(option, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    return _text_errors(option.get("text"), f"{ptr}/text", 75) + _too_long(
        option.get("value"), 150, f"{ptr}/value"
    )


def _element_errors(element: Any, ptr: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    errors = _too_long(element.get("action_id"), 255, f"{ptr}/action_id")
    if element.get("type") == "button":
        errors += _text_errors(element.get("text"), f"{ptr}/text", 75, plain_only=True)
        errors += _too_long(element.get("value"), 2000, f"{ptr}/value")
        errors += _too_long(element.get("url"), 3000, f"{ptr}/url")
    if "placeholder" in element:
        errors += _text_errors(element["placeholder"], f"{ptr}/placeholder", 150, plain_only=True)
    options = element.get("options")
    if isinstance(options, list):
        errors += _too_many(options, 100, f"{ptr}/options")
        for i, option in enumerate(options):
            errors += _option_errors(option, f"{ptr}/options/{i}")
    return errors


def _block_errors(block: Any, ptr: str, seen_ids: set) -> list[str]:
    if not isinstance(block, dict):
        return [f"[ERROR] must provide an object [json-pointer:{ptr}]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None:
        errors += _too_long(block_id, 255, f"{ptr}/block_id")
        if block_id in seen_ids:
            errors.append(f"[ERROR] duplicate block_id [json-pointer:{ptr}/block_id]")
        seen_ids.add(block_id)
    kind = block.get("type")
    if kind == "header":
        errors += _text_errors(block.get("text"), f"{ptr}/text", 150, plain_only=True)
    elif kind == "section":
        errors += _section_errors(block, ptr)
    elif kind == "input":
        errors += _text_errors(block.get("label"), f"{ptr}/label", 2000, plain_only=True)
        if "hint" in block:
            errors += _text_errors(block["hint"], f"{ptr}/hint", 2000, plain_only=True)
        errors += _element_errors(block.get("element"), f"{ptr}/element")
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        errors += _too_many(elements, 25 if kind == "actions" else 10, f"{ptr}/elements")
        if kind == "actions":
            for i, element in enumerate(elements or []):
                errors += _element_errors(element, f"{ptr}/elements/{i}")
    return errors


def _section_errors(block: dict, ptr: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"[ERROR] must provide either text or fields [json-pointer:{ptr}]"]
    errors = []
    if "text" in block:
        errors += _text_errors(block["text"], f"{ptr}/text", 3000)
    fields = block.get("fields") or []
    errors += _too_many(fields, 10, f"{ptr}/fields")
    for i, text in enumerate(fields):
        errors += _text_errors(text, f"{ptr}/fields/{i}", 2000)
    if "accessory" in block:
        errors += _element_errors(block["accessory"], f"{ptr}/accessory")
    return errors


def blocks_errors(blocks: Any, ptr: str, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"[ERROR] must provide an array [json-pointer:{ptr}]"]
    errors = _too_many(blocks, max_blocks, ptr)
    seen: set = set()
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"{ptr}/{i}", seen)
    return errors


def view_errors(view: Any, expected_type: str) -> list[str]:
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    if view.get("type") != expected_type:
        return ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]
    errors = blocks_errors(view.get("blocks"), "/view/blocks", 100)
    if expected_type == "modal":
        errors += _text_errors(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("close", "submit"):
            if view.get(key) is not None:
                errors += _text_errors(view[key], f"/view/{key}", 24, plain_only=True)
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_inputs and not view.get("submit"):
            errors.append("[ERROR] must provide a submit property when using input blocks [json-pointer:/view]")
    errors += _too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    errors += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    errors += _too_long(view.get("external_id"), 255, "/view/external_id")
    return errors


# --- HTTP plumbing ----------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "FakeSlack/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake: FakeSlack = self.server.fake  # type: ignore[attr-defined]
        status, reply_headers, body = fake.handle(url.path, url.query, headers, raw)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # calls are recorded on the fake; stderr noise would hide test output


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of connections (1 s SYN retries)


class FakeSlack:
    """A fake Slack workspace's Web API. All state is guarded by one lock (``self._cond``)."""

    def __init__(self, team_id: str = "T0TEAM", bot_token: str = "xoxb-test-token", bot_user_id: str = "UBOT"):
        self.team_id = team_id
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0APP"
        self.url: str = ""
        self.calls: list[Call] = []
        self.views: dict[str, dict] = {}
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> message, live ones only
        # RLock so predicates given to wait_for() may call back into the fake.
        self._cond = threading.Condition(threading.RLock())
        self._faults: dict[str, deque[_Fault]] = {}
        self._users: dict[str, dict] = {}
        self._user_order: list[str] = []  # insertion order, append-only: offset cursors stay valid
        self._groups: dict[str, dict] = {}
        self._view_stack: list[str] = []  # the latest modal stack (views.open starts a new one)
        self._external_ids: dict[str, str] = {}
        self._home_views: dict[str, str] = {}  # user_id -> view_id
        self._open_ims: set[str] = set()
        self._ts_counter = 0
        self._view_counter = 0
        self._user_counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.list": self._users_list,
            "users.info": self._users_info,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self._server.fake = self  # type: ignore[attr-defined]
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/api/"
        # A short poll interval makes stop() quick (shutdown waits for the next poll).
        serve = lambda: self._server.serve_forever(poll_interval=0.05)  # noqa: E731
        self._thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def response_url(self, key: str = "r1") -> str:
        """A URL to pass as a payload's ``response_url``; POSTs to it are recorded as
        ``Call(method="response_url", args={..., "_key": key})``."""
        return self.url.replace("/api/", f"/response/{key}")

    # --- recorded calls -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls to ``method`` (matching ``predicate``) were recorded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method and (predicate is None or predicate(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method}, got {len(found)} within {timeout}s; "
                        f"recorded: {self._summary()}"
                    )
                self._cond.wait(left)

    def _summary(self) -> str:
        names = [f"{c.method}({c.status})" if c.status != 200 else c.method for c in self.calls]
        return ", ".join(names[-100:]) + (f" (+{len(names) - 100} earlier)" if len(names) > 100 else "")

    def reset_calls(self) -> None:
        with self._cond:
            self.calls.clear()

    # --- fault injection ----------------------------------------------------------------------
    # Faults queue per method ("*" matches any method) and are consumed one per call.

    def fail_next(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        self._add_fault(method, _Fault("error", error), times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self._add_fault(method, _Fault("ratelimit", retry_after), times)

    def server_error_next(self, method: str, status: int = 503, times: int = 1) -> None:
        self._add_fault(method, _Fault("server", status), times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer normally, but only after ``seconds`` (a slow Slack)."""
        self._add_fault(method, _Fault("delay", seconds), times)

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _add_fault(self, method: str, fault: _Fault, times: int) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    # --- directory ----------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
        team_id: str | None = None,
    ) -> None:
        with self._cond:
            self._put_user(self._member(user_id, name, real_name, deleted, is_bot, team_id))

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
            "updated": 1_700_000_000,
            "profile": profile,
        }

    def _put_user(self, member: dict) -> None:
        if member["id"] not in self._users:
            self._user_order.append(member["id"])
        self._users[member["id"]] = member

    # --- request handling ---------------------------------------------------------------------

    def handle(self, path: str, query: str, headers: dict, raw: bytes) -> tuple[int, dict, bytes]:
        """Answer one HTTP request (called from the server's threads): status, headers, body."""
        at = time.time()
        if path.startswith("/api/"):
            method = path[len("/api/"):]
        elif path.startswith("/response/"):
            method = "response_url"
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        with self._cond:
            fault = self._take_fault(method)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.value)  # outside the lock: other calls go on meanwhile
            fault = None
        try:
            args = parse_args(query, headers.get("content-type", ""), raw)
        except (ValueError, UnicodeDecodeError):
            args, fault = {"_raw": raw.decode("utf-8", "replace")}, fault or _Fault("error", "invalid_json")
        if method == "response_url":
            args["_key"] = path[len("/response/"):]
        with self._cond:
            reply = self._reply_for(method, args, headers, fault)
            # Encoded under the lock: the payload shares dicts with state other threads change.
            body, content_type = reply.encode()
            self.calls.append(Call(method, args, headers, at, reply.status, body))
            self._cond.notify_all()
        return reply.status, {"Content-Type": content_type, **reply.headers}, body

    def _reply_for(self, method: str, args: dict, headers: dict, fault: _Fault | None) -> _Reply:
        if fault is not None:
            return self._fault_reply(fault)
        if method == "response_url":
            return _Reply(200, b"ok")  # Slack answers response_url posts with a plain "ok"
        auth_error = self._auth_error(args, headers)
        if auth_error:
            return _Reply(200, {"ok": False, "error": auth_error})
        handler = self._handlers.get(method)
        if handler is None:
            return _Reply(200, {"ok": False, "error": "unknown_method"})
        try:
            return _Reply(200, handler(args))
        except SlackError as e:
            return _Reply(200, e.payload)

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        if fault.kind == "ratelimit":
            return _Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.value)})
        if fault.kind == "server":
            return _Reply(fault.value, {"ok": False, "error": "fatal_error"})
        return _Reply(200, {"ok": False, "error": fault.value})

    def _auth_error(self, args: dict, headers: dict) -> str | None:
        authorization = headers.get("authorization")
        token = args.get("token")
        if authorization is None and token is None:
            return "not_authed"
        if authorization is not None and authorization != f"Bearer {self.bot_token}":
            return "invalid_auth"
        if token is not None and token != self.bot_token:
            return "invalid_auth"
        return None

    # --- auth / chat / conversations ----------------------------------------------------------

    def _auth_test(self, args: dict) -> dict:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "licensebot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = BASE_TS_MICROS + self._ts_counter * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel_for(self, channel: Any) -> str:
        if not channel or not isinstance(channel, str):
            raise SlackError("channel_not_found")
        # Posting to a user id posts into the bot's DM with that user, as on Slack.
        return "D" + channel if channel[0] in "UW" else channel

    @staticmethod
    def _check_content(args: dict) -> None:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if isinstance(text, str) and len(text) > 40_000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            if isinstance(blocks, str):
                raise SlackError("invalid_blocks_format")
            errors = blocks_errors(blocks, "/blocks", 50)
            if errors:
                raise SlackError("invalid_blocks", errors, errors=[e.removeprefix("[ERROR] ") for e in errors])

    def _message(self, args: dict, ts: str) -> dict:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": args.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in args:
                message[key] = args[key]
        return message

    def _chat_post_message(self, args: dict) -> dict:
        channel = self._channel_for(args.get("channel"))
        self._check_content(args)
        ts = self._next_ts()
        message = self._message(args, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, args: dict) -> dict:
        self._channel_for(args.get("channel"))
        if not args.get("user"):
            raise SlackError("user_not_found")
        self._check_content(args)
        return {"ok": True, "message_ts": self._next_ts()}

    def _existing_message(self, args: dict) -> tuple[str, str, dict]:
        channel = self._channel_for(args.get("channel"))
        ts = args.get("ts")
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackError("message_not_found")
        return channel, ts, message

    def _chat_update(self, args: dict) -> dict:
        channel, ts, message = self._existing_message(args)
        self._check_content(args)
        message = {**self._message(args, ts), "edited": {"user": self.bot_user_id, "ts": self._next_ts()}}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_delete(self, args: dict) -> dict:
        channel, ts, _ = self._existing_message(args)
        del self.messages[(channel, ts)]
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = args.get("users") or ""
        users = users.split(",") if isinstance(users, str) else list(users)
        users = [u.strip() for u in users if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user_id in users:
            if self._users.get(user_id, {}).get("deleted"):
                raise SlackError("user_disabled")
        if len(users) == 1:
            channel = {"id": "D" + users[0], "is_im": True, "user": users[0]}
        else:
            digest = hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
            channel = {"id": "G" + digest, "is_mpim": True}
        already_open = channel["id"] in self._open_ims
        self._open_ims.add(channel["id"])
        return {"ok": True, "no_op": already_open, "already_open": already_open, "channel": channel}

    # --- views --------------------------------------------------------------------------------

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

    def _views_open(self, args: dict) -> dict:
        self._check_trigger(args)
        view = self._store_view(self._check_view(args, "modal"))
        self._view_stack = [view["id"]]
        return {"ok": True, "view": view}

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

    # --- users and user groups ----------------------------------------------------------------

    def _users_list(self, args: dict) -> dict:
        try:
            limit = int(args.get("limit") or 0)
        except (TypeError, ValueError):
            raise SlackError("invalid_limit") from None
        limit = MAX_PAGE if limit <= 0 else min(limit, MAX_PAGE)
        start = _decode_cursor(args["cursor"]) if args.get("cursor") else 0
        page_ids = self._user_order[start:start + limit]
        end = start + len(page_ids)
        next_cursor = _encode_cursor(end) if end < len(self._user_order) else ""
        return {
            "ok": True,
            "members": [self._users[user_id] for user_id in page_ids],
            "cache_ts": 1_700_000_000,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, args: dict) -> dict:
        member = self._users.get(args.get("user") or "")
        if member is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": member}

    def _active_members(self, group: dict) -> list[str]:
        # Slack drops deactivated accounts from user groups.
        return [u for u in group["users"] if not self._users.get(u, {}).get("deleted")]

    def _usergroups_list(self, args: dict) -> dict:
        include_disabled = _truthy(args.get("include_disabled"))
        groups = []
        for group in self._groups.values():
            if group["date_delete"] and not include_disabled:
                continue
            members = self._active_members(group)
            shown = {k: v for k, v in group.items() if k != "users"}
            shown["user_count"] = len(members)
            if _truthy(args.get("include_users")):
                shown["users"] = members
            groups.append(shown)
        return {"ok": True, "usergroups": groups}

    def _usergroups_users_list(self, args: dict) -> dict:
        group = self._groups.get(args.get("usergroup") or "")
        if group is None or (group["date_delete"] and not _truthy(args.get("include_disabled"))):
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": self._active_members(group)}
