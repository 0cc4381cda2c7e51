"""The floor for bench/usage_rights.py: the usage-rights path answering a constant JSON body behind the same
auth check (the token's row read and compared in constant time), on the same WSGI app, waitress server and
database as `licensebot serve`, started the same way (prints "listening on URL/slack/events").

    DATABASE_URL=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… python bench/usage_rights_floor.py
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import App

from bot.config import Settings, load
from bot.runtime import build_runtime
from bot.usage_rights import BadToken
from handlers.http.server import _serve_http
from handlers.http.usage_rights import API_PATH, bearer
from handlers.slack.client import make_client

BODY = json.dumps({"app": "Contoso CRM", "user": "U00000001", "email": "u1@example.com", "state": "active",
                   "since": "2026-11-27T12:00:00Z", "until": None}, separators=(",", ":")).encode()


def main() -> int:
    runtime = build_runtime(load(Settings))
    service = runtime.service
    client = make_client(os.environ.get("SLACK_BOT_TOKEN", "xoxb-bench"), os.environ["SLACK_API_URL"])
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    def floor(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            service.usage_rights.app_of(bearer(str(environ.get("HTTP_AUTHORIZATION") or "")))
        except BadToken:
            start_response("401 Unauthorized", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
        return [BODY]

    _serve_http(app, service.database_ok, "127.0.0.1", 0, threading.Event(), sys.stdout, {API_PATH: floor})
    return 0


if __name__ == "__main__":
    sys.exit(main())
