"""The HTTP surface: POST /slack/events into bolt, GET /healthz. Never a 5xx for what a client sends."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

from handlers.http.shapes import malformed

log = logging.getLogger("licensebot")

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not from Slack
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds in ASCII digits (bolt checks the 5-minute window)

StartResponse = Callable[..., Any]


WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_wsgi_app(app: App, healthy: Callable[[], bool], routes: dict[str, WsgiApp] | None = None,
                  signing_secret: str | None = None) -> WsgiApp:
    """`healthy()` answers /healthz: the service's database check. `routes`: other paths and what answers them
    (the usage-rights API). `signing_secret` tells a malformed request with a bad signature (401) from a signed
    one (400) before bolt sees it; bolt checks every other."""
    more = dict(routes or {})

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path in more:
            return more[path](environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            if healthy():
                return _plain(start_response, 200, "ok")
            return _plain(start_response, 503, "database unreachable")
        if path != EVENTS_PATH:
            return _plain(start_response, 404, "Not Found")
        if method != "POST":
            return _plain(start_response, 405, "Method Not Allowed", [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(start_response, 400, "Bad Content-Length")
        if length > MAX_BODY:
            return _plain(start_response, 413, "Payload Too Large")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if not TIMESTAMP.fullmatch(headers.get("x-slack-request-timestamp", "0")):
            # bolt's verifier would raise on int() (not a number, or 4,300+ digits) or on the float it compares
            # with the clock (309 digits: OverflowError) and answer 200 through the error handler: a timestamp
            # that cannot be a time is a bad signature
            return _plain(start_response, 401, "Invalid request timestamp")
        try:
            request = BoltRequest(
                body=body.decode("utf-8", errors="replace"), query=environ.get("QUERY_STRING", ""), headers=headers
            )
        except Exception:  # noqa: BLE001 - a body bolt cannot parse is the client's fault, not ours
            if not _signed(signing_secret, body, headers):
                return _plain(start_response, 401, "Invalid request signature")
            return _plain(start_response, 400, "Malformed request")
        problem = malformed(request.body)
        if problem is not None:  # not Slack's shape: bolt would raise on it (signature first: 401 before 400)
            if not _signed(signing_secret, body, headers):
                return _plain(start_response, 401, "Invalid request signature")
            log.info("refused a malformed payload: %s", problem[:200])
            if isinstance(request.body, dict) and request.body.get("type") == "event_callback":
                # acknowledged and dropped: Slack redelivers an event answered 4xx, and turns off the
                # subscription of an app that keeps failing
                return _plain(start_response, 200, "")
            return _plain(start_response, 400, "Malformed payload")
        try:
            response = app.dispatch(request)
        except Exception:  # last line of defence: log it, answer 400, change nothing
            log.exception("dispatch failed")
            return _plain(start_response, 400, "Malformed request")
        status = response.status if response.status < 500 else 400
        out_headers = [(k, v) for k, values in response.headers.items() for v in values]
        payload = (response.body or "").encode("utf-8")
        start_response(f"{status} {_reason(status)}", [*out_headers, ("Content-Length", str(len(payload)))])
        return [payload]

    return wsgi


def _signed(secret: str | None, body: bytes, headers: dict[str, str]) -> bool:
    if not secret:
        return True  # no secret to check with (bolt is told the same): the shape decides
    return SignatureVerifier(secret).is_valid(
        body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"))


def _plain(
    start_response: StartResponse, status: int, body: str, extra: list[tuple[str, str]] | None = None
) -> Iterable[bytes]:
    payload = body.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload))), *(extra or [])]
    start_response(f"{status} {_reason(status)}", headers)
    return [payload]


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
