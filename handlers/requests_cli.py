"""`licensebot requests expire`: what `serve` does on its schedule, run once by the operator.

Expires overdue requests (the requester is told, the approvers' copies updated) and sends the reminders
due at half the TTL. Needs SLACK_BOT_TOKEN (and SLACK_API_URL off slack.com), not the signing secret: it
only calls the Web API. Safe beside a running `serve`: each request expires, and is reminded of, once.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.config import SlackApiSettings, load
from bot.domain import Actor
from bot.requests import RequestService
from bot.runtime import build_runtime
from handlers.features.requests import sweep_and_notify
from handlers.slack_client import checked_client


def cmd_requests_expire(args: argparse.Namespace, out: TextIO) -> int:
    settings = load(SlackApiSettings)
    client, _ = checked_client(settings.slack_bot_token, settings.slack_api_url)  # before anything changes
    runtime = build_runtime(settings, pooled=False)
    try:
        requests = RequestService(runtime.service, ttl_hours=settings.licensebot_request_ttl_hours)
        sweep = sweep_and_notify(client, requests, Actor.cli())
    finally:
        runtime.close()
    print(f"expired {len(sweep.expired)} request(s), sent reminders for {len(sweep.reminded)} request(s)", file=out)
    return 0
