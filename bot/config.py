"""Settings from the environment (SPEC §3). A missing or malformed one stops start-up with one clear line."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain import CHANNEL_ID, USER_ID

S = TypeVar("S", bound="Settings")


class SettingsError(Exception):
    """One line naming the setting at fault."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    licensebot_global_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="LICENSEBOT_GLOBAL_ADMINS"
    )
    licensebot_request_ttl_hours: int = Field(
        default=168, ge=1, le=24 * 365, validation_alias="LICENSEBOT_REQUEST_TTL_HOURS"
    )
    licensebot_default_locale: str = Field(default="en", validation_alias="LICENSEBOT_DEFAULT_LOCALE")
    # where alerts go (renewals, low licenses, waitlists): a channel id; unset: by DM to billing and global admins
    licensebot_alerts_channel: str = Field(default="", validation_alias="LICENSEBOT_ALERTS_CHANNEL")
    licensebot_sync_interval_minutes: int = Field(
        default=60, ge=0, le=7 * 24 * 60, validation_alias="LICENSEBOT_SYNC_INTERVAL_MINUTES"
    )
    # how often `serve` runs the life cycle's timed work (expiry, reminders, reclaims, alerts); 0: never
    # (then `licensebot lifecycle run` from cron does it)
    licensebot_lifecycle_interval_minutes: int = Field(
        default=5, ge=0, le=24 * 60, validation_alias="LICENSEBOT_LIFECYCLE_INTERVAL_MINUTES"
    )
    # "Keep or release?": how long a holder has to answer (a reminder at half), then silence releases
    licensebot_reclaim_days: int = Field(default=7, ge=1, le=90, validation_alias="LICENSEBOT_RECLAIM_DAYS")
    # how often the periodic sync walks users.list in full (events keep users fresh in between; this walk
    # is the safety net for a lost deletion event)
    licensebot_users_refresh_hours: int = Field(
        default=24, ge=1, le=24 * 30, validation_alias="LICENSEBOT_USERS_REFRESH_HOURS"
    )
    # the outbox (serve delivers it): how long delivered and dropped messages are kept, how many send at once
    licensebot_outbox_retention_days: int = Field(
        default=7, ge=0, le=3650, validation_alias="LICENSEBOT_OUTBOX_RETENTION_DAYS"
    )
    # how long processed event ids and idempotency keys are kept (Slack retries for under an hour)
    licensebot_retention_hours: int = Field(
        default=24, ge=1, le=24 * 3650, validation_alias="LICENSEBOT_RETENTION_HOURS"
    )
    licensebot_outbox_workers: int = Field(default=4, ge=1, le=32, validation_alias="LICENSEBOT_OUTBOX_WORKERS")
    # `serve`'s log lines: plain text, or one JSON object per line
    licensebot_log_format: str = Field(default="text", validation_alias="LICENSEBOT_LOG_FORMAT")

    @property
    def outbox_retention(self) -> dt.timedelta:
        return dt.timedelta(days=self.licensebot_outbox_retention_days)

    @property
    def key_retention(self) -> dt.timedelta:
        return dt.timedelta(hours=self.licensebot_retention_hours)

    @field_validator("licensebot_default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        language = value.strip().replace("_", "-").split("-", 1)[0].lower()
        if language not in ("en", "fr"):
            raise ValueError(f'"{value}" is not a language the bot speaks (en or fr)')
        return language

    @field_validator("licensebot_alerts_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if value and not CHANNEL_ID.match(value):
            raise ValueError(f'"{value[:40]}" is not a Slack channel id (C… or G…)')
        return value

    @field_validator("licensebot_log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower() or "text"
        if value not in ("text", "json"):
            raise ValueError(f'"{value}" is not a log format (text or json)')
        return value

    @field_validator("licensebot_global_admins", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> list[str]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        ids: list[str] = list(value or [])  # type: ignore[call-overload]
        for user_id in ids:
            if not USER_ID.match(user_id):
                raise ValueError(f'"{user_id}" is not a Slack user id')
        return ids


class SlackApiSettings(Settings):
    """What calling the Web API needs (`licensebot sync` too): the bot token and where Slack is."""

    slack_bot_token: str = Field(validation_alias="SLACK_BOT_TOKEN", min_length=1)
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"


class SlackSettings(SlackApiSettings):
    """What `serve` needs on top: receiving from Slack (signing secret or Socket Mode) and a port."""

    slack_signing_secret: str = Field(default="", validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str = Field(default="", validation_alias="SLACK_APP_TOKEN")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")
    # forms (modals) waiting to open past which a command is answered "busy" at once: 4 workers open ~30 to
    # 100 a trigger's life (2.5 s), so more would only time out, each holding its request meanwhile
    licensebot_interactive_backlog: int = Field(
        default=64, ge=1, le=10_000, validation_alias="LICENSEBOT_INTERACTIVE_BACKLOG"
    )

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str) -> str:
        if value and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)


def load(cls: type[S]) -> S:
    try:
        settings = cls()
    except ValidationError as error:
        problem = error.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else "settings"
        if problem["type"] == "missing":
            raise SettingsError(f"{name} is not set") from None
        raise SettingsError(f"{name}: {problem['msg'].removeprefix('Value error, ')}") from None
    if isinstance(settings, SlackSettings) and not settings.socket_mode and not settings.slack_signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is not set (needed in HTTP mode; or set SLACK_APP_TOKEN)")
    return settings
