"""What an unauthenticated client may hold of `licensebot serve`: waitress's limits, and a deadline per request.

Partial requests wait in waitress's event loop, not in a worker thread, so what they exhaust is connections:
many are allowed (poll(), not select()'s 1,024 descriptors), and none may take longer than REQUEST_DEADLINE
to send its request. A reverse proxy in front should keep its own, tighter limits (README, "Behind a reverse
proxy").
"""

from __future__ import annotations

import logging
from typing import Any

from handlers.http.wsgi import MAX_BODY

log = logging.getLogger("licensebot")

CONNECTION_LIMIT = 1000
REQUEST_DEADLINE = 5.0  # seconds for the headers and body of one request; Slack gives up after 3
LIMITS: dict[str, Any] = {
    "connection_limit": CONNECTION_LIMIT,
    "asyncore_use_poll": True,
    "backlog": 1024,
    "channel_timeout": 20,  # an idle keep-alive connection is closed after this
    "cleanup_interval": 1,  # how often idle and slow connections are looked for (waitress: 30 s)
    "max_request_header_size": 32 * 1024,
    # refused from the Content-Length alone (413, nothing read); waitress refuses length >= this
    "max_request_body_size": MAX_BODY + 1,
}


def close_slow_requests(server: Any, deadline: float) -> None:
    """Closes a connection whose request is still incomplete `deadline` seconds after it began.

    waitress's channel_timeout counts from the last byte received, so a header line every few seconds
    would hold a connection for ever; this counts from the first. It runs in waitress's own maintenance
    (its event loop, every cleanup_interval), so it needs no thread of its own."""
    maintenance = server.maintenance
    first_seen: dict[int, tuple[object, float]] = {}  # channel -> (its incomplete request, when first seen)

    def maintain(now: float) -> None:
        maintenance(now)
        still: dict[int, tuple[object, float]] = {}
        for channel in list(server.active_channels.values()):
            request = channel.request
            if request is None or channel.requests or channel.will_close:
                continue
            seen = first_seen.get(id(channel))
            began = seen[1] if seen is not None and seen[0] is request else now
            if now - began > deadline:
                log.warning("closed a connection from %s: its request took over %.0f s", channel.addr, deadline)
                channel.will_close = True
            else:
                still[id(channel)] = (request, began)
        first_seen.clear()
        first_seen.update(still)

    server.maintenance = maintain
