"""What every part of the licensing core shares: units of work, the clock, roles, finding an app, the audit
log, idempotency and the waitlist. The services (catalog, assignments, membership, roles, audit,
requests) are built over one Kernel and call only its public methods.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.catalog_cache import Freshness
from bot.directory import Directory
from bot.domain import ALLOWED, APPROVERS, USER_ID, Action, Actor, AppSummary, Role
from bot.errors import AmbiguousApp, AppNameMissing, InvalidUserId, PermissionDenied, UnknownApp
from bot.names import clean_query, fold, name_key
from bot.notify import Message, Notice, SeatsFilled, messages_for
from storage.models import AppRow, AuditRow
from storage.uow import UnitOfWork, UnitOfWorkFactory

Clock = Callable[[], dt.datetime]
log = logging.getLogger("licensebot")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Kernel:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        directory: Directory,
        *,
        global_admins: Iterable[str] = (),
        clock: Clock = utcnow,
    ) -> None:
        self.uow = uow
        self.directory = directory
        self.env_global_admins = frozenset(global_admins)
        self.now = clock
        self.outbox_listeners: list[Callable[[], None]] = []  # told when this process commits messages
        # told, after the commit, whose seats a unit of work of this process gave or took (a door shows
        # those people their new state: the Home tab); never for a change rolled back
        self.seat_listeners: list[Callable[[tuple[str, ...]], None]] = []
        uow.before_commit["seat-listeners"] = self._seats_changed
        # whether what the catalog's reads answered may be reused (bot/catalog_cache.py)
        self.catalog = Freshness()
        uow.catalog_listeners.append(self.catalog.changed)

    def _seats_changed(self, uow: UnitOfWork) -> None:
        if not self.seat_listeners or not uow.licenses.seat_changes:  # the hooks run for a locked app too
            return
        users = tuple(dict.fromkeys(user for _, user in uow.licenses.seat_changes))
        uow.after_commit(lambda: self._tell_seat_listeners(users))

    def _tell_seat_listeners(self, users: tuple[str, ...]) -> None:
        for listener in list(self.seat_listeners):
            try:
                listener(users)
            except Exception:  # the change is committed: a listener's failure must not look like the change's
                log.exception("seat listener failed")

    # ------------------------------------------------------------------ notices
    def notify(self, uow: UnitOfWork, notice: Notice) -> None:
        """Writes what `notice` means for each person into the outbox, in `uow`'s transaction: delivered
        once it commits (by `licensebot serve`, from whichever process made the change), never if it
        rolls back (bot/notify.py, bot/outbox.py)."""
        self.queue(uow, messages_for(uow, notice, self.approvers(uow)))

    def queue(self, uow: UnitOfWork, messages: Sequence[Message]) -> None:
        """Writes messages into the outbox in `uow`'s transaction, in order (a lane goes out in this order)."""
        if not messages:
            return
        now = self.now()
        uow.outbox.add([
            {"lane": m.lane, "kind": m.kind.value, "recipient": m.recipient, "facts": m.facts, "status": "pending",
             "attempts": 0, "created_at": now, "available_at": None}
            for m in messages
        ])
        uow.after_commit(self._outbox_written)

    def _outbox_written(self) -> None:
        for listener in self.outbox_listeners:
            try:
                listener()
            except Exception:  # the change is committed; a deliverer that cannot be woken polls anyway
                log.exception("outbox listener failed")

    # ------------------------------------------------------------------ roles
    def roles(self, uow: UnitOfWork, actor: Actor) -> frozenset[Role]:
        if actor.is_cli:
            return frozenset({Role.GLOBAL_ADMIN})  # the local operator acts with global-admin rights
        roles = {Role(r) for r in uow.roles.roles_of(actor.user_id) if r in Role._value2member_map_}
        if actor.user_id in self.env_global_admins:
            roles.add(Role.GLOBAL_ADMIN)
        return frozenset(roles)

    def approvers(self, uow: UnitOfWork) -> list[str]:
        """Everyone who may approve a request now: license, user and global admins (sorted)."""
        return sorted(set(uow.roles.users_with(r.value for r in APPROVERS)) | self.env_global_admins)

    def require(self, uow: UnitOfWork, actor: Actor, action: Action) -> None:
        """Refuses unless the actor's roles, read in this unit of work, allow the action."""
        if not self.roles(uow, actor) & ALLOWED[action]:
            raise PermissionDenied(action, ALLOWED[action])

    @staticmethod
    def user_id(user_id: str) -> str:
        user_id = (user_id or "").strip()
        if not USER_ID.match(user_id):
            raise InvalidUserId(user_id[:40])
        return user_id

    # ------------------------------------------------------------------ apps
    def resolve(self, uow: UnitOfWork, query: str, *, retired: bool = False) -> AppRow:
        """An app in service by name, whatever the case, accents or Unicode form; quotes optional; a unique
        prefix is enough. `retired`: a retired app's exact name finds it too (its audit log stays readable)."""
        cleaned = clean_query(query)
        if not cleaned:
            raise AppNameMissing()
        exact = uow.apps.by_key(name_key(cleaned))
        if exact is not None and (exact.retired_at is None or retired):
            return exact
        folded = fold(cleaned)
        matches = uow.apps.active_by_fold(folded)
        same = [a for a in matches if a.name_fold == folded]
        if len(same) == 1:
            return same[0]
        if len(matches) == 1:
            return matches[0]
        shown = cleaned[:80]
        if matches:
            raise AmbiguousApp(shown, [a.name for a in matches][:10])
        apps = uow.apps.all()
        by_fold = {fold(a.name): a.name for a in apps}
        close = difflib.get_close_matches(folded, list(by_fold), n=5, cutoff=0.5)
        containing = [name for key, name in by_fold.items() if folded in key and key not in close]
        candidates = [by_fold[k] for k in close] + containing
        if not candidates and len(apps) <= 10:
            candidates = [a.name for a in apps]
        raise UnknownApp(shown, candidates[:10])

    def summary_of(self, uow: UnitOfWork, row: AppRow) -> AppSummary:
        return self.summary(row, uow.licenses.seated_count(row.id), uow.assignees.count_waiting(row.id))

    @staticmethod
    def summary(row: AppRow, assigned: int, waiting: int) -> AppSummary:
        return AppSummary(
            name=row.name,
            vendor=row.vendor,
            purchased_via=row.purchased_via,
            total=row.total_seats,
            assigned=assigned,
            waiting=waiting,
            provider_contact=row.provider_contact,
            install_url=row.install_url,
            renewal_date=row.renewal_date,
            notes=row.notes,
            low_seat_threshold=row.low_seat_threshold,
        )

    @staticmethod
    def set_names(row: AppRow) -> None:
        """Keeps the keys an app is found by in step with its name and vendor (call after changing them)."""
        row.name_key = name_key(row.name)
        row.name_fold = fold(row.name)[:200]
        row.vendor_fold = fold(row.vendor or "")[:200]

    # ------------------------------------------------------------------ waitlist
    def fill_waitlist(self, uow: UnitOfWork, actor: Actor, row: AppRow) -> list[str]:
        """Gives free seats to the oldest waiters, inside the caller's locked unit of work; their DMs are
        written to the outbox with it."""
        uow.flush()
        free = row.total_seats - uow.licenses.seated_count(row.id)
        if free <= 0:
            return []
        filled = [user for user, _ in uow.licenses.waiters(row.id, limit=free)]
        if filled:
            uow.licenses.add_seats(row.id, filled, self.now())
            self.audit(uow, actor, "waitlist.fill", row, filled, {"filled": filled})
            self.notify(uow, SeatsFilled(row.name, tuple(filled)))
        return filled

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: str,
        row: AppRow | None,
        targets: Sequence[str],
        detail: dict[str, Any],
        *,
        counts: tuple[int, int] | None = None,
    ) -> None:
        """Appends one entry with the seat counts after the change (counted now unless given)."""
        total = assigned = available = None
        if row is not None:
            if counts is None:
                uow.flush()
                counts = (row.total_seats, uow.licenses.seated_count(row.id))
            total, assigned = counts
            available = max(0, total - assigned)
        uow.audit.add(
            AuditRow(
                at=self.now(),
                actor=actor.user_id,
                via=actor.via,
                action=action,
                app=row.name if row is not None else None,
                targets=list(dict.fromkeys(targets)),
                detail=detail,
                seats_total=total,
                seats_assigned=assigned,
                seats_available=available,
            )
        )

    # ------------------------------------------------------------------ idempotency
    @staticmethod
    def replay(uow: UnitOfWork, key: str | None) -> dict[str, Any] | None:
        """The result stored under `key` by a change that already ran. Check it after the app lock is held,
        so a concurrent twin sees the first one's key."""
        if not key:
            return None
        row = uow.idempotency.get(key[:200])
        return dict(row.result) if row is not None else None

    def remember(self, uow: UnitOfWork, key: str | None, action: str, result: dict[str, Any]) -> None:
        if key:
            uow.idempotency.add(key[:200], action, result, self.now())
