"""An app's record as an operator or a billing admin gives it (a catalog entry): the rules each field keeps.

Validation errors are pydantic's, with their types and locations: the door that read the record (the
CLI's catalog file, a modal) says what is wrong in its own words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from bot.domain import MAX_SEATS, PurchaseChannel


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

    @field_validator("install_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise PydanticCustomError("url_scheme", "must start with https:// or http://")
        return value

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
