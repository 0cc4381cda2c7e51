"""An app's record as an operator or a billing admin gives it (a catalog entry): the rules each field keeps.

Validation errors are pydantic's, with their types and locations: the door that read the record (the
CLI's catalog file, a modal) says what is wrong in its own words.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from bot.domain import MAX_SEATS, PurchaseChannel


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProvisioningRecord(BaseModel):
    """SPEC §7: the vendor's SCIM 2.0 endpoint, the environment variable holding its bearer token (never the
    token itself), and what losing the last seat does at the vendor."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scim_url: str = Field(min_length=1, max_length=2000)
    token_env: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    deprovision: Literal["deactivate", "delete"] = "deactivate"

    @field_validator("scim_url")
    @classmethod
    def _https(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError:
            raise PydanticCustomError("scim_url", "must be an https:// URL") from None
        if parts.scheme == "https" and host:
            return value.rstrip("/")
        if parts.scheme == "http" and is_loopback(host):
            return value.rstrip("/")  # a SCIM server on this machine (tests, a local bridge)
        raise PydanticCustomError("scim_url", "must be an https:// URL (http:// only on a loopback host)")


class AppRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    vendor: str = Field(default="", max_length=200)
    seats: StrictInt = Field(ge=0, le=MAX_SEATS)
    purchased_via: PurchaseChannel
    provider_contact: str = Field(default="", max_length=500)
    install_url: str = Field(default="", max_length=2000)
    renewal_date: dt.date | None = None
    notes: str = Field(default="", max_length=5000)
    provisioning: ProvisioningRecord | None = None

    @field_validator("install_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise PydanticCustomError("url_scheme", "must start with https:// or http://")
        return value

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
