"""`licensebot requests expire`: what `serve` does on its schedule, run once by the operator.

Expires overdue requests (the requester is told, the approvers' copies updated) and sends the reminders
due at half the TTL. Safe beside a running `serve`: each request expires, and is reminded of, once.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from pydantic import Field

from bot.config import SlackSettings, load
from bot.domain import Actor
from bot.requests import RequestService
from bot.runtime import build_runtime
from handlers.features.requests import sweep_and_notify
from handlers.slack_client import make_client


class OperatorSlackSettings(SlackSettings):
    """The database, the TTL and a bot token to post with. This command only sends to Slack and receives
    nothing from it, so unlike `serve` it needs no signing secret."""

    slack_signing_secret: str = Field(default="not-needed-to-send", validation_alias="SLACK_SIGNING_SECRET")


def cmd_requests_expire(args: argparse.Namespace, out: TextIO) -> int:
    settings = load(OperatorSlackSettings)
    runtime = build_runtime(settings, pooled=False)
    try:
        requests = RequestService(runtime.service, ttl_hours=settings.licensebot_request_ttl_hours)
        client = make_client(settings.slack_bot_token, settings.slack_api_url)
        sweep = sweep_and_notify(client, requests, Actor.cli())
    finally:
        runtime.close()
    print(f"expired {len(sweep.expired)} request(s), sent reminders for {len(sweep.reminded)} request(s)", file=out)
    return 0
