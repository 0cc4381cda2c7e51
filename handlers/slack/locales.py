"""Whose language: each person's Slack locale (`users.info` with `include_locale`), cached.

One `users.info` call per person, then the cache answers for a day (a person rarely changes their Slack
language; a new value is picked up the next day). The call has a short timeout and no retries: it runs in the
ack path of that person's first request, and a failure only means the default language for a few minutes.
Requests and events that name nobody (membership events) never call Slack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack import i18n

log = logging.getLogger("licensebot")

KNOWN_FOR = 24 * 3600.0  # seconds a person's locale is trusted
UNKNOWN_FOR = 300.0  # seconds before asking Slack again after a failure
LOOKUP_TIMEOUT = 2  # seconds: the first request of a person waits at most this for their language


class SlackLocales:
    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._known: dict[str, tuple[str | None, float]] = {}  # user id -> (locale, until)
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> str | None:
        """The person's Slack locale (e.g. "fr-FR"), or None when Slack does not say."""
        if not user_id:
            return None
        now = self.clock()
        with self._lock:
            cached = self._known.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        locale, ttl = self._ask(user_id)
        with self._lock:
            self._known[user_id] = (locale, now + ttl)
        return locale

    def _ask(self, user_id: str) -> tuple[str | None, float]:
        try:
            answer = self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else "no answer"
            log.info("users.info for %s's locale failed: %s", user_id, code)
            return None, KNOWN_FOR if code == "user_not_found" else UNKNOWN_FOR
        except Exception as error:  # noqa: BLE001 - timeout, lost connection: the default language for now
            log.info("users.info for %s's locale failed: %s", user_id, error)
            return None, UNKNOWN_FOR
        user = answer.get("user") or {}
        locale = user.get("locale") if isinstance(user, dict) else None
        return (str(locale) if locale else None), KNOWN_FOR


def reader_of(body: Any) -> str:
    """Who a request comes from: the command's sender, the clicker or submitter, an event's person."""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("user_id"), str):  # a slash command
        return str(body["user_id"])
    user = body.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str):  # interactivity
        return str(user["id"])
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):  # app_home_opened and the like
        return str(event["user"])
    return ""


def speak_to_sender(locale_of: Callable[[str], str | None]) -> Callable[..., Any]:
    """Bolt middleware: the rest of the request (and the background work it queues) speaks its sender's
    language."""

    def middleware(req: Any, resp: Any, next: Callable[[], Any]) -> Any:
        user_id = reader_of(req.body)
        i18n.use(locale_of(user_id) if user_id else None)
        return next()

    return middleware
