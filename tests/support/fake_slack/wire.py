"""What travels over the wire: recorded calls, Slack's error answers, injected faults, argument parsing,
pagination cursors, and the loopback HTTP server that hands each request to :meth:`FakeSlack.handle`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from .core import FakeSlackCore

# Arguments Slack accepts as JSON-encoded strings in form bodies; decoded so tests read objects.
JSON_FIELDS = frozenset({"view", "blocks", "attachments", "metadata", "user_auth_blocks", "unfurls"})


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
class Fault:
    kind: str  # "error" | "ratelimit" | "server" | "delay"
    value: Any


@dataclass
class Reply:
    status: int
    payload: Any  # a JSON-able object, or bytes sent as text/plain
    headers: dict = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.payload, bytes):
            return self.payload, "text/plain; charset=utf-8"
        return json.dumps(self.payload).encode(), "application/json; charset=utf-8"


def truthy(value: Any) -> bool:
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


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        prefix, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None
    if prefix != "offset" or offset < 0:
        raise SlackError("invalid_cursor")
    return offset


# --- HTTP plumbing ----------------------------------------------------------------------------


class RequestHandler(BaseHTTPRequestHandler):
    server_version = "FakeSlack/1.0"
    protocol_version = "HTTP/1.1"  # as slack.com: a connection is kept for the next call (Content-Length on every answer)
    # The headers and the body go out in two writes: on a kept connection Nagle's algorithm would hold the
    # body until the client's delayed ACK (40 ms a call). Slack's own servers do not wait so.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake: FakeSlackCore = self.server.fake  # type: ignore[attr-defined]
        status, reply_headers, body = fake.handle(url.path, url.query, headers, raw)
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a delay fault outlived its timeout): as Slack, nobody to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # calls are recorded on the fake; stderr noise would hide test output


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of connections (1 s SYN retries)

    def server_activate(self) -> None:
        super().server_activate()
        self.connections = 0  # accepted so far
        self.open: set[Any] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Closes every kept connection, as a server does with idle ones."""
        for sock in list(self.open):
            try:
                sock.shutdown(2)  # socket.SHUT_RDWR
            except OSError:
                pass
