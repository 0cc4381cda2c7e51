"""Web API calls over kept-alive connections.

slack-sdk's WebClient opens a new connection for every call (urllib's urlopen): against slack.com a TCP
and a TLS handshake each, a round trip or three before the call itself and the handshake's CPU, under
the GIL. `KeepAliveWebClient` keeps one HTTP/1.1 connection per thread and host and sends each call on
it; everything else (retry handlers, errors, the answer's parsing) is slack-sdk's own, because this
replaces only the method that sends one request and reads its answer, and behaves as urlopen does: a
2xx answer is returned, any other status raises urllib's HTTPError, a connection that cannot be made
raises URLError.

A connection the server closed while idle is noticed before it is used (its socket reads as ready) and
replaced. Should the server close it just as a call goes out (the answer never starts), the call is sent
once more on a new connection: that call was never read by the server.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient


class _Http(http.client.HTTPConnection):
    """http.client sends a request's headers and its body in two writes; on a kept connection Nagle's
    algorithm would hold the body until the server's delayed ACK (40 ms and more). As urllib3 does, the
    socket sends at once."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Https(_Http, http.client.HTTPSConnection):
    pass


Where = tuple[str, str, int | None]  # scheme, host, port


# the server closed a kept connection before answering: the request was not read
_CLOSED_BEFORE_ANSWER = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class KeepAliveWebClient(WebClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()  # each thread's kept connections

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        where: Where = (parts.scheme, parts.hostname or "", parts.port)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        for attempt in (1, 2):
            conn, reused = self._connection(where)
            try:
                conn.request(req.get_method(), target, body=req.data, headers=headers)
                resp = conn.getresponse()
            except _CLOSED_BEFORE_ANSWER:
                self._drop(where)
                if reused and attempt == 1:
                    continue
                raise
            except (OSError, http.client.HTTPException) as error:
                connected = conn.sock is not None
                self._drop(where)
                if connected:
                    raise  # e.g. the answer was late: as urlopen, the error itself
                raise URLError(error) from error  # no connection could be made: as urlopen
            body = resp.read()
            if resp.will_close:
                self._drop(where)
            if not 200 <= resp.status < 300:
                raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(body))
            if resp.msg.get_content_type() == "application/gzip":
                return {"status": resp.status, "headers": resp.msg, "body": body}
            charset = resp.msg.get_content_charset() or "utf-8"
            return {"status": resp.status, "headers": resp.msg, "body": body.decode(charset)}
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def _kept(self) -> dict[Where, _Http]:
        """This thread's connections, by where they lead."""
        kept: dict[Where, _Http] | None = getattr(self._local, "kept", None)
        if kept is None:
            kept = self._local.kept = {}
        return kept

    def _connection(self, where: Where) -> tuple[_Http, bool]:
        conn = self._kept.get(where)
        if conn is not None and conn.sock is not None and not _closed_by_peer(conn.sock):
            return conn, True
        if conn is not None:
            conn.close()
        scheme, host, port = where
        if scheme == "https":
            conn = _Https(host, port, timeout=self.timeout, context=self.ssl or ssl.create_default_context())
        else:
            conn = _Http(host, port, timeout=self.timeout)
        self._kept[where] = conn
        return conn, False

    def _drop(self, where: Where) -> None:
        conn = self._kept.pop(where, None)
        if conn is not None:
            conn.close()


def _closed_by_peer(sock: Any) -> bool:
    """An idle kept connection that reads as ready has been closed by the server (or is out of step)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
