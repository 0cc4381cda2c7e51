"""The fake's core: the server's lifecycle, the call log and ``wait_for``, fault injection, auth, and the
dispatch of each request to the handler registered for its Web API method.

A Slack area (chat, views, the directory...) is a subclass of :class:`FakeSlackCore` that adds

* handlers, each a method ``(self, args: dict) -> dict`` marked ``@slack_method("area.method")``: it
  returns the ``{"ok": true, ...}`` answer or raises :class:`SlackError`; and
* optionally ``_init_state(self)``, which sets that area's attributes; every class's own
  ``_init_state`` runs once per fake, base classes first.

Handlers run under the fake's one lock (``self._cond``, re-entrant), so they read and change state freely.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Self, TypeVar

from .wire import Call, Fault, Reply, RequestHandler, Server, SlackError, parse_args

Handler = Callable[[Any, dict], dict]
H = TypeVar("H", bound=Handler)


def slack_method(name: str) -> Callable[[H], H]:
    """Marks a method of a FakeSlackCore subclass as the handler of the Web API method ``name``."""

    def mark(handler: H) -> H:
        handler.slack_method = name  # type: ignore[attr-defined]
        return handler

    return mark


class FakeSlackCore:
    """A fake Slack workspace's Web API. All state is guarded by one lock (``self._cond``)."""

    # Web API method -> name of the attribute handling it; built per class from the @slack_method marks.
    _slack_methods: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._slack_methods = _collect_methods(cls)

    def __init__(self, team_id: str = "T0TEAM", bot_token: str = "xoxb-test-token", bot_user_id: str = "UBOT"):
        self.team_id = team_id
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.app_id = "A0APP"
        self.url: str = ""
        self.calls: list[Call] = []
        # RLock so predicates given to wait_for() may call back into the fake.
        self._cond = threading.Condition(threading.RLock())
        self._faults: dict[str, deque[Fault]] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        for cls in reversed(type(self).__mro__):  # each area's own state, base classes first
            init_state = cls.__dict__.get("_init_state")
            if init_state is not None:
                init_state(self)
        self._handlers: dict[str, Callable[[dict], dict]] = {
            method: getattr(self, attribute) for method, attribute in self._slack_methods.items()
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = Server(("127.0.0.1", 0), RequestHandler)
        self._server.fake = self  # type: ignore[attr-defined]
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/api/"
        # A short poll interval makes stop() quick (shutdown waits for the next poll).
        serve = lambda: self._server.serve_forever(poll_interval=0.05)  # noqa: E731
        self._thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    @property
    def connections(self) -> int:
        """HTTP connections accepted so far (a kept-alive client makes few)."""
        assert self._server is not None
        return self._server.connections

    def drop_connections(self) -> None:
        """Closes every open connection from the server's side (Slack closes idle ones)."""
        assert self._server is not None
        self._server.drop_connections()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
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
        self._add_fault(method, Fault("error", error), times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self._add_fault(method, Fault("ratelimit", retry_after), times)

    def server_error_next(self, method: str, status: int = 503, times: int = 1) -> None:
        self._add_fault(method, Fault("server", status), times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer normally, but only after ``seconds`` (a slow Slack)."""
        self._add_fault(method, Fault("delay", seconds), times)

    def faults_left(self, method: str) -> int:
        """Injected faults not yet consumed by a call to ``method`` (a delayed call takes its fault as it
        starts: with N delays queued and N - k left, k calls are hanging or done)."""
        with self._cond:
            return len(self._faults.get(method, ()))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _add_fault(self, method: str, fault: Fault, times: int) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    # --- request handling ---------------------------------------------------------------------

    def handle(self, path: str, query: str, headers: dict, raw: bytes) -> tuple[int, dict, bytes]:
        """Answer one HTTP request (called from the server's threads): status, headers, body."""
        at = time.time()
        if path.startswith("/api/"):
            method = path[len("/api/"):]
        elif path.startswith("/response/"):
            method = "response_url"
        elif path.startswith("/upload/v1/"):
            method = "file.upload"
        else:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        with self._cond:
            fault = self._take_fault(method)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.value)  # outside the lock: other calls go on meanwhile
            fault = None
        try:
            if method == "file.upload":  # the file's bytes as they are, whatever the content type says
                args = {"_key": path[len("/upload/v1/"):], "_bytes": raw}
            else:
                args = parse_args(query, headers.get("content-type", ""), raw)
        except (ValueError, UnicodeDecodeError):
            args, fault = {"_raw": raw.decode("utf-8", "replace")}, fault or Fault("error", "invalid_json")
        if method == "response_url":
            args["_key"] = path[len("/response/"):]
        with self._cond:
            reply = self._reply_for(method, args, headers, fault)
            # Encoded under the lock: the payload shares dicts with state other threads change.
            body, content_type = reply.encode()
            self.calls.append(Call(method, args, headers, at, reply.status, body))
            self._cond.notify_all()
        return reply.status, {"Content-Type": content_type, **reply.headers}, body

    def _reply_for(self, method: str, args: dict, headers: dict, fault: Fault | None) -> Reply:
        if fault is not None:
            return self._fault_reply(fault)
        if method == "response_url":
            return Reply(200, b"ok")  # Slack answers response_url posts with a plain "ok"
        if method == "file.upload":  # the files host: the URL is the credential; a plain "OK - <length>"
            try:
                self._handlers[method](args)
            except SlackError as e:
                return Reply(400, str(e.payload.get("error")).encode())
            return Reply(200, f"OK - {len(args['_bytes'])}".encode())
        auth_error = self._auth_error(args, headers)
        if auth_error:
            return Reply(200, {"ok": False, "error": auth_error})
        handler = self._handlers.get(method)
        if handler is None:
            return Reply(200, {"ok": False, "error": "unknown_method"})
        try:
            return Reply(200, handler(args))
        except SlackError as e:
            return Reply(200, e.payload)

    @staticmethod
    def _fault_reply(fault: Fault) -> Reply:
        if fault.kind == "ratelimit":
            return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.value)})
        if fault.kind == "server":
            return Reply(fault.value, {"ok": False, "error": "fatal_error"})
        return Reply(200, {"ok": False, "error": fault.value})

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

    # --- auth ---------------------------------------------------------------------------------

    @slack_method("auth.test")
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


def _collect_methods(cls: type) -> dict[str, str]:
    """The ``@slack_method`` handlers of ``cls`` and its bases. A subclass may take over a method its base
    handles; two unrelated areas claiming one method is a mistake, reported when the class is made."""
    methods: dict[str, str] = {}
    owners: dict[str, type] = {}
    for klass in reversed(cls.__mro__):
        for attribute, value in vars(klass).items():
            name = getattr(value, "slack_method", None)
            if not isinstance(name, str):
                continue
            owner = owners.get(name)
            if owner is not None and owner is not klass and not issubclass(klass, owner):
                raise TypeError(f"{name} is handled by both {owner.__name__} and {klass.__name__}")
            methods[name], owners[name] = attribute, klass
    return methods


FakeSlackCore._slack_methods = _collect_methods(FakeSlackCore)
