"""The licensing service: every rule of SPEC §1, shared by every door (Slack handlers, the CLI).

Each public method is one unit of work. Methods that change seats open a *write* unit of work, lock the
app (the row on PostgreSQL, the database on SQLite) and only then count: so seats are never
oversubscribed, whatever runs concurrently. Roles are checked here, inside that transaction, at the
moment the change runs: a modal opened by an admin and submitted by someone else changes nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from bot.directory import Directory, Group
from bot.domain import (
    ADMINS,
    ASSIGNERS,
    BILLERS,
    GROUP_ID,
    MAX_SEATS,
    ROLE_MANAGERS,
    ROLE_TITLES,
    USER_ID,
    Actor,
    AppDetails,
    AppSummary,
    AssignOutcome,
    AssignPreview,
    AuditEntry,
    GroupAssignee,
    GroupImpact,
    HeldLicense,
    MembershipOutcome,
    PurchaseChannel,
    Role,
    RoleBinding,
    SeatsOutcome,
    UnassignOutcome,
    UnassignPreview,
    UserRemoval,
)
from bot.errors import (
    AmbiguousApp,
    InvalidInput,
    NotAssigned,
    NotEnoughLicenses,
    PermissionDenied,
    ProviderPurchase,
    SeatsBelowAssigned,
    UnknownApp,
)
from storage.models import AppRow, AuditRow
from storage.uow import IntegrityError, UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
Clock = Callable[[], dt.datetime]
SeatsFilledListener = Callable[[str, list[str]], None]
log = logging.getLogger("licensebot")


WHO_MAY = {
    ASSIGNERS: "a license, user or global admin",
    BILLERS: "a billing or global admin",
    ROLE_MANAGERS: "a global admin",
    ADMINS: "an admin",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def clean_app_query(query: str) -> str:
    """Quotes are optional around an app's name: /licenses show "Contoso CRM"."""
    # control characters never reach the database (PostgreSQL refuses NUL) nor the person's screen
    q = " ".join("".join(ch for ch in (query or "") if ch.isprintable() or ch.isspace()).split())
    for quote in ('"', "'", "\u201c", "\u201d", "\u2018", "\u2019"):
        q = q.strip(quote)
    return q.strip()


class LicensingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        directory: Directory,
        *,
        global_admins: Iterable[str] = (),
        clock: Clock = utcnow,
    ) -> None:
        self._uow = uow
        self.directory = directory
        self.env_global_admins = frozenset(global_admins)
        self.now = clock
        self._seats_filled_listeners: list[SeatsFilledListener] = []

    def on_seats_filled(self, listener: SeatsFilledListener) -> None:
        """``listener(app name, user ids)`` runs after each commit that seated waiters from the waitlist,
        whatever the path (membership, unassign, seats, import): the Slack side tells them by DM."""
        self._seats_filled_listeners.append(listener)

    def _seats_filled(self, app: str, users: list[str]) -> None:
        for listener in self._seats_filled_listeners:
            try:
                listener(app, list(users))
            except Exception:  # noqa: BLE001 - the seats are committed; a failed notice must not undo that
                log.exception("seats-filled listener failed for %s", app)
    def database_ok(self) -> bool:
        """For /healthz: can the bot reach its database right now?"""
        try:
            self._uow.ping()
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            log.warning("database unreachable: %s", error)
            return False
        return True

    # ------------------------------------------------------------------ roles
    def roles_of(self, user_id: str) -> set[Role]:
        with self._uow() as uow:
            return self._roles(uow, Actor(user_id))

    def _roles(self, uow: UnitOfWork, actor: Actor) -> set[Role]:
        if actor.is_cli:
            return {Role.GLOBAL_ADMIN}  # the local operator acts with global-admin rights
        roles = {Role(r) for r in uow.roles.roles_of(actor.user_id) if r in Role._value2member_map_}
        if actor.user_id in self.env_global_admins:
            roles.add(Role.GLOBAL_ADMIN)
        return roles

    def _require(self, uow: UnitOfWork, actor: Actor, allowed: frozenset[Role], action: str) -> None:
        if not self._roles(uow, actor) & allowed:
            raise PermissionDenied(action, WHO_MAY.get(allowed) or " or ".join(ROLE_TITLES[r] for r in allowed))

    def grant_role(self, actor: Actor, user_id: str, role: str) -> bool:
        """Returns False when the user already had the role (nothing changes, nothing is audited)."""
        role_ = self._parse_role(role)
        user_id = self._user_id(user_id)
        with self._uow(write=True) as uow:
            self._require(uow, actor, ROLE_MANAGERS, "grant roles")
            if role_.value in uow.roles.roles_of(user_id):
                return False
            uow.roles.add(user_id, role_.value, actor.user_id, self.now())
            self._audit(uow, actor, "role.grant", None, [user_id], {"role": role_.value})
            uow.commit()
            return True

    def revoke_role(self, actor: Actor, user_id: str, role: str) -> bool:
        role_ = self._parse_role(role)
        user_id = self._user_id(user_id)
        with self._uow(write=True) as uow:
            self._require(uow, actor, ROLE_MANAGERS, "revoke roles")
            if not uow.roles.remove(user_id, role_.value):
                if role_ is Role.GLOBAL_ADMIN and user_id in self.env_global_admins:
                    raise InvalidInput(
                        f"<@{user_id}> is a global admin through LICENSEBOT_GLOBAL_ADMINS: change it there."
                    )
                return False
            self._audit(uow, actor, "role.revoke", None, [user_id], {"role": role_.value})
            uow.commit()
            return True

    def list_roles(self, actor: Actor) -> list[RoleBinding]:
        with self._uow() as uow:
            self._require(uow, actor, ADMINS, "list roles")
            bindings = [RoleBinding(r.user_id, r.role, r.granted_by, r.granted_at) for r in uow.roles.all()]
        held = {(b.user_id, b.role) for b in bindings}
        for user_id in sorted(self.env_global_admins):
            if (user_id, Role.GLOBAL_ADMIN.value) not in held:
                bindings.append(RoleBinding(user_id, Role.GLOBAL_ADMIN.value, "LICENSEBOT_GLOBAL_ADMINS", None))
        return sorted(bindings, key=lambda b: (list(Role).index(Role(b.role)), b.user_id))

    def approvers(self) -> list[str]:
        """Everyone who may approve a request: license, user and global admins."""
        with self._uow() as uow:
            ids = set(uow.roles.users_with(r.value for r in ASSIGNERS))
        return sorted(ids | self.env_global_admins)

    @staticmethod
    def _parse_role(role: str) -> Role:
        try:
            return Role((role or "").strip().lower())
        except ValueError:
            raise InvalidInput(
                f'Unknown role "{role}". Roles: ' + ", ".join(r.value for r in Role) + ".", field="role"
            ) from None

    @staticmethod
    def _user_id(user_id: str) -> str:
        user_id = (user_id or "").strip()
        if not USER_ID.match(user_id):
            raise InvalidInput(f'"{user_id[:40]}" is not a Slack user id (like U0123ABCD).', field="users")
        return user_id

    # ------------------------------------------------------------------ catalog
    def list_apps(self) -> list[AppSummary]:
        with self._uow(lone_read=True) as uow:
            return [self._summary(row, seated, waiting) for row, seated, waiting in uow.apps.summaries()]

    def app(self, query: str) -> AppSummary:
        with self._uow() as uow:
            row = self._resolve(uow, query)
            return self._summary_of(uow, row)

    def app_details(self, query: str) -> AppDetails:
        return self.details_for(query)[0]

    def details_for(self, query: str, viewer: str | None = None) -> tuple[AppDetails, set[Role]]:
        """The license details and the viewer's roles, in one unit of work of four reads."""
        with self._uow() as uow:
            row = self._resolve(uow, query)
            seated = uow.licenses.seated_users(row.id)
            roles = self._roles(uow, Actor(viewer)) if viewer else set()
            direct: list[str] = []
            members: dict[str, list[str]] = {}
            waiting: dict[str, None] = {}  # an ordered set, oldest first: sources come in grant order
            for kind, subject, user_id in uow.licenses.sources(row.id):
                if kind == "user":
                    direct.append(subject)
                else:
                    members.setdefault(subject, [])
                    if user_id is not None:
                        members[subject].append(user_id)
                if user_id is not None and user_id not in seated:
                    waiting.setdefault(user_id)
            summary = self._summary(row, len(seated), len(waiting))
        groups = []
        for group_id, users in members.items():
            covered = set(users)
            groups.append(GroupAssignee(group_id, sorted(covered & seated), [u for u in waiting if u in covered]))
        return AppDetails(summary, sorted(seated), direct, groups, list(waiting)), roles

    def resolve_app_name(self, query: str) -> str:
        with self._uow(lone_read=True) as uow:
            return self._resolve(uow, query).name

    def _resolve(self, uow: UnitOfWork, query: str) -> AppRow:
        """An app by name, case-insensitive, quotes optional; a unique prefix is enough."""
        cleaned = clean_app_query(query)
        if not cleaned:
            raise InvalidInput("Name an app.", field="app")
        key = name_key(cleaned)
        exact = uow.apps.by_key(key)
        if exact is not None:
            return exact
        apps = uow.apps.all()
        matches = [a for a in apps if a.name_key.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        shown = cleaned[:80]
        if matches:
            raise AmbiguousApp(shown, [a.name for a in matches][:10])
        by_key = {a.name_key: a.name for a in apps}
        close = difflib.get_close_matches(key, list(by_key), n=5, cutoff=0.5)
        containing = [a.name for a in apps if key in a.name_key and a.name_key not in close]
        candidates = [by_key[k] for k in close] + containing
        if not candidates and len(apps) <= 10:
            candidates = [a.name for a in apps]
        raise UnknownApp(shown, candidates[:10])

    def _summary_of(self, uow: UnitOfWork, row: AppRow) -> AppSummary:
        waiting = len(uow.licenses.waiters(row.id))
        return self._summary(row, uow.licenses.seated_count(row.id), waiting)

    @staticmethod
    def _summary(row: AppRow, assigned: int, waiting: int) -> AppSummary:
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
        )

    def import_apps(self, actor: Actor, records: Sequence[Any]) -> list[tuple[str, str]]:
        """Creates or updates apps by name, all or nothing. Records are bot.catalog.AppRecord.

        Returns (name, "created" | "updated" | "unchanged") for each record.
        """
        seen: dict[str, int] = {}
        for index, record in enumerate(records, start=1):
            key = name_key(record.name)
            if key in seen:
                raise InvalidInput(f'entry {index} ("{record.name}"): the same name as entry {seen[key]}')
            seen[key] = index
        results: list[tuple[str, str]] = []
        with self._uow(write=True) as uow:
            self._require(uow, actor, BILLERS, "edit app records")
            now = self.now()
            for index, record in enumerate(records, start=1):
                existing = uow.apps.by_key(name_key(record.name))
                if existing is None:
                    row = uow.apps.add(AppRow(name_key=name_key(record.name), created_at=now, **self._fields(record, now)))
                    self._audit(uow, actor, "app.import", row, [], {"change": "created", **record.as_json()})
                    results.append((row.name, "created"))
                    continue
                row = uow.apps.lock(existing.id)
                assigned = uow.licenses.seated_count(row.id)
                if record.seats < assigned:
                    raise InvalidInput(
                        f'entry {index} ("{record.name}"): {record.seats} seats is below the {assigned} assigned; '
                        f"unassign {assigned - record.seats} first"
                    )
                fields = self._fields(record, now)
                changed = {k: v for k, v in fields.items() if k != "updated_at" and getattr(row, k) != v}
                if not changed:
                    results.append((row.name, "unchanged"))
                    continue
                for k, v in fields.items():
                    setattr(row, k, v)
                uow.flush()
                filled = self._fill_waitlist(uow, actor, row)
                detail = {"change": "updated", "fields": sorted(changed), **record.as_json(), "filled": filled}
                self._audit(uow, actor, "app.import", row, filled, detail)
                results.append((row.name, "updated"))
            uow.commit()
        return results

    @staticmethod
    def _fields(record: Any, now: dt.datetime) -> dict[str, Any]:
        return {
            "name": " ".join(record.name.split()),
            "vendor": record.vendor,
            "total_seats": record.seats,
            "purchased_via": record.purchased_via.value,
            "provider_contact": record.provider_contact,
            "install_url": record.install_url,
            "renewal_date": record.renewal_date,
            "notes": record.notes,
            "updated_at": now,
        }

    # ------------------------------------------------------------------ assign
    def preview_assignment(self, query: str, users: Sequence[str] = (), groups: Sequence[str] = ()) -> AssignPreview:
        """What assigning would take, without changing anything (for the modal, before submit)."""
        users, groups = self._clean_subjects(users, groups, allow_empty=True)
        members = self._members_of(groups)
        with self._uow() as uow:
            row = self._resolve(uow, query)
            seated = uow.licenses.seated_users(row.id)
            impacts = [GroupImpact(g, len(members[g]), len(set(members[g]) - seated)) for g in groups]
            wanted = (set(users) | {m for g in groups for m in members[g]}) - seated
            return AssignPreview(self._summary_of(uow, row), impacts, len(wanted))

    def assign(
        self,
        actor: Actor,
        query: str,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        *,
        idempotency_key: str | None = None,
    ) -> AssignOutcome:
        """Licenses users and groups, all or nothing: every current group member gets a seat now."""
        users, groups = self._clean_subjects(users, groups)
        members = self._members_of(groups)  # from the directory, before any lock is held
        with self._uow(write=True) as uow:
            self._require(uow, actor, ASSIGNERS, "assign licenses")
            row = uow.apps.lock(self._resolve(uow, query).id)
            replay = self._replay(uow, idempotency_key)
            if replay is not None:
                return AssignOutcome(self._summary_of(uow, row), **replay, replayed=True)
            outcome, counts = self._assign_in(uow, actor, row, users, groups, members)
            if counts is not None:  # re-assigning what is already there changes nothing
                self._audit(uow, actor, "assign", row, [*users, *groups, *outcome["seated"]], outcome, counts=counts)
            self._remember(uow, idempotency_key, "assign", outcome)
            uow.commit()
        return AssignOutcome(self.app(row.name), **outcome)

    def _assign_in(
        self,
        uow: UnitOfWork,
        actor: Actor,
        row: AppRow,
        users: Sequence[str],
        groups: Sequence[str],
        members: dict[str, list[str]],
    ) -> tuple[dict[str, Any], tuple[int, int] | None]:
        """The seat rules of `assign`, inside the caller's locked unit of work (an approved request runs
        them too, in the same transaction as its decision). Raises NotEnoughLicenses before writing anything.

        Returns the outcome and, when something changed, the (total, assigned) seat counts after it.
        """
        now = self.now()
        seated = uow.licenses.seated_users(row.id)
        everyone = set(users).union(*(members[g] for g in groups))
        needed = len(everyone - seated)
        available = max(0, row.total_seats - len(seated))
        if needed > available:
            raise NotEnoughLicenses(needed, available)

        new_direct = [u for u in users if uow.licenses.assignment(row.id, "user", u) is None]
        for user_id in new_direct:
            assignment = uow.licenses.add_assignment(row.id, "user", user_id, actor.user_id, now)
            uow.licenses.add_grants(assignment.id, row.id, [user_id], now)
        new_grants = 0
        for group_id in groups:
            assignment = uow.licenses.assignment(row.id, "group", group_id)
            if assignment is None:
                assignment = uow.licenses.add_assignment(row.id, "group", group_id, actor.user_id, now)
                missing = list(members[group_id])
                new_grants += 1  # a new source, even for a group whose members all hold a seat
            else:
                granted = uow.licenses.granted_users(assignment.id)
                missing = [m for m in members[group_id] if m not in granted]
            uow.licenses.add_grants(assignment.id, row.id, missing, now)
            new_grants += len(missing)

        # exactly the users counted above: not every unseated grant of the group (a waiter who has
        # left it since the last sync is not a current member and was not counted)
        newly = sorted(everyone - seated)
        uow.licenses.add_seats(row.id, newly, now)
        outcome = {
            "users": list(users),
            "groups": list(groups),
            "seated": newly,
            "already_held": sorted(set(users) & seated),
        }
        changed = bool(new_direct or new_grants or newly)
        return outcome, (row.total_seats, len(seated) + len(newly)) if changed else None

    def _clean_subjects(
        self, users: Sequence[str], groups: Sequence[str], allow_empty: bool = False
    ) -> tuple[list[str], list[str]]:
        users = list(dict.fromkeys(self._user_id(u) for u in users))
        clean_groups: list[str] = []
        for g in dict.fromkeys(groups):
            g = (g or "").strip()
            if not GROUP_ID.match(g):
                raise InvalidInput(f'"{g[:40]}" is not a Slack user group id (like S0123ABCD).', field="groups")
            clean_groups.append(g)
        if not users and not clean_groups and not allow_empty:
            raise InvalidInput("Pick at least one user or group.", field="users")
        return users, clean_groups

    def _members_of(self, groups: Sequence[str]) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {}
        for group_id in groups:
            group = self.directory.group(group_id)
            if group is None or group.disabled:
                raise InvalidInput(f"The user group {group_id} does not exist or is disabled.", field="groups")
            members[group_id] = list(dict.fromkeys(group.members))
        return members

    # ------------------------------------------------------------------ unassign
    def preview_unassign(self, query: str, users: Sequence[str] = (), groups: Sequence[str] = ()) -> UnassignPreview:
        users, groups = self._clean_subjects(users, groups)
        with self._uow() as uow:
            row = self._resolve(uow, query)
            frees, keeps = self._unassign_effect(uow, row, users, groups)
            return UnassignPreview(self._summary_of(uow, row), users, groups, frees, keeps)

    def _unassign_effect(
        self, uow: UnitOfWork, row: AppRow, users: list[str], groups: list[str]
    ) -> tuple[list[str], list[str]]:
        """Who would lose their seat and who keeps it through another source. Checks every subject."""
        removed: set[tuple[str, str]] = set()
        affected: set[str] = set()
        for user_id in users:
            if uow.licenses.assignment(row.id, "user", user_id) is None:
                sources = uow.licenses.sources_of(row.id, [user_id]).get(user_id, [])
                via = ", ".join(f"<!subteam^{s}>" for k, s in sources if k == "group")
                hint = f" (they hold it through {via}: unassign the group instead)" if via else ""
                raise NotAssigned(f"<@{user_id}> has no direct license of {row.name}{hint}.", field="assignees")
            removed.add(("user", user_id))
            affected.add(user_id)
        for group_id in groups:
            assignment = uow.licenses.assignment(row.id, "group", group_id)
            if assignment is None:
                raise NotAssigned(f"<!subteam^{group_id}> is not assigned {row.name}.", field="assignees")
            removed.add(("group", group_id))
            affected |= uow.licenses.granted_users(assignment.id)
        seated = uow.licenses.seated_users(row.id)
        sources = uow.licenses.sources_of(row.id, sorted(affected))
        frees, keeps = [], []
        for user_id in sorted(affected & seated):
            remaining = [s for s in sources.get(user_id, []) if s not in removed]
            (keeps if remaining else frees).append(user_id)
        return frees, keeps

    def unassign(
        self,
        actor: Actor,
        query: str,
        users: Sequence[str] = (),
        groups: Sequence[str] = (),
        *,
        idempotency_key: str | None = None,
    ) -> UnassignOutcome:
        """Removes assignments; a group takes back only what it gave. Freed seats go to the waitlist."""
        users, groups = self._clean_subjects(users, groups)
        with self._uow(write=True) as uow:
            self._require(uow, actor, ASSIGNERS, "unassign licenses")
            row = uow.apps.lock(self._resolve(uow, query).id)
            replay = self._replay(uow, idempotency_key)
            if replay is not None:
                return UnassignOutcome(self._summary_of(uow, row), **replay, replayed=True)
            self._unassign_effect(uow, row, users, groups)  # every subject must be assigned
            for kind, subjects in (("user", users), ("group", groups)):
                for subject in subjects:
                    assignment = uow.licenses.assignment(row.id, kind, subject)
                    assert assignment is not None
                    uow.licenses.delete_assignment(assignment.id)
            freed = sorted(uow.licenses.release_orphan_seats(row.id))
            outcome = {"users": users, "groups": groups, "freed": freed, "filled": []}
            self._audit(uow, actor, "unassign", row, [*users, *groups, *freed], outcome)
            outcome["filled"] = self._fill_waitlist(uow, actor, row)
            self._remember(uow, idempotency_key, "unassign", outcome)
            uow.commit()
        return UnassignOutcome(self.app(row.name), **outcome)

    # ------------------------------------------------------------------ seats
    def set_seats(self, actor: Actor, query: str, total: Any, *, idempotency_key: str | None = None) -> SeatsOutcome:
        """Sets an app's total seats (marketplace apps only); never below what is assigned."""
        total = self.parse_seats(total)
        with self._uow(write=True) as uow:
            self._require(uow, actor, BILLERS, "add or remove licenses")
            row = uow.apps.lock(self._resolve(uow, query).id)
            if row.purchased_via != PurchaseChannel.MARKETPLACE:
                raise ProviderPurchase(row.name, row.provider_contact)
            replay = self._replay(uow, idempotency_key)
            if replay is not None:
                return SeatsOutcome(self._summary_of(uow, row), **replay, replayed=True)
            assigned = uow.licenses.seated_count(row.id)
            if total < assigned:
                raise SeatsBelowAssigned(total, assigned)
            before = row.total_seats
            outcome: dict[str, Any] = {"before": before, "after": total, "filled": []}
            if total != before:  # saving the same total changes nothing and audits nothing
                row.total_seats = total
                row.updated_at = self.now()
                uow.flush()
                self._audit(uow, actor, "seats", row, [], {"before": before, "after": total})
                outcome["filled"] = self._fill_waitlist(uow, actor, row)
            self._remember(uow, idempotency_key, "seats", outcome)
            uow.commit()
        return SeatsOutcome(self.app(row.name), **outcome)

    @staticmethod
    def parse_seats(value: Any) -> int:
        text = str(value).strip().replace(",", "").replace("_", "") if value is not None else ""
        digits = text.lstrip("+")
        # ASCII only: str.isdigit() also accepts "²" (int() refuses it) and "٣" (int() reads 3)
        if isinstance(value, bool) or not (digits.isascii() and digits.isdigit()):
            raise InvalidInput(f'"{str(value)[:40]}" is not a whole number of licenses.', field="total")
        number = int(text)
        if number > MAX_SEATS:
            raise InvalidInput(f"At most {MAX_SEATS:,} licenses.", field="total")
        return number

    # ------------------------------------------------------------------ group membership
    def apply_group_members(self, actor: Actor, group: Group) -> MembershipOutcome:
        """Brings every app assigned to the group in line with its members now: one transaction per app.

        Joins get a seat if one is free, else wait; leaves free the seat unless another source holds
        it; freed seats go to the oldest waiter. A disabled group loses its assignments.
        """
        outcome = MembershipOutcome(group.id)
        with self._uow() as uow:
            app_ids = [a.app_id for a in uow.licenses.group_assignments(group.id)]
        for app_id in app_ids:
            self._apply_to_app(actor, group, app_id, outcome)
        return outcome

    def _apply_to_app(self, actor: Actor, group: Group, app_id: int, outcome: MembershipOutcome) -> None:
        with self._uow(write=True) as uow:
            row = uow.apps.lock(app_id)
            assignment = uow.licenses.assignment(app_id, "group", group.id)
            if assignment is None:
                return  # unassigned meanwhile
            if group.disabled:
                uow.licenses.delete_assignment(assignment.id)
                freed = sorted(uow.licenses.release_orphan_seats(app_id))
                outcome.freed.extend((row.name, u) for u in freed)
                self._audit(uow, actor, "group.disabled", row, [group.id, *freed], {"freed": freed})
                outcome.filled.extend((row.name, u) for u in self._fill_waitlist(uow, actor, row))
                uow.commit()
                return
            now = self.now()
            granted = uow.licenses.granted_users(assignment.id)
            current = list(dict.fromkeys(group.members))
            joins = [u for u in current if u not in granted]
            leaves = sorted(granted - set(current))
            if not joins and not leaves:
                return
            # One audit entry per join and per leave, with the counts right after it, counted here rather
            # than re-read per entry (a sync of thousands of changes spent most of its time re-counting).
            assigned = uow.licenses.seated_count(app_id)
            uow.licenses.delete_grants(assignment.id, leaves)
            freed = set(uow.licenses.release_orphan_seats(app_id))
            for user_id in leaves:
                assigned -= user_id in freed
                outcome.left.append((row.name, user_id))
                self._audit(uow, actor, "group.leave", row, [group.id, user_id], {"freed": user_id in freed},
                            counts=(row.total_seats, assigned))
            outcome.freed.extend((row.name, u) for u in sorted(freed))
            # the waiters already in line go before the newcomers
            outcome.filled.extend((row.name, u) for u in self._fill_waitlist(uow, actor, row))
            seated = uow.licenses.seated_users(app_id)
            free = max(0, row.total_seats - len(seated))
            uow.licenses.add_grants(assignment.id, app_id, joins, now)  # in order: the waitlist's order
            statuses: list[tuple[str, str]] = []
            for user_id in joins:
                if user_id in seated:
                    statuses.append((user_id, "already-held"))
                elif free > 0:
                    free -= 1
                    statuses.append((user_id, "seated"))
                    outcome.joined.append((row.name, user_id))
                else:
                    statuses.append((user_id, "waiting"))
                    outcome.waiting.append((row.name, user_id))
            uow.licenses.add_seats(app_id, [u for u, status in statuses if status == "seated"], now)
            assigned = len(seated)
            for user_id, status in statuses:
                assigned += status == "seated"
                self._audit(uow, actor, "group.join", row, [group.id, user_id], {"status": status},
                            counts=(row.total_seats, assigned))
            uow.commit()

    def remove_user_everywhere(self, actor: Actor, user_id: str) -> list[str]:
        """A deleted Slack user loses every license, direct or through groups. Returns the app names."""
        return self.remove_user(actor, user_id).apps

    def remove_user(self, actor: Actor, user_id: str) -> UserRemoval:
        """As remove_user_everywhere, telling whose seats were freed and who got them: one transaction per app."""
        user_id = self._user_id(user_id)
        with self._uow() as uow:
            app_ids = sorted({app_id for app_id, _, _, _ in uow.licenses.holdings_of(user_id)})
        removal = UserRemoval(user_id)
        for app_id in app_ids:
            with self._uow(write=True) as uow:
                row = uow.apps.lock(app_id)
                if not uow.licenses.sources_of(app_id, [user_id]):
                    continue  # removed meanwhile (a sync and an event at once): nothing to do or audit
                for assignment in uow.licenses.assignments(app_id):
                    if assignment.kind == "user" and assignment.subject_id == user_id:
                        uow.licenses.delete_assignment(assignment.id)
                    elif assignment.kind == "group":
                        uow.licenses.delete_grants(assignment.id, [user_id])
                freed = uow.licenses.release_orphan_seats(app_id)
                self._audit(uow, actor, "user.removed", row, [user_id], {"freed": sorted(freed)})
                filled = self._fill_waitlist(uow, actor, row)
                uow.commit()
            removal.apps.append(row.name)
            if freed:
                removal.freed.append(row.name)
            removal.filled.extend((row.name, u) for u in filled)
        return removal

    def licensed_user_ids(self) -> set[str]:
        """Everyone holding a seat of any app or waiting for one (a sync checks them against deleted users)."""
        with self._uow() as uow:
            users: set[str] = set()
            for row in uow.apps.all():
                users |= uow.licenses.seated_users(row.id)
                users.update(user for user, _ in uow.licenses.waiters(row.id))
            return users

    def assigned_group_ids(self) -> list[str]:
        with self._uow() as uow:
            return uow.licenses.assigned_group_ids()

    # ------------------------------------------------------------------ Slack events
    def first_delivery(self, event_id: str) -> bool:
        """Records a Slack event id; False when it was recorded before (Slack redelivers on timeouts)."""
        event_id = (event_id or "").strip()[:100]
        if not event_id:
            return True  # nothing to deduplicate on: every change it leads to is idempotent anyway
        with self._uow(write=True) as uow:
            try:
                uow.directory.mark_event(event_id, self.now())
            except IntegrityError:
                return False
            uow.commit()
        return True

    # ------------------------------------------------------------------ waitlist
    def _fill_waitlist(self, uow: UnitOfWork, actor: Actor, row: AppRow) -> list[str]:
        """Gives free seats to the oldest waiters. Runs inside the caller's locked unit of work."""
        uow.flush()
        free = row.total_seats - uow.licenses.seated_count(row.id)
        if free <= 0:
            return []
        filled = [user for user, _ in uow.licenses.waiters(row.id, limit=free)]
        if filled:
            uow.licenses.add_seats(row.id, filled, self.now())
            self._audit(uow, actor, "waitlist.fill", row, filled, {"filled": filled})
            app_name = row.name
            uow.after_commit(lambda: self._seats_filled(app_name, filled))
        return filled

    # ------------------------------------------------------------------ people
    def licenses_of(self, user_id: str) -> list[HeldLicense]:
        with self._uow() as uow:
            by_app: dict[int, HeldLicense] = {}
            for app_id, seated, kind, subject in uow.licenses.holdings_of(user_id):
                held = by_app.setdefault(app_id, HeldLicense(app=str(app_id), seated=seated, sources=[]))
                held.sources.append((kind, subject))
            names = {row.id: row.name for row in uow.apps.all()}
        return sorted(
            (HeldLicense(names[i], h.seated, h.sources) for i, h in by_app.items()), key=lambda h: h.app.casefold()
        )

    def holds(self, user_id: str, query: str) -> bool:
        with self._uow() as uow:
            row = self._resolve(uow, query)
            return uow.licenses.has_seat(row.id, user_id)

    # ------------------------------------------------------------------ audit
    def audit_entries(self, actor: Actor, query: str | None = None, limit: int = 20) -> list[AuditEntry]:
        with self._uow() as uow:
            self._require(uow, actor, ADMINS, "read the audit log")
            app_name = self._resolve(uow, query).name if query else None
            return [self._entry(r) for r in uow.audit.latest(app_name, max(1, min(limit, 200)))]

    def export_audit(self, actor: Actor) -> Iterable[AuditEntry]:
        with self._uow() as uow:
            self._require(uow, actor, ADMINS, "export the audit log")
            for row in uow.audit.stream():
                yield self._entry(row)

    @staticmethod
    def _entry(row: AuditRow) -> AuditEntry:
        return AuditEntry(
            row.at,
            row.actor,
            row.via,
            row.action,
            row.app,
            list(row.targets),
            dict(row.detail),
            row.seats_total,
            row.seats_assigned,
            row.seats_available,
        )

    def _audit(
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
    def _replay(uow: UnitOfWork, key: str | None) -> dict[str, Any] | None:
        """Checked after the app lock is held, so a concurrent twin sees the first one's key."""
        if not key:
            return None
        row = uow.idempotency.get(key[:200])
        return dict(row.result) if row is not None else None

    def _remember(self, uow: UnitOfWork, key: str | None, action: str, result: dict[str, Any]) -> None:
        if key:
            uow.idempotency.add(key[:200], action, result, self.now())

