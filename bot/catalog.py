"""The catalog: apps with their seat counts, one app's details, a person's licenses, and imports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.app_records import AppRecord
from bot.domain import Action, Actor, AppDetails, AppSummary, GroupAssignee, HeldLicense, Rights, SourceKind
from bot.errors import DuplicateEntry, EntryBelowAssigned
from bot.kernel import Kernel
from bot.names import name_key
from storage.models import AppRow


class CatalogService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    # ------------------------------------------------------------------ reading
    def list_apps(self) -> list[AppSummary]:
        with self.k.uow(lone_read=True) as uow:
            return [self.k.summary(row, seated, waiting) for row, seated, waiting in uow.apps.summaries()]

    def app(self, query: str) -> AppSummary:
        with self.k.uow() as uow:
            return self.k.summary_of(uow, self.k.resolve(uow, query))

    def resolve_name(self, query: str) -> str:
        with self.k.uow(lone_read=True) as uow:
            return self.k.resolve(uow, query).name

    def details(self, query: str) -> AppDetails:
        return self.details_for(query, None)[0]

    def details_for(self, query: str, viewer: str | None) -> tuple[AppDetails, Rights]:
        """The license details and what the viewer may do with the app, in one unit of work of four reads."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, query)
            seated = uow.licenses.seated_users(row.id)
            roles = self.k.roles(uow, Actor(viewer)) if viewer else frozenset()
            direct: list[str] = []
            members: dict[str, list[str]] = {}
            waiting: dict[str, None] = {}  # an ordered set, oldest first: sources come in grant order
            for kind, subject, user_id in uow.licenses.sources(row.id):
                if kind == SourceKind.USER:
                    direct.append(subject)
                else:
                    members.setdefault(subject, [])
                    if user_id is not None:
                        members[subject].append(user_id)
                if user_id is not None and user_id not in seated:
                    waiting.setdefault(user_id)
            summary = self.k.summary(row, len(seated), len(waiting))
        groups = []
        for group_id, users in members.items():
            covered = set(users)
            groups.append(GroupAssignee(group_id, sorted(covered & seated), [u for u in waiting if u in covered]))
        details = AppDetails(summary, sorted(seated), direct, groups, list(waiting))
        return details, Rights(roles, viewer is not None and viewer in seated)

    def licenses_of(self, user_id: str) -> list[HeldLicense]:
        with self.k.uow() as uow:
            by_app: dict[int, HeldLicense] = {}
            for app_id, seated, kind, subject in uow.licenses.holdings_of(user_id):
                held = by_app.setdefault(app_id, HeldLicense(app=str(app_id), seated=seated, sources=[]))
                held.sources.append((SourceKind(kind), subject))
            names = {row.id: row.name for row in uow.apps.all()}
        return sorted(
            (HeldLicense(names[i], h.seated, h.sources) for i, h in by_app.items()), key=lambda h: h.app.casefold()
        )

    def holds(self, user_id: str, query: str) -> bool:
        with self.k.uow() as uow:
            return uow.licenses.has_seat(self.k.resolve(uow, query).id, user_id)

    # ------------------------------------------------------------------ importing
    def import_apps(self, actor: Actor, records: Sequence[AppRecord]) -> list[tuple[str, str]]:
        """Creates or updates apps by name, all or nothing.

        Returns (name, "created" | "updated" | "unchanged") for each record.
        """
        seen: dict[str, int] = {}
        for index, record in enumerate(records, start=1):
            key = name_key(record.name)
            if key in seen:
                raise DuplicateEntry(index, record.name, seen[key])
            seen[key] = index
        results: list[tuple[str, str]] = []
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.EDIT_APPS)
            now = self.k.now()
            for index, record in enumerate(records, start=1):
                existing = uow.apps.by_key(name_key(record.name))
                if existing is None:
                    row = uow.apps.add(AppRow(name_key=name_key(record.name), created_at=now, **_fields(record, now)))
                    self.k.audit(uow, actor, "app.import", row, [], {"change": "created", **record.as_json()})
                    results.append((row.name, "created"))
                    continue
                row = uow.apps.lock(existing.id)
                assigned = uow.licenses.seated_count(row.id)
                if record.seats < assigned:
                    raise EntryBelowAssigned(index, record.name, record.seats, assigned)
                fields = _fields(record, now)
                changed = {k: v for k, v in fields.items() if k != "updated_at" and getattr(row, k) != v}
                if not changed:
                    results.append((row.name, "unchanged"))
                    continue
                for k, v in fields.items():
                    setattr(row, k, v)
                uow.flush()
                filled = self.k.fill_waitlist(uow, actor, row)
                detail = {"change": "updated", "fields": sorted(changed), **record.as_json(), "filled": filled}
                self.k.audit(uow, actor, "app.import", row, filled, detail)
                results.append((row.name, "updated"))
            uow.commit()
        return results


def _fields(record: AppRecord, now: dt.datetime) -> dict[str, Any]:
    return {
        "name": " ".join(record.name.split()),
        "vendor": record.vendor,
        "total_seats": record.seats,
        "purchased_via": record.purchased_via.value,
        "provider_contact": record.provider_contact,
        "install_url": record.install_url,
        "renewal_date": record.renewal_date,
        "notes": record.notes,
        "provisioning_scim_url": record.provisioning.scim_url if record.provisioning else None,
        "provisioning_token_env": record.provisioning.token_env if record.provisioning else None,
        "provisioning_deprovision": record.provisioning.deprovision if record.provisioning else None,
        "updated_at": now,
    }
