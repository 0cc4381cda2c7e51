"""The Web API clients: every call goes to SLACK_API_URL, over kept-alive connections (transport.py).

The listeners' client is retried on 429, 5xx and lost connections (slack-sdk retries only connection
errors by default; RateLimitErrorRetryHandler sleeps Retry-After). The interactive client (views on a
trigger_id, which lives 3 s) waits 2 s at most and retries only a 429 that asks for 1 s or less. The
outbox's client retries nothing: a worker that slept 30 s on a 429 would hold its message and its lane;
the deliverer reschedules the message instead (bot/outbox.py), and nothing waits.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import SettingsError
from handlers.slack.transport import KeepAliveWebClient

# Until a command configures logging, slack-sdk's own error lines would reach stderr through Python's
# last-resort handler, beside our one clear line: a NullHandler keeps them for when logging is on.
logging.getLogger("slack_sdk").addHandler(logging.NullHandler())


def make_client(token: str, base_url: str, *, timeout: int = 15) -> WebClient:
    return KeepAliveWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


OUTBOX_TIMEOUT = 10  # seconds; a message that hangs longer is tried again later (it may then arrive twice)


def outbox_client(token: str, base_url: str, *, timeout: int = OUTBOX_TIMEOUT) -> WebClient:
    return KeepAliveWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


# Calls on a trigger_id (views.open, views.push) and the views.update that follows a click: the trigger
# lives 3 s, and a worker of the interactive lane held longer makes the next person's trigger expire too.
INTERACTIVE_TIMEOUT = 2  # seconds
TRIGGER_RETRY_AFTER = 1  # a 429 is retried (once) only when Slack asks for at most this many seconds


class TriggerRateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 once, and only when its Retry-After leaves the trigger alive."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1)

    def _can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        value = values[0] if isinstance(values, list) and values else values
        try:
            return float(value) <= TRIGGER_RETRY_AFTER  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False


def interactive_client(token: str, base_url: str, *, timeout: int = INTERACTIVE_TIMEOUT) -> WebClient:
    """The client of the calls a person waits on: short timeout, no retry past the trigger's life (a
    timed-out or refused open is told to the person instead, router.open_modal)."""
    return KeepAliveWebClient(token=token, base_url=base_url, timeout=timeout,
                              retry_handlers=[TriggerRateLimitRetry()])


def checked_client(token: str, base_url: str) -> tuple[WebClient, dict[str, Any]]:
    """A client whose token Slack accepts, and auth.test's answer; else one clear line (SettingsError),
    before a command changes anything it would then fail to tell people about."""
    client = make_client(token, base_url)
    try:
        auth = client.auth_test()
    except SlackApiError as error:
        raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack: {error.response.get('error')}") from None
    except Exception as error:  # noqa: BLE001 - unreachable URL, DNS, TLS: one clear line
        raise SettingsError(f"SLACK_API_URL {base_url} cannot be reached: {error}") from None
    return client, dict(auth.data) if isinstance(auth.data, dict) else {}
