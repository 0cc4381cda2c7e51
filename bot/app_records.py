"""An app's record as an operator or a billing admin gives it (a catalog entry): the rules each field keeps,
and the service that creates, edits and retires records (from Slack and from catalog files).

A record says only what it gives: a key left out keeps the app's value, `null` (None) clears it — vendor,
provider contact, install URL, notes to "", renewal date and low-seat threshold to none. `seats` and
`purchased_via` are needed to create an app and can't be cleared.

Validation errors are pydantic's, with their types and locations: the door that read the record (the
CLI's catalog file, a modal) says what is wrong in its own words.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.domain import MAX_SEATS, Action, Actor, AppSummary, PurchaseChannel
from bot.errors import (
    AppInUse,
    AppNameTaken,
    DuplicateEntry,
    EntryBelowAssigned,
    EntryMissingField,
    SeatsBelowAssigned,
)
from bot.kernel import Kernel
from bot.names import name_key
from storage.models import AppRow
from storage.uow import UnitOfWork

CLEARED: dict[str, Any] = {"vendor": "", "provider_contact": "", "install_url": "", "notes": "",
                           "renewal_date": None, "low_seat_threshold": None, "provisioning": None}
NEEDED = ("seats", "purchased_via")  # to create an app
# record field → the app row's column
COLUMNS = {"name": "name", "vendor": "vendor", "seats": "total_seats", "purchased_via": "purchased_via",
           "provider_contact": "provider_contact", "install_url": "install_url", "renewal_date": "renewal_date",
           "notes": "notes", "low_seat_threshold": "low_seat_threshold"}
# `provisioning` is three columns: its keys, each stored in its own
PROVISIONING_COLUMNS = {"scim_url": "provisioning_scim_url", "token_env": "provisioning_token_env",
                        "deprovision": "provisioning_deprovision"}


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
    seats: StrictInt | None = Field(default=None, ge=0, le=MAX_SEATS)
    purchased_via: PurchaseChannel | None = None
    provider_contact: str = Field(default="", max_length=500)
    install_url: str = Field(default="", max_length=2000)
    renewal_date: dt.date | None = None
    notes: str = Field(default="", max_length=5000)
    low_seat_threshold: StrictInt | None = Field(default=None, ge=0, le=MAX_SEATS)
    provisioning: ProvisioningRecord | None = None  # SPEC §7; null clears it

    @model_validator(mode="before")
    @classmethod
    def _null_clears(cls, data: Any) -> Any:
        """`key: null` clears a field: it stays given (in `model_fields_set`) with its empty value."""
        if isinstance(data, dict):
            return {k: (CLEARED[k] if v is None and k in CLEARED else v) for k, v in data.items()}
        return data

    @field_validator("seats", "purchased_via", mode="before")
    @classmethod
    def _not_clearable(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_clearable", "can't be cleared: every app has one")
        return value

    @field_validator("install_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise PydanticCustomError("url_scheme", "must start with https:// or http://")
        return value

    def given(self) -> dict[str, Any]:
        """The fields this record gives, by column, with the values to store (omitted ones: absent)."""
        values: dict[str, Any] = {}
        for key in self.model_fields_set:
            value = getattr(self, key)
            if key == "provisioning":
                for part, column in PROVISIONING_COLUMNS.items():
                    values[column] = getattr(value, part) if value is not None else None
                continue
            values[COLUMNS[key]] = value.value if isinstance(value, PurchaseChannel) else value
        values["name"] = " ".join(self.name.split())  # spaces folded, as names are compared
        return values

    def as_json(self) -> dict[str, Any]:
        """What the record gives, as JSON (for the audit log): omitted keys stay omitted."""
        return self.model_dump(mode="json", include=set(self.model_fields_set))


FIELD_OF = {column: key for key, column in COLUMNS.items()}  # column → the record's key, for people
FIELD_OF.update({column: f"provisioning.{part}" for part, column in PROVISIONING_COLUMNS.items()})


@dataclass(frozen=True)
class RecordChange:
    """What one record does to the catalog: "created", "updated" (with the fields that change), "unchanged",
    or "retired" (a retired app of that name, left as it is)."""

    name: str
    change: str
    fields: tuple[str, ...] = ()


class AppRecordService:
    """Creating, editing and retiring app records (billing and global admins; the CLI as the operator)."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    # ------------------------------------------------------------------ catalog files
    def import_records(self, actor: Actor, records: Sequence[AppRecord], *, dry_run: bool = False
                       ) -> list[RecordChange]:
        """Creates or updates apps by name, all or nothing; a key a record leaves out keeps the app's value.
        `dry_run`: the same checks and the same answer, and nothing written."""
        seen: dict[str, int] = {}
        for index, record in enumerate(records, start=1):
            key = name_key(record.name)
            if key in seen:
                raise DuplicateEntry(index, record.name, seen[key])
            seen[key] = index
        results: list[RecordChange] = []
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            for index, record in enumerate(records, start=1):
                existing = uow.apps.by_key(name_key(record.name))
                if existing is None:
                    missing = next((f for f in NEEDED if f not in record.model_fields_set), None)
                    if missing:
                        raise EntryMissingField(index, record.name, missing)
                    row = self._create(uow, actor, record, "app.import")
                    results.append(RecordChange(row.name, "created"))
                elif existing.retired_at is not None:
                    results.append(RecordChange(existing.name, "retired"))
                else:
                    row = uow.apps.lock(existing.id)
                    try:
                        changed = self._update(uow, actor, row, record, "app.import")
                    except SeatsBelowAssigned as error:
                        raise EntryBelowAssigned(index, record.name, error.requested, error.assigned) from None
                    results.append(RecordChange(row.name, "updated" if changed else "unchanged", changed))
            if not dry_run:
                uow.commit()
        return results

    # ------------------------------------------------------------------ from Slack
    def create(self, actor: Actor, record: AppRecord, *, idempotency_key: str | None = None) -> AppSummary:
        """ "Add an app": a new app, its name unused (by retired apps too)."""
        missing = next((f for f in NEEDED if f not in record.model_fields_set), None)
        if missing:
            raise ValueError(f"a new app needs {missing}")  # the modal always gives both: a bug
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            replayed = self.k.replay(uow, idempotency_key)
            if replayed is not None:
                return self.k.summary_of(uow, self._named(uow, str(replayed["app_id"])))
            taken = uow.apps.by_key(name_key(record.name))
            if taken is not None:
                raise AppNameTaken(taken.name, taken.retired_at is not None)
            row = self._create(uow, actor, record, "app.create")
            self.k.remember(uow, idempotency_key, "app.create", {"app_id": row.id})
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return summary

    def update(self, actor: Actor, query: str, record: AppRecord, *, idempotency_key: str | None = None
               ) -> tuple[AppSummary, tuple[str, ...]]:
        """ "Edit app": the fields the record gives (its name may be new); the fields that changed."""
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            replayed = self.k.replay(uow, idempotency_key)
            if replayed is not None:
                return self.k.summary_of(uow, row), tuple(replayed["fields"])
            taken = uow.apps.by_key(name_key(record.name))
            if taken is not None and taken.id != row.id:
                raise AppNameTaken(taken.name, taken.retired_at is not None)
            changed = self._update(uow, actor, row, record, "app.update")
            self.k.remember(uow, idempotency_key, "app.update", {"fields": list(changed)})
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return summary, changed

    def retire(self, actor: Actor, query: str) -> AppSummary:
        """ "Retire app": only when nothing is assigned and no request waits. The app leaves every list and
        picker; its rows and its audit stay."""
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            row = uow.apps.lock(self.k.resolve(uow, query).id)
            users = uow.assignees.count_subjects(row.id, "user")
            groups = uow.assignees.count_subjects(row.id, "group")
            requests = uow.requests.pending_count(row.id)
            if users or groups or requests or uow.licenses.seated_count(row.id):
                raise AppInUse(row.name, users, groups, requests)
            row.retired_at = self.k.now()
            row.updated_at = row.retired_at
            self.k.audit(uow, actor, "app.retire", row, [], {"retired": True})
            summary = self.k.summary_of(uow, row)
            uow.commit()
        return summary

    def record_of(self, actor: Actor, query: str) -> AppSummary:
        """The app as "Edit app" shows it, for someone who may edit it."""
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            return self.k.summary_of(uow, self.k.resolve(uow, query))

    # ------------------------------------------------------------------ shared
    def _named(self, uow: UnitOfWork, app_id: str) -> AppRow:
        row = uow.apps.get(int(app_id))
        if row is None:
            raise LookupError(app_id)
        return row

    def _create(self, uow: UnitOfWork, actor: Actor, record: AppRecord, action: str) -> AppRow:
        now = self.k.now()
        values = {**{COLUMNS[k]: v for k, v in CLEARED.items() if k in COLUMNS}, **record.given()}
        row = AppRow(created_at=now, updated_at=now, **values)
        self.k.set_names(row)
        row = uow.apps.add(row)
        self.k.audit(uow, actor, action, row, [], {"change": "created", **record.as_json()})
        return row

    def _update(self, uow: UnitOfWork, actor: Actor, row: AppRow, record: AppRecord, action: str) -> tuple[str, ...]:
        """Applies the record's fields to the locked app; the record keys that changed (none: nothing written)."""
        values = record.given()
        changed = {c: v for c, v in values.items() if getattr(row, c) != v}
        if not changed:
            return ()
        if "total_seats" in changed:
            assigned = uow.licenses.seated_count(row.id)
            if changed["total_seats"] < assigned:
                raise SeatsBelowAssigned(changed["total_seats"], assigned)
        before = {FIELD_OF[c]: _json(getattr(row, c)) for c in changed}
        for column, value in changed.items():
            setattr(row, column, value)
        row.updated_at = self.k.now()
        self.k.set_names(row)
        uow.flush()
        filled = self.k.fill_waitlist(uow, actor, row) if "total_seats" in changed else []
        fields = tuple(sorted({FIELD_OF[c].split(".")[0] for c in changed}))
        detail = {"change": "updated", "fields": list(fields), "before": before,
                  "after": {FIELD_OF[c]: _json(v) for c, v in changed.items()}, "filled": filled}
        self.k.audit(uow, actor, action, row, filled, detail)
        return fields


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
