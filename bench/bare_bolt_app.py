"""The baseline for bench/ack_latency.py: a plain bolt app whose `/licenses` only acks.

Bolt's defaults, as a plain bolt app would have them (process_before_response=False: the listener runs on
bolt's executor and the request thread polls for the ack every 10 ms), behind the very WSGI app and
waitress server `licensebot serve` uses, started the same way: a subprocess that prints
"listening on URL/slack/events" and stops on SIGTERM.

    SLACK_SIGNING_SECRET=… SLACK_API_URL=http://127.0.0.1:PORT/api/ python bench/bare_bolt_app.py
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import Ack, App

from handlers.http.server import _bind, _serve_http
from handlers.http.wsgi import make_wsgi_app
from handlers.slack.client import make_client


def main() -> int:
    client = make_client(os.environ.get("SLACK_BOT_TOKEN", "xoxb-bench"), os.environ["SLACK_API_URL"])
    app = App(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @app.command("/licenses")
    def licenses(ack: Ack) -> None:
        ack()

    # no database: /healthz is not part of the load; the same waitress settings and limits as serve
    server = _bind(make_wsgi_app(app, lambda: True), "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    _serve_http(server, threading.Event(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
