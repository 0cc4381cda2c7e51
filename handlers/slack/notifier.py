"""The core's notices, told on Slack: DMs to waiters who got a seat, approvers' copies of a request, the
outcome to the requester, reminders. In `serve` they run on the fan-out lane, after the ack; from the CLI
they run where they are raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.notify import Notice, RequestDecided, RequestFiled, RequestReminder, SeatsFilled
from bot.service import LicensingService
from handlers.slack.features.groups import tell_seated
from handlers.slack.features.requests import notify_approvers, publish_outcome, send_reminders

Lane = Callable[..., Any]


class SlackNotifier:
    def __init__(self, client: WebClient, service: LicensingService, *, lane: Lane | None = None) -> None:
        self.client = client
        self.service = service
        self.lane = lane

    def notify(self, notice: Notice) -> None:
        if self.lane is not None:
            self.lane(self.deliver, notice)
        else:
            self.deliver(notice)

    def deliver(self, notice: Notice) -> None:
        client, service = self.client, self.service
        match notice:
            case SeatsFilled(app=app, users=users):
                tell_seated(client, app, list(users))
            case RequestFiled(request_id=request_id):
                notify_approvers(client, service, service.requests.get(request_id))
            case RequestDecided(request_id=request_id):
                publish_outcome(client, service, service.requests.get(request_id))
            case RequestReminder(request_id=request_id):
                send_reminders(client, service, service.requests.get(request_id))
